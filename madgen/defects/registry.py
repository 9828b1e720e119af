"""Which defect types exist: the built-in templates, user YAML templates and Python plugins.

- Kinds (injectors): ``missing``, ``burrs``, ``stains``, plus plugin classes found through the
  ``madgen.defects`` entry-point group or given as ``module:Class`` (``--plugin``).
- Types (dataset folder names): one per template. ``defect_templates/*.yaml`` holds the
  built-ins (Missing, Burrs, Stains); a user YAML (``--defects my.yaml``) adds or extends one;
  a plugin class may carry a ``template`` mapping that registers its own type.

A plugin that does not implement the interface, or a template that breaks its kind's schema,
is an error naming the plugin or the file and key.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..errors import MadgenError
from ..resources import defect_templates_dir
from .base import DefectKind
from .burrs import Burrs
from .missing import Missing
from .stains import Stains
from .templates import DefectTemplate, read_template, validate_params

ENTRY_POINT_GROUP = "madgen.defects"
BUILTIN_TYPES = ("Burrs", "Missing", "Stains")


@dataclass(frozen=True)
class DefectType:
    """A named defect type: its template and the injector that draws, applies and masks it."""

    template: DefectTemplate
    injector: DefectKind
    origin: str

    @property
    def name(self) -> str:
        """The dataset folder name."""
        return self.template.name


def check_injector(candidate: Any, label: str) -> DefectKind:
    """Instantiate and validate a plugin class (or accept an instance)."""
    instance = candidate() if isinstance(candidate, type) else candidate
    missing = [name for name in ("plan", "apply", "mask") if not callable(getattr(instance, name, None))]
    if missing:
        raise MadgenError(f"plugin {label} does not implement the defect interface: no {', '.join(missing)} "
                          "method (see madgen.defects.DefectKind)")
    kind = getattr(instance, "kind", "")
    if not isinstance(kind, str) or not kind:
        raise MadgenError(f"plugin {label} has no 'kind' name")
    schema = getattr(instance, "schema", None)
    if not isinstance(schema, dict):
        raise MadgenError(f"plugin {label}: 'schema' must be a mapping of parameter specs")
    return instance


def load_plugin(reference: str) -> DefectKind:
    """Import ``module:Class`` and validate it."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise MadgenError(f"--plugin {reference!r}: expected module:Class")
    if os.getcwd() not in sys.path:  # like `python -m`, let plugins live in the working directory
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise MadgenError(f"--plugin {reference}: cannot import {module_name} ({exc})") from None
    try:
        candidate = getattr(module, attribute)
    except AttributeError:
        raise MadgenError(f"--plugin {reference}: {module_name} has no {attribute}") from None
    return check_injector(candidate, reference)


def _entry_point_plugins() -> list[tuple[str, DefectKind]]:
    found = []
    for entry in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        label = f"{entry.name} ({entry.value})"
        try:
            candidate = entry.load()
        except Exception as exc:  # noqa: BLE001 - a broken third-party plugin must not crash madgen
            raise MadgenError(f"plugin {label} from entry point group {ENTRY_POINT_GROUP} fails to load ({exc})") \
                from None
        found.append((label, check_injector(candidate, label)))
    return found


class DefectRegistry:
    """Kinds and types by name (case-insensitive)."""

    def __init__(self) -> None:
        self.kinds: dict[str, DefectKind] = {}
        self.types: dict[str, DefectType] = {}

    def add_kind(self, injector: DefectKind, label: str) -> None:
        """Register an injector kind, and its own template when it carries one."""
        self.kinds[injector.kind] = injector
        template_data = getattr(injector, "template", None)
        if isinstance(template_data, dict):
            name = str(template_data.get("name", injector.kind.title()))
            params = validate_params(injector.kind, injector.schema, template_data.get("params", {}),
                                     f"plugin {label}")
            template = DefectTemplate(name, injector.kind, f"plugin {label}", str(template_data.get("description", "")),
                                      float(template_data.get("min_visible_px", 0.001)),
                                      int(template_data.get("max_attempts", 25)), params)
            self.types[name.lower()] = DefectType(template, injector, f"plugin {label}")

    def add_template_file(self, path: Path, origin: str) -> DefectType:
        """Read a template file (it may extend a type already registered)."""
        schemas = {kind: injector.schema for kind, injector in self.kinds.items()}
        parents = {name: entry.template for name, entry in self.types.items()}
        template = read_template(path, schemas, parents)
        entry = DefectType(template, self.kinds[template.kind], origin)
        self.types[template.name.lower()] = entry
        return entry

    def get(self, name: str) -> DefectType:
        """The type called ``name`` (any case)."""
        entry = self.types.get(name.lower())
        if entry is None:
            raise MadgenError(f"unknown defect type {name!r}; known: {', '.join(self.names())}")
        return entry

    def names(self) -> list[str]:
        """All type names, sorted."""
        return sorted(entry.name for entry in self.types.values())

    def resolve_selection(self, names: Iterable[str] | None) -> list[DefectType]:
        """The types a build asks for (all built-ins by default)."""
        return [self.get(name) for name in (names or BUILTIN_TYPES)]


def load_registry(template_files: Sequence[str | Path] = (), plugins: Sequence[str] = (),
                  use_entry_points: bool = True) -> DefectRegistry:
    """Built-in kinds and templates, then entry-point and ``--plugin`` kinds, then user templates."""
    registry = DefectRegistry()
    for injector in (Missing(), Burrs(), Stains()):
        registry.add_kind(injector, injector.kind)
    folder = defect_templates_dir()
    for path in sorted(folder.glob("*.yaml")):
        registry.add_template_file(path, "built-in")
    if use_entry_points:
        for label, injector in _entry_point_plugins():
            registry.add_kind(injector, label)
    for reference in plugins:
        registry.add_kind(load_plugin(reference), reference)
    for item in template_files:
        path = Path(item)
        if not path.is_file():
            raise MadgenError(f"defect template not found: {path}")
        registry.add_template_file(path, str(path))
    return registry
