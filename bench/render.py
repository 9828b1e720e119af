"""Benchmark: render N training views of one category and report throughput and overheads.

Runs the same code as ``madgen render`` in a fresh process and reports:

- images per minute (whole process, from start to last file written);
- overhead ratio: whole-process wall time / the sum of Blender's own render calls
  (RGB + mask passes). Goal <= 1.10: scene building and image writing must not dominate;
- the mask pass's cost as a fraction of the RGB render (goal <= 5%);
- with several profiles (``--profile standard,mad-real``), each one's seconds per image and its
  ratio to the first profile's, measured in the same run on the same views (issue #16's goal: a
  ``mad-real`` image costs at most 2x a ``standard`` one). The profiles run one after the other,
  then again in reverse order, and each profile's two runs are summed, so a change in the
  machine's load during the run weighs on both alike.

    python bench/render.py [--category Gorilla] [--views 12] [--profile standard[,mad-real]]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_CHILD = r"""
import json, sys
from madgen.categories import load_scene, resolve_category
from madgen.ldraw import load_assembly
from madgen.profiles import load_profile
from madgen.usecases.render_views import render_training_views
category, views, profile, out = sys.argv[1:5]
name = resolve_category(category)
report = render_training_views(load_assembly(load_scene(name).model), name, out, load_profile(profile), views=views)
print(json.dumps({"rgb": report.rgb_seconds, "mask": report.mask_seconds, "build": report.build_seconds,
                  "device": report.device, "denoised": report.denoised, "count": len(report.views)}))
"""


def _run(category: str, selection: str, profile: str) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        output = subprocess.run([sys.executable, "-c", _CHILD, category, selection, profile, out],
                                check=True, capture_output=True, text=True, cwd=REPO).stdout
        wall = time.perf_counter() - started
    return wall, json.loads(output.strip().splitlines()[-1])


def main() -> None:
    """Run the benchmark and print a markdown table row per profile (and their cost ratios)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--category", default="Gorilla")
    parser.add_argument("--views", type=int, default=12, help="number of views, spread over the rig")
    parser.add_argument("--profile", default="standard", help="a profile, or a comma list to compare")
    args = parser.parse_args()
    step = max(1, 216 // args.views)
    selection = f"0:{step * args.views}:{step}"
    profiles = [p.strip() for p in args.profile.split(",") if p.strip()]
    runs: dict[str, list[tuple[float, dict]]] = {p: [] for p in profiles}
    order = profiles + (profiles[::-1] if len(profiles) > 1 else [])
    for profile in order:
        runs[profile].append(_run(args.category, selection, profile))
    print("| category | profile | views | device | images/min | overhead ratio | mask pass / RGB | scene build (s) "
          "| s / image (wall) | RGB s / image | RGB cost vs first | RGB + mask cost vs first |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    first = None
    for profile in profiles:
        wall = sum(w for w, _ in runs[profile])
        count = sum(r["count"] for _, r in runs[profile])
        rgb = sum(r["rgb"] for _, r in runs[profile])
        mask = sum(r["mask"] for _, r in runs[profile])
        build = sum(r["build"] for _, r in runs[profile]) / len(runs[profile])
        report = runs[profile][0][1]
        first = (rgb / count, (rgb + mask) / count) if first is None else first
        print(f"| {args.category} | {profile}{' (denoised)' if report['denoised'] else ''} | {report['count']} | "
              f"{report['device']} | {60 * count / wall:.1f} | {wall / (rgb + mask):.3f} | "
              f"{100 * mask / rgb:.1f}% | {build:.2f} | {wall / count:.2f} | {rgb / count:.2f} | "
              f"{rgb / count / first[0]:.2f}x | {(rgb + mask) / count / first[1]:.2f}x |")


if __name__ == "__main__":
    main()
