"""``BuildConfig``: every option of ``madgen build``, typed, from defaults < YAML < command line.

The resolved config is a plain mapping (``to_dict``) that is saved beside the output and in
each category's manifest, so a dataset records exactly how it was made. Unknown keys and bad
values are errors that name the file (or option) and the key.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from ..categories import CATEGORIES, resolve_category
from ..defects.registry import BUILTIN_TYPES
from ..errors import MadgenError
from ..rig import RigConfig
from ..yamlfile import read_yaml_mapping

EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count``: work unit ``k`` belongs to it when ``k % count == index``."""

    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str | None) -> "Shard":
        """Parse ``i/n`` (0 <= i < n)."""
        if text is None or str(text).strip() == "":
            return cls()
        index_text, sep, count_text = str(text).partition("/")
        try:
            index, count = int(index_text), int(count_text)
        except ValueError:
            raise MadgenError(f"--shard {text!r}: expected i/n, for example 0/4") from None
        if not sep or count < 1 or not 0 <= index < count:
            raise MadgenError(f"--shard {text!r}: expected i/n with 0 <= i < n")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class BuildConfig:
    """What to build, how, and where."""

    categories: tuple[str, ...] = ("01Gorilla",)
    model: str | None = None
    name: str | None = None
    out: str = "MAD-Sim"
    profile: str = "standard"
    overrides: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    train_views: str = "all"
    test_good: int = 90
    test_per_defect: int = 80
    val_good: int = 0
    val_per_defect: int = 0
    defects: tuple[str, ...] = BUILTIN_TYPES
    templates: tuple[str, ...] = ()
    plugins: tuple[str, ...] = ()
    ldraw_dirs: tuple[str, ...] = ()
    executor: str = "local"
    workers: int = 0
    address: str = "auto"
    chunk_size: int = 8
    shard: str | None = None
    rig: RigConfig = field(default_factory=RigConfig)

    def validate(self, where: str = "config") -> "BuildConfig":
        """Check every value; raise :class:`MadgenError` naming ``where`` and the key."""
        def bad(key: str, allowed: str) -> MadgenError:
            return MadgenError(f"{where}: key '{key}': {getattr(self, key)!r} is not {allowed}")

        if self.model is None and not self.categories:
            raise MadgenError(f"{where}: key 'categories': give at least one category (or a model)")
        if self.model is not None and self.categories:
            raise MadgenError(f"{where}: give either 'categories' or 'model', not both")
        for key in ("test_good", "test_per_defect", "val_good", "val_per_defect"):
            if not 0 <= getattr(self, key) <= 100_000:
                raise bad(key, "an integer within 0..100000")
        if not 1 <= self.chunk_size <= 1024:
            raise bad("chunk_size", "an integer within 1..1024")
        if not 0 <= self.workers <= 1024:
            raise bad("workers", "0 (automatic) or a worker count")
        if self.executor not in EXECUTORS:
            raise bad("executor", f"one of {EXECUTORS}")
        if len(set(self.defects)) != len(self.defects):
            raise bad("defects", "a list without repeats")
        Shard.parse(self.shard)
        try:
            self.rig.validate()
        except MadgenError as exc:
            raise MadgenError(f"{where}: {exc}") from None
        return self

    @property
    def shard_spec(self) -> Shard:
        """The parsed ``shard``."""
        return Shard.parse(self.shard)

    def to_dict(self) -> dict[str, Any]:
        """A JSON/YAML-serialisable record of every setting."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, tuple):
                data[key] = list(value)
        data["overrides"] = dict(self.overrides)
        return data


_FIELDS = {f.name for f in fields(BuildConfig)}
_LIST_KEYS = {"categories", "defects", "templates", "plugins", "ldraw_dirs"}
_INT_KEYS = {"seed", "test_good", "test_per_defect", "val_good", "val_per_defect", "workers", "chunk_size"}
_RIG_TYPES = {f.name: f.type for f in fields(RigConfig)}


def _coerce(key: str, value: Any, where: str) -> Any:
    try:
        if key in _LIST_KEYS:
            items = [value] if isinstance(value, str) else list(value)
            if not all(isinstance(item, (str, int)) and not isinstance(item, bool) for item in items):
                raise ValueError(value)
            return tuple(str(item) for item in items)
        if key in _INT_KEYS:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        if key == "overrides":
            if not isinstance(value, Mapping):
                raise ValueError(value)
            return dict(value)
        if key == "rig":
            return _rig(value, where)
        if value is None and key in ("model", "name", "shard"):
            return None
        if isinstance(value, (dict, list, bool)):
            raise ValueError(value)
        return str(value)
    except (TypeError, ValueError):
        kind = ("a list" if key in _LIST_KEYS else "an integer" if key in _INT_KEYS else
                "a mapping" if key in ("overrides", "rig") else "a string")
        raise MadgenError(f"{where}: key '{key}': expected {kind}, got {value!r}") from None


def _rig(value: Any, where: str) -> RigConfig:
    if isinstance(value, RigConfig):
        return value
    if not isinstance(value, Mapping):
        raise ValueError(value)
    values = {}
    for key, item in value.items():
        if key not in _RIG_TYPES:
            raise MadgenError(f"{where}: key 'rig.{key}' is unknown (known: {', '.join(sorted(_RIG_TYPES))})")
        kind = _RIG_TYPES[key]
        try:
            if kind == "bool":
                if not isinstance(item, bool):
                    raise ValueError(item)
                values[key] = item
            elif kind == "str":
                if not isinstance(item, str):
                    raise ValueError(item)
                values[key] = item
            else:
                if isinstance(item, bool):
                    raise ValueError(item)
                values[key] = float(item)
        except (TypeError, ValueError):
            raise MadgenError(f"{where}: key 'rig.{key}': expected {kind}, got {item!r}") from None
    return RigConfig(**values)


def merge_config(base: BuildConfig, values: Mapping[str, Any], where: str) -> BuildConfig:
    """``base`` with ``values`` applied (keys may use ``-`` or ``_``); unknown keys are errors."""
    updates: dict[str, Any] = {}
    for raw_key, value in values.items():
        key = str(raw_key).replace("-", "_")
        if key not in _FIELDS:
            raise MadgenError(f"{where}: unknown key '{raw_key}' (known: {', '.join(sorted(_FIELDS))})")
        updates[key] = _coerce(key, value, where)
    data = {f.name: getattr(base, f.name) for f in fields(BuildConfig)}
    data.update(updates)
    if "model" in updates and updates["model"] is not None and "categories" not in updates:
        data["categories"] = ()
    return BuildConfig(**data)


def resolve_config(config_file: Path | None = None, options: Mapping[str, Any] | None = None) -> BuildConfig:
    """Defaults, then ``config_file`` (YAML), then command-line ``options`` (``None`` values ignored)."""
    config = BuildConfig()
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise MadgenError(f"--config {path}: no such file")
        config = merge_config(config, read_yaml_mapping(path), str(path)).validate(str(path))
    given = {key: value for key, value in (options or {}).items() if value is not None and value != ()}
    config = merge_config(config, given, "option").validate("option")
    if config.model is None:
        names = ["all"] if "all" in [c.lower() for c in config.categories] else config.categories
        resolved = CATEGORIES if names == ["all"] else tuple(dict.fromkeys(resolve_category(c) for c in names))
        config = merge_config(config, {"categories": resolved}, "option")
    return config
