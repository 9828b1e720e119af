"""Atomic writes: write to a temporary file beside the target, then rename over it.

A reader (or a killed and restarted build) never sees a half-written file: the target either
keeps its old content or has the complete new content.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (parent folders are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def json_bytes(data: Any) -> bytes:
    """Canonical JSON: indented, keys in insertion order, newline-terminated, UTF-8."""
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as canonical JSON, atomically."""
    write_bytes_atomic(path, json_bytes(data))
