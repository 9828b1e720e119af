"""Where madgen's embedded data lives: the parts library, the scenes and the defect templates.

The folders sit at the repository root (``ldraw_parts/``, ``scenes/``, ``defect_templates/``).
An editable install finds them next to the package; a wheel install ships them under
``<prefix>/share/madgen``. ``MADGEN_DATA_DIR`` overrides both.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

_DATA_FOLDERS = ("ldraw_parts", "scenes", "defect_templates")


@lru_cache(maxsize=None)
def data_root() -> Path:
    """Return the folder that holds ``ldraw_parts/``, ``scenes/`` and ``defect_templates/``."""
    candidates = []
    override = os.environ.get("MADGEN_DATA_DIR")
    if override:
        candidates.append(Path(override))
    candidates.append(Path(__file__).resolve().parent.parent)
    candidates.append(Path(sys.prefix) / "share" / "madgen")
    for candidate in candidates:
        if (candidate / "ldraw_parts").is_dir():
            return candidate
    return candidates[0]


def embedded_ldraw_dir() -> Path:
    """The project's own LDraw parts library (``ldraw_parts/``)."""
    return data_root() / "ldraw_parts"


def scenes_dir() -> Path:
    """The folder of the 20 MAD category models (``scenes/``)."""
    return data_root() / "scenes"


def defect_templates_dir() -> Path:
    """The folder of the built-in defect templates (``defect_templates/``)."""
    return data_root() / "defect_templates"
