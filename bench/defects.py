"""Benchmark: mask fidelity of each defect type.

For N seeded test poses of a category, renders the defect-free view and the defective view with
the same seed, takes the changed pixels (largest channel difference above ``--threshold``, out
of 255; with ``--despeckle``, the default for profiles that do not denoise, changed specks under
3 px are render noise) and reports, per type, the mean and lowest IoU between the mask and the changed pixels,
the mask areas' 10th, 50th and 90th percentile (share of the image), the mean number of draws, and
the seconds per defective image. Goal: mean IoU at least 0.8 per type, no image below 0.5.

    python bench/defects.py [--category Bird] [--views 6] [--profile standard] [--threshold 12]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from madgen.categories import load_scene
from madgen.dataset.images import composite_on_white
from madgen.usecases.defect_views import render_defect
from madgen.defects import BUILTIN_TYPES, load_registry
from madgen.defects.fidelity import mask_iou
from madgen.errors import MadgenError
from madgen.ldraw import load_assembly
from madgen.profiles import load_profile
from madgen.render import RenderSession
from madgen.rig import RigConfig, sample_test_poses


def main() -> None:
    """Run the benchmark and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--category", default="Bird")
    parser.add_argument("--views", type=int, default=6)
    parser.add_argument("--profile", default="standard")
    parser.add_argument("--threshold", type=int, default=12)
    parser.add_argument("--types", default=",".join(BUILTIN_TYPES))
    parser.add_argument("--despeckle", action=argparse.BooleanOptionalAction, default=None,
                        help="ignore changed specks under 3 px, render noise (default: when not denoised)")
    args = parser.parse_args()
    scene = load_scene(args.category)
    assembly = load_assembly(scene.model)
    profile = load_profile(args.profile)
    if args.despeckle is None:
        args.despeckle = not profile.denoise
    registry = load_registry()
    poses = sample_test_poses(args.views, seed=2024, config=RigConfig())
    print(f"{scene.category}, {args.profile} profile, {args.views} test poses, change threshold {args.threshold}/255")
    print("| type | mean IoU | lowest IoU | mask p10 / p50 / p90 (% of image) | mean draws | s / image | failed views |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    with RenderSession(assembly, profile, RigConfig()) as session:
        goods = [session.render(pose, seed=number) for number, pose in enumerate(poses)]
        for name in args.types.split(","):
            entry = registry.get(name)
            ious, sizes, draws, seconds, failed = [], [], [], [], 0
            for number, (pose, good) in enumerate(zip(poses, goods)):
                started = time.perf_counter()
                try:
                    result = render_defect(session, entry, pose, number, scene, good.id_layers)
                except MadgenError:
                    failed += 1
                    continue
                seconds.append(time.perf_counter() - started)
                ious.append(mask_iou(composite_on_white(good.rgba), composite_on_white(result.rgba), result.mask,
                                     args.threshold, args.despeckle))
                sizes.append(float(result.mask.mean()))
                draws.append(result.attempts)
            p10, p50, p90 = 100 * np.percentile(sizes, [10, 50, 90])
            print(f"| {entry.name} | {np.mean(ious):.3f} | {np.min(ious):.3f} | {p10:.2f} / {p50:.2f} / {p90:.2f} | "
                  f"{np.mean(draws):.1f} | {np.mean(seconds):.1f} | {failed} |")

if __name__ == "__main__":
    main()
