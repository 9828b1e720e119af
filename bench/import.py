"""Benchmark: an LDraw file to a ready Blender scene, and the pure reader, cold and warm, with and
without the on-disk mesh cache, on models written from official part numbers.

The models (``bench/import_models.py``) stand in for those of issue #15, which compared madgen
with ImportLDraw 1.2.2 (linked parts, no bevel, no logos) on the LDraw library's car.ldr, the
7140 X-wing and 100 copies of car.ldr:

- ``small``: a 60-part LDR (car.ldr: 60 parts, 25,573 triangles; ImportLDraw 0.41-0.52 s);
- ``wing``: a 340-part MPD with nested and mirrored submodels and a decal submodel of plain
  triangles (X-wing: 340 parts, 268,396 triangles; ImportLDraw 3.1-4.2 s);
- ``grid``: 100 copies of the small model (6,000 parts; ImportLDraw 8.3-9.2 s).

ImportLDraw cannot be installed here, so the goals are a third of its lower time for the file to
ready scene path, and a tenth for the pure parse + flatten + mesh (issue #15).

Every figure is one fresh process (cold: a new interpreter and a new ``Library``; the cache
column reads a cache written beforehand), repeated ``--repeat`` times: the table gives the median
and the range. "Warm" is a second model (a copy of the file under another name) loaded by the
same library in the same process. "Ready" is parsed, meshed, framed (scaled to its MAD-Sim extent),
one Blender mesh per (part, colour), every object created, parented, placed and linked,
materials made and the view layer updated, after Blender's own start (not timed).

    python bench/import.py [--ldraw-dir ../shared/ldraw] [--repeat 5] [--models small,wing,grid]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import import_models  # noqa: E402

DEFAULT_OFFICIAL = REPO.parent / "shared" / "ldraw"
#: ImportLDraw 1.2.2 on the models of issue #15 (seconds, the lower figure), file to ready scene.
IMPORTLDRAW_S = {"small": 0.41, "wing": 3.1, "grid": 8.3}
#: The issue's goals: a third of ImportLDraw for the scene, a tenth for the pure reader.
SCENE_GOAL_S = {"small": 0.15, "wing": 1.0, "grid": 2.8}
PURE_GOAL_S = {name: round(seconds / 10, 2) for name, seconds in IMPORTLDRAW_S.items()}
PURE_GOAL_S["wing"] = 0.3


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure_pure(model: Path, roots: list[str]) -> dict[str, float]:
    """A fresh process: the model cold, then a copy of it (a second model) warm."""
    from madgen.ldraw import Library, load_assembly

    started = time.perf_counter()
    library = Library(roots, use_env=False, use_embedded=not roots)
    assembly = load_assembly(model, library=library)
    cold = time.perf_counter() - started
    second = model.with_name("second_" + model.name)
    started = time.perf_counter()
    load_assembly(second, library=library)
    warm = time.perf_counter() - started
    cache = library.mesh_cache
    return {"cold_s": cold, "warm_s": warm, "parts": len(assembly.instances), "meshes": len(assembly.meshes),
            "triangles": assembly.triangle_count, "cache_hits": cache.hits if cache else 0}


def measure_scene(model: Path, roots: list[str]) -> dict[str, float]:
    """A fresh process: Blender started and reset (not timed), then file -> ready scene."""
    import bpy

    from madgen.ldraw import Library, load_assembly
    from madgen.ldraw.frames import model_support_points_m
    from madgen.render.scene import build_scene
    from madgen.rig import DEFAULT_CAMERA_ANGLE_X, frame_model

    bpy.ops.wm.read_factory_settings(use_empty=True)
    baseline = _rss_mb()
    started = time.perf_counter()
    assembly = load_assembly(model, library=Library(roots, use_env=False, use_embedded=not roots))
    built = build_scene(assembly, frame_model(model_support_points_m(assembly)), 0.25, DEFAULT_CAMERA_ANGLE_X)
    bpy.context.view_layer.update()
    ready = time.perf_counter() - started
    return {"ready_s": ready, "objects": len(built.instances), "blender_meshes": len({o.data.name for o in built.instances}),
            "blender_triangles": sum(len(o.data.polygons) for o in built.instances),
            "rss_mb": _rss_mb() - baseline}


def _worker(kind: str, model: Path, roots: list[str], cache: str | None) -> dict[str, float]:
    environment = dict(os.environ)
    environment.pop("LDRAWDIR", None)
    if cache is None:
        environment["MADGEN_CACHE"] = "0"
    else:
        environment.pop("MADGEN_CACHE", None)
        environment["MADGEN_CACHE_DIR"] = cache
    command = [sys.executable, __file__, "--worker", kind, str(model)]
    for root in roots:
        command += ["--ldraw-dir", root]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO, env=environment)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise SystemExit(f"{kind} worker failed on {model.name}: {lines[-1] if lines else done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _span(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    values = [v * scale for v in values]
    median = statistics.median(values)
    return f"{median:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main() -> None:
    """Write the models, run the workers, print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ldraw-dir", action="append", default=[])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--models", default="small,wing,grid")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    roots = args.ldraw_dir or ([str(DEFAULT_OFFICIAL)] if (DEFAULT_OFFICIAL / "parts").is_dir() else [])
    if args.worker:
        kind, model = args.worker
        measure = measure_pure if kind == "pure" else measure_scene
        print(json.dumps(measure(Path(model), roots)))
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="madgen-bench-import-") as folder:
        cache = str(Path(folder) / "cache")
        for name in args.models.split(","):
            model = import_models.MODELS[name](Path(folder))
            shutil.copyfile(model, model.with_name("second_" + model.name))
            _worker("pure", model, roots, cache)  # writes the cache used by the "cache" columns
            runs: dict[str, list[dict[str, float]]] = {key: [] for key in ("pure", "pure_cache", "scene",
                                                                          "scene_cache")}
            for _ in range(args.repeat):  # interleaved, so that a busy moment hits every column alike
                runs["pure"].append(_worker("pure", model, roots, None))
                runs["pure_cache"].append(_worker("pure", model, roots, cache))
                runs["scene"].append(_worker("scene", model, roots, None))
                runs["scene_cache"].append(_worker("scene", model, roots, cache))
            first = runs["pure_cache"][0]
            assert first["cache_hits"] > 0, "the cache columns did not read the cache"
            scene = runs["scene_cache"][0]
            assert scene["blender_triangles"] == first["triangles"], "Blender's triangles differ from the reader's"
            rows.append((name, first, scene, runs))
    print(f"library: {', '.join(roots) or 'embedded ldraw_parts/'}; {args.repeat} fresh processes per cell, "
          "median (range)")
    print()
    print("| model | parts | triangles | meshes | reader cold, no cache (s) | reader cold, cache (s) | "
          "reader warm (ms) | reader goal (s) | ready scene, no cache (s) | ready scene, cache (s) | "
          "scene goal (s) | ImportLDraw (s) | RSS above Blender (MB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, first, scene, runs in rows:
        warm = [r["warm_s"] for r in runs["pure"] + runs["pure_cache"]]
        print(f"| {name} | {first['parts']:,} | {first['triangles']:,} | {first['meshes']} | "
              f"{_span([r['cold_s'] for r in runs['pure']])} | {_span([r['cold_s'] for r in runs['pure_cache']])} | "
              f"{_span(warm, 1000, 1)} | {PURE_GOAL_S[name]} | "
              f"{_span([r['ready_s'] for r in runs['scene']])} | {_span([r['ready_s'] for r in runs['scene_cache']])} | "
              f"{SCENE_GOAL_S[name]} | {IMPORTLDRAW_S[name]} | {statistics.median(r['rss_mb'] for r in runs['scene']):.0f} |")


if __name__ == "__main__":
    main()
