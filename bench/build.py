"""Benchmark: ``madgen build`` wall time against Blender's own render time, and Ray against local.

Builds the same reduced category twice into fresh folders: with the local executor (one
process, every thread) and with Ray (``--ray-workers`` local workers, each with its share of
the threads). Reports, per executor, images, wall seconds, the sum of Blender render seconds
(colour and ID passes) over the images, the overhead ratio wall / Blender (goal: at most 1.15
for the local executor), and images per minute; then Ray's throughput relative to local.
Both builds must give byte-identical images (checked).

    python bench/build.py [--category Gorilla] [--profile standard] [--train 0:216:9] [--good 8] [--per-defect 4]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import tempfile
from pathlib import Path

from madgen.pipeline.config import resolve_config
from madgen.pipeline.run import build_dataset


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.png"))}


def main() -> None:
    """Run both builds and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--category", default="Gorilla")
    parser.add_argument("--profile", default="standard")
    parser.add_argument("--train", default="0:216:9")
    parser.add_argument("--good", type=int, default=8)
    parser.add_argument("--per-defect", type=int, default=4)
    parser.add_argument("--ray-workers", type=int, default=2)
    parser.add_argument("--skip-ray", action="store_true")
    args = parser.parse_args()
    options = {"categories": (args.category,), "profile": args.profile, "train_views": args.train,
               "test_good": args.good, "test_per_defect": args.per_defect}
    runs = [("local", {"executor": "local"})]
    if not args.skip_ray:
        runs.append((f"ray ({args.ray_workers} workers)",
                     {"executor": "ray", "address": "local", "workers": args.ray_workers}))
    root = Path(tempfile.mkdtemp(prefix="madgen-bench-build-"))
    rows, hashes = [], []
    try:
        for label, extra in runs:
            out = root / label.split()[0]
            report = build_dataset(resolve_config(options={**options, **extra, "out": str(out)}))
            if report.failures:
                raise SystemExit(f"{label}: {len(report.failures)} unit(s) failed: {report.failures[0].message}")
            blender = report.rgb_seconds + report.mask_seconds
            rows.append((label, report.rendered, report.wall_seconds, blender, report.wall_seconds / blender,
                         60 * report.rendered / report.wall_seconds))
            hashes.append(_hashes(out / report.categories[0]))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{options['categories'][0]}, {args.profile} profile, train {args.train}, {args.good} good, "
          f"{args.per_defect} per defect type")
    print("| executor | images | wall (s) | Blender render (s) | overhead ratio | img/min |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, images, wall, blender, ratio, rate in rows:
        print(f"| {label} | {images} | {wall:.1f} | {blender:.1f} | {ratio:.3f} | {rate:.1f} |")
    if len(rows) == 2:
        print(f"\nRay / local throughput: {rows[1][5] / rows[0][5]:.2f}; identical images: {hashes[0] == hashes[1]}")


if __name__ == "__main__":
    main()
