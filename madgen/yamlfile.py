"""Reading YAML configuration files with one-line errors that name the file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import MadgenError


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Parse a YAML file whose top level is a mapping (an empty file gives ``{}``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MadgenError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise MadgenError(f"{where}: invalid YAML ({problem})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MadgenError(f"{path}: expected a mapping of keys at the top level")
    return data
