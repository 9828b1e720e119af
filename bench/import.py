"""Benchmark: an LDraw file to a ready Blender scene, on generated models of ~300 and ~6,000 parts.

Each model is an MPD whose main model places copies of one 60-part submodel (bricks, plates,
slopes and tiles in several colours, some mirrored). Each size runs in a fresh process and
reports: the pure parse + flatten + mesh time (no Blender; goal for 6,000 parts: under 0.5 s),
the file -> ready Blender scene time (parse and mesh, then one mesh per (part, colour), objects
created and linked, materials; goal for 6,000 parts: under 3 s), objects, triangles, and peak
RSS above Blender's own baseline (goal: under 1 GB).

    python bench/import.py [--copies 5,100] [--ldraw-dir ../shared/ldraw]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The submodel's bricks: (part, colour) pairs, cycled; all are in the embedded library.
PARTS = ["3001.dat", "3003.dat", "3004.dat", "3010.dat", "3020.dat", "3022.dat", "3023.dat", "3039.dat",
         "3040.dat", "3068b.dat", "3069b.dat", "3024.dat"]
COLOURS = [4, 1, 14, 2, 15, 0, 71, 72, 25, 19]


def submodel_lines(count: int = 60) -> list[str]:
    """A 60-part submodel: a stack of parts on a grid, every seventh one mirrored."""
    lines = ["0 FILE sub.ldr", "0 Sixty-part submodel", "0 Name: sub.ldr", "0 BFC CERTIFY CCW"]
    for number in range(count):
        x, z, y = (number % 5) * 40, (number // 5 % 4) * 40, -(number // 20) * 24
        part, colour = PARTS[number % len(PARTS)], COLOURS[number % len(COLOURS)]
        sign = -1 if number % 7 == 3 else 1
        lines.append(f"1 {colour} {x} {y} {z} {sign} 0 0 0 1 0 0 0 1 {part}")
    return lines


def write_model(folder: Path, copies: int) -> Path:
    """An MPD with ``copies`` placements of the submodel on a square grid."""
    side = max(1, int(round(copies ** 0.5)))
    lines = ["0 FILE main.ldr", f"0 {copies} copies of a 60-part submodel", "0 Name: main.ldr"]
    for number in range(copies):
        x, z = (number % side) * 240, (number // side) * 200
        lines.append(f"1 16 {x} 0 {z} 1 0 0 0 1 0 0 0 1 sub.ldr")
    path = folder / f"model_{copies}.mpd"
    path.write_text("\n".join(lines + ["0 NOFILE"] + submodel_lines() + ["0 NOFILE", ""]), encoding="utf-8")
    return path


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure(model: Path, ldraw_dirs: list[str]) -> dict[str, float]:
    """Run in a fresh process: pure load, then load + Blender scene build."""
    from madgen.ldraw import Library, load_assembly

    started = time.perf_counter()
    assembly = load_assembly(model, library=Library(ldraw_dirs or None))
    pure = time.perf_counter() - started

    import bpy

    from madgen.render.scene import build_scene, model_points_m
    from madgen.rig import DEFAULT_CAMERA_ANGLE_X, Normalisation

    bpy.ops.wm.read_factory_settings(use_empty=True)
    baseline = _rss_mb()
    started = time.perf_counter()
    assembly = load_assembly(model, library=Library(ldraw_dirs or None))
    built = build_scene(assembly, Normalisation.fit(model_points_m(assembly)), 0.25, DEFAULT_CAMERA_ANGLE_X)
    bpy.context.view_layer.update()
    ready = time.perf_counter() - started
    triangles = sum(len(o.data.polygons) for o in built.instances)
    return {"parts": len(assembly.instances), "pure_s": pure, "blender_s": ready, "objects": len(built.instances),
            "meshes": len({o.data.name for o in built.instances}), "triangles": triangles,
            "peak_rss_above_baseline_mb": _rss_mb() - baseline, "baseline_mb": baseline}


def main() -> None:
    """Generate the models, measure each in a fresh process, print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", default="5,100")
    parser.add_argument("--ldraw-dir", action="append", default=[])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(Path(args.worker), args.ldraw_dir)))
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="madgen-bench-import-") as folder:
        for copies in (int(c) for c in args.copies.split(",")):
            model = write_model(Path(folder), copies)
            command = [sys.executable, __file__, "--worker", str(model)]
            for root in args.ldraw_dir:
                command += ["--ldraw-dir", root]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "worker failed")
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    library = ", ".join(args.ldraw_dir) or "embedded ldraw_parts/"
    print(f"library: {library}")
    print("| parts | parse + mesh, no Blender (s) | file -> ready Blender scene (s) | objects | meshes | triangles "
          "| peak RSS above baseline (MB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['parts']:,} | {row['pure_s']:.2f} | {row['blender_s']:.2f} | {row['objects']:,} | "
              f"{row['meshes']} | {row['triangles']:,} | {row['peak_rss_above_baseline_mb']:.0f} |")


if __name__ == "__main__":
    main()
