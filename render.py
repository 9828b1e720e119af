"""Headless entry point for a Blender binary: ``blender -b -P render.py -- <madgen render options>``.

Runs exactly the code of ``madgen render`` inside Blender's own Python. Blender's Python must
find madgen's dependencies (numpy, pillow, pyyaml, click): this script adds the repository and,
when present, the project's virtual environment (``make setup``) to ``sys.path``, provided its
Python version matches Blender's. Exit status and messages are those of ``madgen render``.
"""

from __future__ import annotations

import glob
import os
import sys

REPO = os.path.dirname(os.path.abspath(__file__))


def _add_paths() -> None:
    sys.path.insert(0, REPO)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for site in sorted(glob.glob(os.path.join(REPO, ".venv", "lib", "python3*", "site-packages"))):
        if os.path.basename(os.path.dirname(site)) == version:
            sys.path.append(site)


def _arguments() -> list[str]:
    return sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []


def run() -> int:
    """Run ``madgen render`` with the arguments after ``--``; return its exit status."""
    _add_paths()
    try:
        from madgen.cli import main
    except ImportError as exc:
        print(f"madgen: error: Blender's Python {sys.version.split()[0]} cannot import madgen's dependencies "
              f"({exc}); run 'make setup' with the same Python version, or install numpy, pillow, pyyaml and "
              "click for Blender's Python", file=sys.stderr)
        return 2
    return main(["render", *_arguments()])


if __name__ == "__main__":
    code = run()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
