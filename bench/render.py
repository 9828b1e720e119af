"""Benchmark: render N training views of one category and report throughput and overheads.

Runs the same code as ``madgen render`` in a fresh process and reports:

- images per minute (whole process, from start to last file written);
- overhead ratio: whole-process wall time / the sum of Blender's own render calls
  (RGB + mask passes). Goal <= 1.10: scene building and image writing must not dominate;
- the mask pass's cost as a fraction of the RGB render (goal <= 5%).

    python bench/render.py [--category Gorilla] [--views 12] [--profile standard]
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
from madgen.render_views import render_training_views
category, views, profile, out = sys.argv[1:5]
name = resolve_category(category)
report = render_training_views(load_assembly(load_scene(name).model), name, out, load_profile(profile), views=views)
print(json.dumps({"rgb": report.rgb_seconds, "mask": report.mask_seconds, "build": report.build_seconds,
                  "device": report.device, "denoised": report.denoised, "count": len(report.views)}))
"""


def main() -> None:
    """Run the benchmark and print a markdown table row."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--category", default="Gorilla")
    parser.add_argument("--views", type=int, default=12, help="number of views, spread over the rig")
    parser.add_argument("--profile", default="standard")
    args = parser.parse_args()
    step = max(1, 216 // args.views)
    selection = f"0:{step * args.views}:{step}"
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        output = subprocess.run([sys.executable, "-c", _CHILD, args.category, selection, args.profile, out],
                                check=True, capture_output=True, text=True, cwd=REPO).stdout
        wall = time.perf_counter() - started
    report = json.loads(output.strip().splitlines()[-1])
    blender = report["rgb"] + report["mask"]
    print("| category | profile | views | device | images/min | overhead ratio | mask pass / RGB | scene build (s) |")
    print("|---|---|---:|---|---:|---:|---:|---:|")
    print(f"| {args.category} | {args.profile}{' (denoised)' if report['denoised'] else ''} | {report['count']} | "
          f"{report['device']} | {60 * report['count'] / wall:.1f} | {wall / blender:.3f} | "
          f"{100 * report['mask'] / report['rgb']:.1f}% | {report['build']:.2f} |")


if __name__ == "__main__":
    main()
