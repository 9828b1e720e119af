"""The 20 MAD categories: exact folder names, name matching, and each scene's model and settings.

A category is named like its MAD-Sim folder (``01Gorilla``); users may also write ``Gorilla``,
``gorilla`` or ``1``. Each category has ``scenes/<NNName>.ldr`` (the LDraw model) and
``scenes/<NNName>.yaml`` (its description and the settings later stages read, such as which
parts are eligible for "Missing").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import MadgenError
from .ldraw import Assembly, Library, load_assembly
from .resources import scenes_dir
from .yamlfile import read_yaml_mapping

#: The MAD categories, exactly as the dataset spells its folders (including "Pheonix").
CATEGORIES: tuple[str, ...] = (
    "01Gorilla", "02Unicorn", "03Mallard", "04Turtle", "05Whale", "06Bird", "07Owl", "08Sabertooth",
    "09Swan", "10Sheep", "11Pig", "12Zalika", "13Pheonix", "14Elephant", "15Parrot", "16Cat",
    "17Scorpion", "18Obesobeso", "19Bear", "20Puppy",
)

_SCENE_KEYS = {"category", "name", "model", "description", "missing"}
_MISSING_KEYS = {"eligible", "prefer_groups"}


def category_name(category: str) -> str:
    """The name part of a category folder (``01Gorilla`` -> ``Gorilla``)."""
    return category.lstrip("0123456789")


def resolve_category(text: str) -> str:
    """Map ``01Gorilla``, ``Gorilla``, ``gorilla`` or ``1`` to the exact folder name ``01Gorilla``."""
    wanted = text.strip().lower()
    for category in CATEGORIES:
        number = category[:2]
        if wanted in (category.lower(), category_name(category).lower(), number, number.lstrip("0")):
            return category
    raise MadgenError(f"unknown category {text!r}; choose one of: {', '.join(CATEGORIES)}")


@dataclass(frozen=True)
class MissingSettings:
    """Which parts a "Missing" defect may remove: ``auto`` or a list of group names."""

    eligible: str | list[str] = "auto"
    prefer_groups: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Scene:
    """A category's model file and settings, as read from ``scenes/<NNName>.yaml``."""

    category: str
    name: str
    model: Path
    description: str = ""
    missing: MissingSettings = field(default_factory=MissingSettings)


def _require(condition: bool, path: Path, key: str, message: str) -> None:
    if not condition:
        raise MadgenError(f"{path}: key '{key}': {message}")


def load_scene(category: str, folder: Path | None = None) -> Scene:
    """Read and validate the scene of a category (any accepted spelling)."""
    category = resolve_category(category)
    folder = folder or scenes_dir()
    path = folder / f"{category}.yaml"
    if not path.is_file():
        raise MadgenError(f"scene description not found: {path}")
    return _read_scene(path, category, folder / f"{category}.ldr")


def load_model_scene(model: Path, name: str) -> Scene:
    """The scene of a user's model: its ``<model>.yaml`` beside it when present (same keys as
    ``scenes/*.yaml``, ``missing`` to override which parts may go missing), else the defaults
    (``eligible: auto``: any part the view shows)."""
    model = Path(model)
    path = model.with_suffix(".yaml")
    if not path.is_file():
        return Scene(category=name, name=name, model=model)
    return _read_scene(path, name, model)


def _read_scene(path: Path, category: str, default_model: Path) -> Scene:
    data = read_yaml_mapping(path)
    for key in data:
        _require(key in _SCENE_KEYS, path, str(key), f"unknown key (known: {', '.join(sorted(_SCENE_KEYS))})")
    _require(data.get("category", category) == category, path, "category", f"must be {category}")
    model_name = data.get("model", default_model.name)
    _require(isinstance(model_name, str), path, "model", "expected a file name")
    model = path.parent / model_name
    _require(model.is_file(), path, "model", f"file not found: {model}")
    missing_data = data.get("missing") or {}
    _require(isinstance(missing_data, dict), path, "missing", "expected a mapping")
    for key in missing_data:
        _require(key in _MISSING_KEYS, path, f"missing.{key}",
                 f"unknown key (known: {', '.join(sorted(_MISSING_KEYS))})")
    eligible = missing_data.get("eligible", "auto")
    _require(eligible == "auto" or (isinstance(eligible, list) and all(isinstance(g, str) for g in eligible)),
             path, "missing.eligible", "expected 'auto' or a list of group names")
    prefer = missing_data.get("prefer_groups", []) or []
    _require(isinstance(prefer, list) and all(isinstance(g, str) for g in prefer), path,
             "missing.prefer_groups", "expected a list of group names")
    return Scene(
        category=category,
        name=str(data.get("name", category_name(category))),
        model=model,
        description=str(data.get("description", "")),
        missing=MissingSettings(eligible, list(prefer)),
    )


def load_category_assembly(category: str, library: Library | None = None) -> tuple[Scene, Assembly]:
    """Read a category's scene and flatten its model (with ``library``, or the default roots)."""
    scene = load_scene(category)
    return scene, load_assembly(scene.model, library=library)
