"""Benchmark: parse + flatten + mesh of all 20 MAD scenes.

Cold: a fresh Python process with a new :class:`~madgen.ldraw.Library` loads all 20 scenes
(imports excluded, file reads included), without the on-disk mesh cache and with it (a
temporary cache written by one run beforehand). Warm: the same library loads them again
(in-memory caches hot). Each figure is the median of several runs; the libraries are the
official subset (``../shared/ldraw``, or ``--ldraw-dir``) and madgen's embedded ``ldraw_parts/``.

    python bench/ldraw_load.py [--ldraw-dir DIR] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OFFICIAL = REPO.parent / "shared" / "ldraw"

_CHILD = r"""
import json, sys, time
from madgen.categories import CATEGORIES, load_scene
from madgen.ldraw import Library, load_assembly
roots = json.loads(sys.argv[1])
models = [load_scene(c).model for c in CATEGORIES]
start = time.perf_counter()
library = Library(roots, use_env=False, use_embedded=not roots)
assemblies = [load_assembly(m, library=library) for m in models]
cold = time.perf_counter() - start
warm = []
for _ in range(5):
    start = time.perf_counter()
    for m in models:
        load_assembly(m, library=library)
    warm.append(time.perf_counter() - start)
print(json.dumps({"cold": cold, "warm": min(warm),
                  "parts": sum(len(a.instances) for a in assemblies),
                  "triangles": sum(a.triangle_count for a in assemblies)}))
"""


def run_once(roots: list[str], cache: str | None) -> dict[str, float]:
    """One fresh process: cold and warm seconds for all 20 scenes (``cache``: the cache folder, or off)."""
    environment = {key: value for key, value in os.environ.items() if key not in ("LDRAWDIR", "MADGEN_CACHE")}
    if cache is None:
        environment["MADGEN_CACHE"] = "0"
    else:
        environment["MADGEN_CACHE_DIR"] = cache
    output = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(roots)], check=True,
                            capture_output=True, text=True, cwd=REPO, env=environment).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    """Run the benchmark and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ldraw-dir", type=Path, default=DEFAULT_OFFICIAL)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    libraries = [("embedded ldraw_parts/", [])]
    if (args.ldraw_dir / "parts").is_dir():
        libraries.insert(0, (f"official ({args.ldraw_dir})", [str(args.ldraw_dir)]))
    else:
        print(f"note: no official library at {args.ldraw_dir}; timing the embedded one only")
    print("| library | parts | triangles | cold, no cache (s) | cold, mesh cache (s) | warm, all 20 (ms) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, roots in libraries:
        with tempfile.TemporaryDirectory(prefix="madgen-bench-cache-") as cache:
            run_once(roots, cache)  # writes the cache
            plain = [run_once(roots, None) for _ in range(args.repeat)]
            cached = [run_once(roots, cache) for _ in range(args.repeat)]
        cold = statistics.median(r["cold"] for r in plain)
        cold_cached = statistics.median(r["cold"] for r in cached)
        warm = statistics.median(r["warm"] for r in plain + cached)
        print(f"| {label} | {int(plain[0]['parts']):,} | {int(plain[0]['triangles']):,} | {cold:.2f} | "
              f"{cold_cached:.2f} | {warm * 1000:.1f} |")


if __name__ == "__main__":
    main()
