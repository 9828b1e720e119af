"""Render profiles: named, typed render settings loaded from YAML (``standard``, ``mad-sim``, ``ci``,
``mad-real``).

A profile is a name of a built-in profile or a path to a YAML file; every field can be overridden
(``--set samples=8`` on the command line, ``--set realism.lights=1,2`` for a realism setting).
Unknown keys and bad values are errors that name the file and key. Pure Python: the Blender layer
reads the resolved :class:`RenderProfile`.

A profile with a ``realism`` block (``mad-real``) photographs the toy on a bench instead of
rendering it on white: see :class:`madgen.profiles.realism.Realism`. Keys added after the first
release (``realism``, ``object_masks``) are recorded in ``to_dict`` only when set, so the records
(and resume keys) of the studio profiles are what they always were.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Mapping

from ..errors import MadgenError
from ..yamlfile import read_yaml_mapping
from .realism import Realism, apply_realism

BUILTIN_FOLDER = Path(__file__).resolve().parent
DENOISE_PREFILTERS = ("NONE", "FAST", "ACCURATE")
DENOISE_QUALITIES = ("FAST", "BALANCED", "HIGH")
DEVICES = ("auto", "cpu", "gpu")


@dataclass(frozen=True)
class RenderProfile:
    """Everything that decides the pixels of a render (besides scene, pose and seed)."""

    name: str = "standard"
    resolution: int = 400
    samples: int = 16
    denoise: bool = True
    denoise_prefilter: str = "FAST"
    denoise_quality: str = "FAST"
    max_bounces: int = 4
    device: str = "auto"
    threads: int = 0
    mask_filter_width: float = 0.01
    mask_supersample: int = 3
    mask_coverage: float = 0.1
    part_gap_ldu: float = 0.25
    probe_samples: int = 2
    #: Also write each image's object silhouette under ``object_masks/`` (same path as the image).
    object_masks: bool = False
    #: Backgrounds, lighting, reflections and camera effects (``None``: the white studio).
    realism: Realism | None = None

    def validate(self, where: str) -> "RenderProfile":
        """Check ranges; raise :class:`MadgenError` naming ``where`` and the key."""
        checks: list[tuple[str, bool, str]] = [
            ("resolution", 16 <= self.resolution <= 8192, "an integer within 16..8192"),
            ("samples", 1 <= self.samples <= 65536, "an integer within 1..65536"),
            ("denoise_prefilter", self.denoise_prefilter in DENOISE_PREFILTERS, f"one of {DENOISE_PREFILTERS}"),
            ("denoise_quality", self.denoise_quality in DENOISE_QUALITIES, f"one of {DENOISE_QUALITIES}"),
            ("max_bounces", 0 <= self.max_bounces <= 128, "an integer within 0..128"),
            ("device", self.device in DEVICES, f"one of {DEVICES}"),
            ("threads", 0 <= self.threads <= 1024, "0 (all cores) or a thread count"),
            ("mask_filter_width", 0.01 <= self.mask_filter_width <= 1.5, "a number within 0.01..1.5"),
            ("mask_supersample", self.mask_supersample in (1, 3, 5, 7), "1, 3, 5 or 7 (odd: sub-pixels centred)"),
            ("mask_coverage", 0.01 <= self.mask_coverage <= 1.0, "a number within 0.01..1"),
            ("part_gap_ldu", 0.0 <= self.part_gap_ldu <= 2.0, "a number within 0..2 (LDU)"),
            ("probe_samples", 1 <= self.probe_samples <= 64, "an integer within 1..64"),
        ]
        for key, ok, allowed in checks:
            if not ok:
                raise MadgenError(f"{where}: key '{key}': {getattr(self, key)!r} is not {allowed}")
        if self.realism is not None:
            self.realism.validate(where)
        return self

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable record of every setting (``realism`` and ``object_masks`` only when set)."""
        data = asdict(self)
        if self.realism is None:
            del data["realism"]
        else:
            data["realism"] = self.realism.to_dict()
        if not self.object_masks:
            del data["object_masks"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RenderProfile":
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        realism = values.pop("realism", None)
        return cls(**values, realism=None if realism is None else Realism.from_dict(realism))


_TYPES = {f.name: f.type for f in fields(RenderProfile) if f.name != "realism"}


def _coerce(key: str, value: Any, where: str) -> Any:
    kind = _TYPES[key]
    try:
        if kind == "bool":
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "yes", "no", "1", "0", "on", "off"):
                    raise ValueError(value)
                return value.lower() in ("true", "yes", "1", "on")
            if not isinstance(value, bool):
                raise ValueError(value)
            return value
        if kind == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        if kind == "float":
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        return str(value).upper() if key.startswith("denoise_") else str(value)
    except (TypeError, ValueError, OverflowError):
        raise MadgenError(f"{where}: key '{key}': expected {kind}, got {value!r}") from None


def _apply(profile: RenderProfile, values: Mapping[str, Any], where: str) -> RenderProfile:
    updates: dict[str, Any] = {}
    realism: dict[str, Any] = {}
    for key, value in values.items():
        key = str(key)
        if key == "realism":
            if value is None or value is False:
                updates["realism"] = None
                continue
            if value is True:
                realism.setdefault("", True)
                continue
            if not isinstance(value, Mapping):
                raise MadgenError(f"{where}: key 'realism': expected a mapping of realism settings, got {value!r}")
            realism.update({str(k): v for k, v in value.items()})
            continue
        if key.startswith("realism."):
            realism[key[len("realism."):]] = value
            continue
        if key not in _TYPES or key == "name":
            known = ", ".join(sorted([k for k in _TYPES if k != "name"] + ["realism"]))
            raise MadgenError(f"{where}: unknown key '{key}' (known: {known})")
        updates[key] = _coerce(key, value, where)
    if realism:
        realism.pop("", None)
        base = updates.get("realism", profile.realism) or Realism()
        updates["realism"] = apply_realism(base, realism, where)
    return replace(profile, **updates)


def builtin_profiles() -> list[str]:
    """Names of the profiles shipped with madgen."""
    return sorted(path.stem for path in BUILTIN_FOLDER.glob("*.yaml"))


def load_profile(name_or_path: str = "standard", overrides: Mapping[str, Any] | None = None) -> RenderProfile:
    """Load a built-in profile by name, or a YAML file by path, then apply ``overrides``."""
    path = Path(name_or_path)
    if not path.suffix:
        path = BUILTIN_FOLDER / f"{name_or_path}.yaml"
        if not path.is_file():
            raise MadgenError(f"unknown render profile {name_or_path!r}; built-in: {', '.join(builtin_profiles())} "
                              "(or give a YAML file)")
    elif not path.is_file():
        raise MadgenError(f"render profile file not found: {path}")
    data = read_yaml_mapping(path)
    profile = _apply(RenderProfile(name=path.stem), data, str(path)).validate(str(path))
    if overrides:
        profile = _apply(profile, overrides, "override").validate("override")
    return profile


def parse_overrides(items: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Parse ``key=value`` strings from the command line."""
    result = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise MadgenError(f"override {item!r} is not key=value")
        result[key.strip()] = value.strip()
    return result
