"""Defect templates: YAML files that name a defect type and bound every parameter it draws.

A template looks like::

    name: Stains            # the dataset folder name (test/Stains, ground_truth/Stains)
    kind: stains            # the injector: missing, burrs, stains, or a plugin's kind
    min_visible_px: 0.001   # below 1: a fraction of the image; from 1: pixels
    max_attempts: 25        # re-draws before giving up on a view
    params:
      radius_ldu: [3, 8]    # a range [low, high] to draw from, or one fixed value
      palette: {grease: "#2E2A26", residue: "#C9B458"}

A user template may instead say ``extends: Stains`` and override some keys; it becomes a new
defect type (a new folder name). Every key is checked against its kind's schema: an unknown
key, a wrong type or a value outside the allowed range is an error naming the file and key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..errors import MadgenError
from ..yamlfile import read_yaml_mapping
from .sizes import AreaSpec

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")


def subkey(where: str, name: str) -> str:
    """``where`` (``file: key 'params.x'``) narrowed to a sub-key (``file: key 'params.x.name'``)."""
    return f"{where[:-1]}.{name}'" if where.endswith("'") else f"{where}.{name}"


@dataclass(frozen=True)
class Number:
    """A numeric parameter: one value or a [low, high] range, within ``minimum..maximum``."""

    minimum: float
    maximum: float
    integer: bool = False
    description: str = ""

    def check(self, value: Any, where: str) -> tuple[float, float]:
        """Validate and return (low, high)."""
        kind = "an integer" if self.integer else "a number"
        allowed = f"{kind} or a [low, high] range within {self.minimum:g}..{self.maximum:g}"
        values = value if isinstance(value, list) else [value, value]
        if len(values) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise MadgenError(f"{where}: expected {allowed}, got {value!r}")
        low, high = float(values[0]), float(values[1])
        if self.integer and not (low.is_integer() and high.is_integer()):
            raise MadgenError(f"{where}: expected {allowed}, got {value!r}")
        if not self.minimum <= low <= high <= self.maximum:
            raise MadgenError(f"{where}: {value!r} is outside the allowed range; expected {allowed}")
        return low, high


#: The keys a palette entry may have when it is a mapping (a stain "look"), with their ranges.
LOOK_KEYS = {"colour": None, "opacity": (0.05, 1.0), "edge": (0.5, 20.0), "mottle": (0.0, 0.9)}


@dataclass(frozen=True)
class Palette:
    """A mapping of names to colours (at least one).

    An entry is ``#RRGGBB``, or a *look*: ``{colour: "#RRGGBB", opacity: [low, high], edge: 2,
    mottle: 0}``, where ``opacity`` overrides the template's, ``edge`` sharpens the outline (the
    opacity rises ``edge`` times faster from the rim inwards; 2 is soft, 8 nearly crisp) and
    ``mottle`` (0..0.9) breaks the inside up with noise, as dust or rust does.
    """

    description: str = ""

    def check(self, value: Any, where: str) -> dict[str, Any]:
        """Validate and return the palette (plain entries as ``#RRGGBB``, looks as mappings)."""
        if not isinstance(value, dict) or not value:
            raise MadgenError(f"{where}: expected a mapping of names to #RRGGBB colours, got {value!r}")
        result: dict[str, Any] = {}
        for name, entry in value.items():
            here = subkey(where, str(name))
            if isinstance(entry, dict):
                unknown = sorted(set(entry) - set(LOOK_KEYS))
                if unknown:
                    raise MadgenError(f"{here}: unknown key '{unknown[0]}' (known: {', '.join(LOOK_KEYS)})")
                colour = entry.get("colour")
                if not isinstance(colour, str) or not _HEX.match(colour):
                    raise MadgenError(f"{subkey(here, 'colour')}: expected a #RRGGBB colour, got {colour!r}")
                look: dict[str, Any] = {"colour": colour.upper()}
                for key in ("opacity", "edge", "mottle"):
                    if key in entry:
                        low, high = LOOK_KEYS[key]  # type: ignore[misc]
                        bounds = Number(low, high).check(entry[key], subkey(here, key))
                        look[key] = list(bounds) if key == "opacity" else bounds[0]
                result[str(name)] = look
            elif isinstance(entry, str) and _HEX.match(entry):
                result[str(name)] = entry.upper()
            else:
                raise MadgenError(f"{here}: expected a #RRGGBB colour or a look mapping, got {entry!r}")
        return result


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of words."""

    options: tuple[str, ...]
    description: str = ""

    def check(self, value: Any, where: str) -> str:
        """Validate and return the choice."""
        if value not in self.options:
            raise MadgenError(f"{where}: expected one of {', '.join(self.options)}, got {value!r}")
        return str(value)


ParamSpec = Number | Palette | Choice | AreaSpec

_COMMON_KEYS = {"name", "kind", "extends", "description", "min_visible_px", "max_attempts", "params"}


@dataclass(frozen=True)
class DefectTemplate:
    """A validated template: its type name, injector kind, visibility rule and parameter bounds."""

    name: str
    kind: str
    source: str
    description: str = ""
    min_visible_px: float = 0.001
    max_attempts: int = 25
    params: Mapping[str, Any] = field(default_factory=dict)

    def min_pixels(self, width: int, height: int) -> int:
        """The smallest acceptable mask, in pixels, for an image of this size."""
        if self.min_visible_px < 1:
            return max(1, int(round(self.min_visible_px * width * height)))
        return int(self.min_visible_px)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable record (ranges as [low, high])."""
        params = _raw_params(self)
        return {"name": self.name, "kind": self.kind, "source": self.source, "description": self.description,
                "min_visible_px": self.min_visible_px, "max_attempts": self.max_attempts, "params": params}


def validate_params(kind: str, schema: Mapping[str, ParamSpec], params: Any, where: str) -> dict[str, Any]:
    """Check a template's ``params`` against a kind's schema; every key must be given."""
    if not isinstance(params, dict):
        raise MadgenError(f"{where}: key 'params': expected a mapping")
    resolved: dict[str, Any] = {}
    for key, value in params.items():
        spec = schema.get(key)
        if spec is None:
            known = ", ".join(sorted(schema))
            raise MadgenError(f"{where}: key 'params.{key}': unknown parameter for kind '{kind}' (known: {known})")
        resolved[key] = spec.check(value, f"{where}: key 'params.{key}'")
    missing = sorted(set(schema) - set(resolved))
    if missing:
        needed = ", ".join(sorted(schema))
        raise MadgenError(f"{where}: key 'params.{missing[0]}': missing (kind '{kind}' needs {needed})")
    return resolved


def read_template(path: Path, schemas: Mapping[str, Mapping[str, ParamSpec]],
                  parents: Mapping[str, DefectTemplate]) -> DefectTemplate:
    """Read one template file; ``extends`` looks the parent up in ``parents`` by name."""
    where = str(path)
    data = read_yaml_mapping(path)
    for key in data:
        if key not in _COMMON_KEYS:
            raise MadgenError(f"{where}: unknown key '{key}' (known: {', '.join(sorted(_COMMON_KEYS))})")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise MadgenError(f"{where}: key 'name': expected a folder-safe name (letters, digits, _ or -), "
                          f"got {name!r}")
    if name.lower() == "good":
        raise MadgenError(f"{where}: key 'name': 'good' is reserved for defect-free images")
    parent = None
    if "extends" in data:
        parent = parents.get(str(data["extends"]).lower())
        if parent is None:
            raise MadgenError(f"{where}: key 'extends': unknown defect type {data['extends']!r} "
                              f"(known: {', '.join(sorted(t.name for t in parents.values()))})")
        if "kind" in data and data["kind"] != parent.kind:
            raise MadgenError(f"{where}: key 'kind': {data['kind']!r} differs from the extended type's "
                              f"kind {parent.kind!r}")
    kind = parent.kind if parent else data.get("kind")
    if kind not in schemas:
        raise MadgenError(f"{where}: key 'kind': expected one of {', '.join(sorted(schemas))}, got {kind!r}")
    min_visible = data.get("min_visible_px", parent.min_visible_px if parent else 0.001)
    if isinstance(min_visible, bool) or not isinstance(min_visible, (int, float)) or min_visible <= 0:
        raise MadgenError(f"{where}: key 'min_visible_px': expected a fraction of the image (0..1) or a pixel "
                          f"count (>= 1), got {min_visible!r}")
    attempts = data.get("max_attempts", parent.max_attempts if parent else 25)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 1000:
        raise MadgenError(f"{where}: key 'max_attempts': expected an integer within 1..1000, got {attempts!r}")
    raw_params = dict(_raw_params(parent)) if parent else {}
    given = data.get("params", {})
    if not isinstance(given, dict):
        raise MadgenError(f"{where}: key 'params': expected a mapping")
    raw_params.update(given)
    params = validate_params(kind, schemas[kind], raw_params, where)
    description = str(data.get("description", parent.description if parent else ""))
    return DefectTemplate(name, kind, where, description, float(min_visible), attempts, params)


def _raw_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


def _raw_params(template: DefectTemplate) -> dict[str, Any]:
    """A template's params back in YAML form (ranges as lists, distributions as mappings), for
    ``extends`` and records."""
    return {key: _raw_value(value) for key, value in template.params.items()}
