"""Profile: where ``madgen ad score`` spends its time per test image (cProfile, no optimisation).

Copies a trained run's ``config.json`` and ``field.pt`` into a fresh folder (optionally with
other pose settings), scores its test images there under cProfile, and prints per image the
cumulative seconds of each phase: PNG decoding and resizing, thumbnail retrieval, iNeRF
refinement (and inside it the field's forward pass and the backward pass), the reference
render, the backbone passes of the anomaly map and of the PatchCore baseline, the map
arithmetic, writing the score file; then the one-off setup (reading the training views, the
field, the backbone, the PatchCore bank) and the heat maps, and the top functions by own time.

    python bench/ad_profile.py --run runs/bird [--images 6] [--top 20] [--out profile.txt]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import shutil
import tempfile
import time
from pathlib import Path

import torch

from madgen.ad.data import test_items
from madgen.ad.run import _read_config, score
from madgen.runner import cpu_count

#: (label, file name ending, function name, caller function name or None): cumulative seconds.
PER_IMAGE = [
    ("PNG decode + resize (test image, 64 and 224 px)", "ad/data.py", "load_rgb", "pose_and_references"),
    ("pose: retrieval (thumbnails)", "ad/pose.py", "retrieve", None),
    ("pose: iNeRF refinement, all candidates", "ad/pose.py", "refine", None),
    ("  field forward (render) in refinement", "ad/field.py", "render", "refine"),
    ("  backward passes", "torch/_tensor.py", "backward", "refine"),
    ("  Adam steps", "torch/optim/adam.py", "step", None),
    ("reference render at 224 px", "ad/run.py", "render_image", "pose_and_references"),
    ("anomaly map (all references)", "ad/anomaly.py", "anomaly_map", None),
    ("  backbone: test image", "ad/features.py", "__call__", "anomaly_map"),
    ("  backbone: references", "ad/features.py", "__call__", "feature_distance"),
    ("  aligned distances", "ad/features.py", "aligned_distance", None),
    ("  Gaussian blur", "ad/anomaly.py", "gaussian_smooth", "anomaly_map"),
    ("PatchCore baseline map", "ad/patchcore.py", "anomaly_map", None),
    ("score file (npz compress + write)", "ad/run.py", "_npz_bytes", None),
]
ONCE = [
    ("setup: training views read (64 px and 224 px)", "ad/data.py", "load_training", "score"),
    ("setup: field load", "ad/run.py", "load_field", None),
    ("setup: backbone", "ad/features.py", "__init__", "score"),
    ("setup: PatchCore bank", "ad/patchcore.py", "__init__", None),
    ("heat maps (whole test set)", "ad/run.py", "_write_heat_maps", None),
]


def _seconds(stats: pstats.Stats, ending: str, name: str, caller: str | None) -> float:
    total = 0.0
    for (file, _, function), (_, _, _, cumulative, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if function != name or not file.replace("\\", "/").endswith(ending):
            continue
        if caller is None:
            total += cumulative
        else:
            total += sum(values[3] for (_, _, by), values in callers.items() if by == caller)
    return total


def main() -> None:
    """Profile one scoring pass and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="A trained run (config.json, field.pt).")
    parser.add_argument("--images", type=int, default=0, help="Score only the first N test images (0: all).")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, help="Also write the report here.")
    args = parser.parse_args()
    torch.set_num_threads(max(1, cpu_count()))
    config = _read_config(args.run)
    with tempfile.TemporaryDirectory(prefix="ad-profile-") as temporary:
        run = Path(temporary) / "run"
        run.mkdir()
        shutil.copy(args.run / "field.pt", run / "field.pt")
        data = Path(config.data)
        if args.images:
            # a copy of the category with only the first N test images (scoring lists test/ itself)
            folder = Path(temporary) / "data" / config.category
            shutil.copytree(config.folder / "train", folder / "train")
            shutil.copy(config.folder / "transforms.json", folder / "transforms.json")
            for item in test_items(config.folder)[:args.images]:
                for path in (item.image, item.mask):
                    if path is not None:
                        target = folder / path.relative_to(config.folder)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy(path, target)
            data = folder.parent
        (run / "config.json").write_text(json.dumps(config.to_dict() | {"data": str(data)}))
        profiler = cProfile.Profile()
        began = time.perf_counter()
        profiler.enable()
        result = score(run, device=args.device)
        profiler.disable()
        wall = time.perf_counter() - began
    stats = pstats.Stats(profiler)
    images = result["scored"]
    lines = [f"run {args.run} ({config.category}), {images} images, {torch.get_num_threads()} torch threads, "
             f"device {args.device}; field {config.field.resolution}^3, pose {config.pose.candidates} candidates x "
             f"{config.pose.steps} steps x {config.pose.rays} rays at {config.pose.size} px, "
             f"{1 + config.map_views} references, backbone {config.backbone}, baseline {config.baseline}",
             f"wall {wall:.1f} s, score()'s own per-image figure {result['seconds_per_image']:.2f} s", "",
             "| phase | s per image | share of per-image |", "|---|---:|---:|"]
    per_image = result["seconds_per_image"] or 1.0
    for label, ending, name, caller in PER_IMAGE:
        seconds = _seconds(stats, ending, name, caller) / max(images, 1)
        lines.append(f"| {label} | {seconds:.3f} | {100 * seconds / per_image:.0f}% |")
    lines += ["", "| once per scoring run | s |", "|---|---:|"]
    for label, ending, name, caller in ONCE:
        lines.append(f"| {label} | {_seconds(stats, ending, name, caller):.2f} |")
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(args.top)
    lines += ["", "Top functions by own time:", buffer.getvalue().split("\n\n", 1)[-1].rstrip()]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
