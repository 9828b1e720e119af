"""Where a dataset came from: madgen's version and git commit, and the LDraw library roots."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from .. import __version__
from ..ldraw import Library

_SOURCE = Path(__file__).resolve().parents[2]


def git_commit(folder: Path = _SOURCE) -> str | None:
    """The commit of madgen's source checkout, or ``None`` outside a git checkout."""
    if not (folder / ".git").exists():
        return None
    try:
        done = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None


def library_version(root: Path) -> str | None:
    """The ``!LDRAW_ORG`` update line of a library root's ``LDConfig.ldr``, when it has one."""
    for name in ("LDConfig.ldr", "ldconfig.ldr"):
        path = root / name
        if path.is_file():
            with path.open(encoding="utf-8", errors="replace") as stream:
                for _, line in zip(range(20), stream):
                    words = line.split()
                    if len(words) >= 3 and words[0] == "0" and words[1] == "!LDRAW_ORG":
                        return " ".join(words[2:])
            return None
    return None


def madgen_provenance(library: Library) -> dict[str, Any]:
    """madgen's version and commit and every LDraw root (path, origin, version)."""
    return {
        "madgen_version": __version__,
        "git_commit": git_commit(),
        "ldraw_roots": [{"path": str(root.path), "origin": root.origin, "version": library_version(root.path)}
                        for root in library.roots],
    }
