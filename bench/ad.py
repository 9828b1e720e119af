"""Benchmark: OmniposeAD on MAD-Sim categories: training time, scoring time per image, metrics.

For each category: ``madgen ad train``, ``score`` and ``eval`` into ``RUNS/<category>`` (resumed
when already there), then one markdown row per category and method with image AUROC, pixel
AUROC, segmentation pixel AUROC, AUPRO, the training seconds, the scoring seconds per test image
and the median pose error. Targets: training at most 15 min per category and scoring at most
10 s per image on 2 CPU cores; OmniposeAD mean image AUROC >= 0.90 and pixel AUROC >= 0.97
on standard-profile builds, above the pose-unaware baseline.

    python bench/ad.py --data MAD-Sim --categories Gorilla,Bird,Owl [--runs runs] [--backbone lite0] [--device auto]
                       [--settings tuned.yaml] [--test-data MAD-Real]

``--settings`` is a settings file as for ``madgen ad train`` (e.g. written by ``madgen ad tune`` on
validation builds of other categories); ``--test-data`` scores another dataset's test images of
the same categories (train on standard renders, test on mad-real photographs).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from madgen.ad.config import config_from_settings, read_settings
from madgen.ad.run import category_folder, check_test_data, evaluate, score, train
from madgen.runner import cpu_count


def main() -> None:
    """Run every category and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("MAD-Sim"))
    parser.add_argument("--categories", default="Gorilla")
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--backbone", help="lite0 (default), b4 or none; wins over --settings")
    parser.add_argument("--device", default="auto", help="auto (a CUDA GPU when there is one), cpu, cuda, cuda:N")
    parser.add_argument("--settings", type=Path, help="a settings file (madgen ad train --settings)")
    parser.add_argument("--test-data", type=Path, help="score this dataset's test images of the same categories")
    args = parser.parse_args()
    settings = read_settings(args.settings) if args.settings else {}
    if args.backbone:
        settings["backbone"] = args.backbone
    torch.set_num_threads(cpu_count())
    rows, means, devices, phases = [], {}, set(), []
    for category in args.categories.split(","):
        root, name = category_folder(args.data, category)
        run = args.runs / name
        test_root = str(check_test_data(root / name, args.test_data, name)) if args.test_data else None
        stats = train(run, config_from_settings(str(root), name, settings, test_root), device=args.device)
        score(run, device=args.device)
        document = evaluate(run)
        pose = document["pose_error"] or {}
        if document.get("score_seconds_by_phase"):
            phases.append(f"{name}: " + ", ".join(f"{phase} {seconds:.2f}" for phase, seconds
                                                  in document["score_seconds_by_phase"].items()))
        devices.add(f"train {document['train_device'] or 'unrecorded'}, score {', '.join(document['score_devices'])}")
        for method, values in document["methods"].items():
            rows.append((name, method, values, stats["seconds"], document["score_seconds_per_image"],
                         pose.get("median_rotation_deg")))
            means.setdefault(method, []).append(values)
    print("| category | method | image AUROC | pixel AUROC | seg. pixel AUROC | AUPRO | train (s) | score (s/img) "
          "| median pose error (deg) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, method, values, train_s, score_s, pose in rows:
        print(f"| {name} | {method} | {values['image_auroc']:.3f} | {values['pixel_auroc']:.3f} | "
              f"{values['segmentation_pixel_auroc']:.3f} | {values['aupro']:.3f} | {train_s:.0f} | "
              f"{score_s or 0:.1f} | {pose if pose is None else f'{pose:.1f}'} |")
    for method, values in means.items():
        mean = {k: sum(v[k] for v in values) / len(values) for k in values[0]}
        print(f"| mean ({len(values)}) | {method} | {mean['image_auroc']:.3f} | {mean['pixel_auroc']:.3f} | "
              f"{mean['segmentation_pixel_auroc']:.3f} | {mean['aupro']:.3f} | | | |")
    print(f"\ndevices: {'; '.join(sorted(devices))}")
    if phases:
        print("scoring seconds per image by phase: " + "; ".join(phases))


if __name__ == "__main__":
    main()
