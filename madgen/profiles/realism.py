"""The ``realism`` block of a render profile: what a photographed, MAD-Real-like image may look like.

Every setting is a range (or a list of choices) that :func:`madgen.realism.draw_look` draws from,
per image, with the image's seed; the drawn values travel in the build plan and the manifest.
Pure Python and typed like the profile: a bad value is an error naming the file, the key
(``realism.<name>``) and its allowed range.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping

from ..errors import MadgenError

SURFACES = ("wood", "rubber", "metal", "fabric")
BACKDROPS = ("wall", "curtain", "panel")
LIGHT_KINDS = ("area", "spot")

Range = tuple[float, float]


@dataclass(frozen=True)
class Realism:
    """Ranges drawn per image (``(low, high)``: uniform between; lists: a choice)."""

    #: Training views spread over the rig when the build selects ``all`` (0: keep the selection).
    train_views: int = 48
    #: The bench the toy stands on, and the backdrop behind it.
    surfaces: tuple[str, ...] = SURFACES
    backdrops: tuple[str, ...] = BACKDROPS
    #: How far the camera looks down onto the bench (degrees); the toy is posed on it, not moved.
    bench_tilt_deg: Range = (12.0, 38.0)
    #: Distance of the backdrop behind the toy's centre (metres; the toy spans about 2).
    backdrop_distance: Range = (3.0, 7.0)
    #: Brightness (HSV value, sRGB) of the bench and the backdrop: kept away from the toys' light grey.
    surface_value: Range = (0.12, 0.5)
    backdrop_value: Range = (0.15, 0.55)
    #: Small objects on the bench, behind the toy and to its sides: never in front of it.
    clutter: tuple[int, int] = (0, 3)
    #: One to three lights: area or spot, aimed at the toy from above the bench.
    lights: tuple[int, int] = (1, 3)
    light_kinds: tuple[str, ...] = LIGHT_KINDS
    light_elevation_deg: Range = (25.0, 75.0)
    #: Azimuth about the bench's up axis, 0 from the camera's side: the first (key) light comes from the
    #: front half, the others from anywhere in ``light_azimuth_deg``.
    key_azimuth_deg: Range = (-75.0, 75.0)
    light_azimuth_deg: Range = (-150.0, 150.0)
    light_distance: Range = (4.0, 8.0)
    light_size: Range = (0.5, 3.0)
    #: Irradiance at the toy (W/m^2, that is power / distance^2 for an area light).
    light_irradiance: Range = (5.0, 10.0)
    light_temperature_k: Range = (3300.0, 7000.0)
    #: The world: a sky-like gradient seen in reflections and lighting the scene softly.
    world_strength: Range = (0.3, 0.7)
    #: Camera: exposure jitter (EV), white balance (K, tint), sensor noise (8-bit levels at mid-grey),
    #: f-number (the scene is about 10x a real bench, so small numbers give a slight defocus).
    exposure_ev: Range = (-0.3, 0.3)
    white_balance_k: Range = (5600.0, 7400.0)
    white_balance_tint: Range = (-6.0, 6.0)
    noise_sigma: Range = (0.8, 2.4)
    fstop: Range = (1.2, 3.0)
    focus_jitter: float = 0.15
    #: Hand-held camera: the aim moves off the rig's target by up to this (metres), the camera rolls
    #: by up to ``roll_jitter_deg`` and its distance changes by up to ``distance_jitter`` (a share).
    aim_jitter: float = 0.04
    roll_jitter_deg: float = 2.0
    distance_jitter: float = 0.02

    def validate(self, where: str) -> "Realism":
        """Check every range; raise :class:`MadgenError` naming ``where``, the key and its range."""
        def fail(key: str, allowed: str) -> MadgenError:
            return MadgenError(f"{where}: key 'realism.{key}': {getattr(self, key)!r} is not {allowed}")

        def pair(key: str, low: float, high: float, integer: bool = False) -> None:
            value = getattr(self, key)
            kind = "integers" if integer else "numbers"
            if not (low <= value[0] <= value[1] <= high):
                raise fail(key, f"two {kind} low <= high within {low:g}..{high:g}")

        def choices(key: str, allowed: tuple[str, ...]) -> None:
            value = getattr(self, key)
            if not value or any(item not in allowed for item in value) or len(set(value)) != len(value):
                raise fail(key, f"a non-empty list (no repeats) of {', '.join(allowed)}")

        if not 0 <= self.train_views <= 100_000:
            raise fail("train_views", "an integer within 0..100000 (0: the build's selection)")
        choices("surfaces", SURFACES)
        choices("backdrops", BACKDROPS)
        choices("light_kinds", LIGHT_KINDS)
        pair("bench_tilt_deg", 5.0, 80.0)
        pair("backdrop_distance", 2.0, 50.0)
        pair("surface_value", 0.0, 1.0)
        pair("backdrop_value", 0.0, 1.0)
        pair("clutter", 0, 8, integer=True)
        pair("lights", 1, 3, integer=True)
        pair("light_elevation_deg", 5.0, 90.0)
        pair("key_azimuth_deg", -180.0, 180.0)
        pair("light_azimuth_deg", -180.0, 180.0)
        pair("light_distance", 2.5, 50.0)
        pair("light_size", 0.05, 10.0)
        pair("light_irradiance", 0.0, 100.0)
        pair("light_temperature_k", 1000.0, 12000.0)
        pair("world_strength", 0.0, 5.0)
        pair("exposure_ev", -3.0, 3.0)
        pair("white_balance_k", 2000.0, 12000.0)
        pair("white_balance_tint", -50.0, 50.0)
        pair("noise_sigma", 0.0, 20.0)
        pair("fstop", 0.1, 64.0)
        for key, high in (("focus_jitter", 1.0), ("aim_jitter", 0.2), ("roll_jitter_deg", 10.0),
                          ("distance_jitter", 0.1)):
            if not 0.0 <= getattr(self, key) <= high:
                raise fail(key, f"a number within 0..{high:g}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (tuples as lists)."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Realism":
        """Inverse of :meth:`to_dict`."""
        return apply_realism(cls(), data, "realism")


_DEFAULTS = Realism()
_KINDS = {f.name: type(getattr(_DEFAULTS, f.name)) for f in fields(Realism)}
_CHOICE_KEYS = {"surfaces", "backdrops", "light_kinds"}
_INT_PAIRS = {"clutter", "lights"}


def _coerce(key: str, value: Any, where: str) -> Any:
    kind = _KINDS[key]
    try:
        if key in _CHOICE_KEYS:
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(item).strip().lower() for item in items if str(item).strip())
        if kind is tuple:
            items = value.split(",") if isinstance(value, str) else list(value)
            if len(items) == 1:  # one number: a fixed value
                items = items * 2
            if len(items) != 2 or any(isinstance(item, bool) for item in items):
                raise ValueError(value)
            if key in _INT_PAIRS:
                numbers = [float(item) for item in items]
                if not all(n.is_integer() for n in numbers):
                    raise ValueError(value)
                return (int(numbers[0]), int(numbers[1]))
            return (float(items[0]), float(items[1]))
        if isinstance(value, bool):
            raise ValueError(value)
        if kind is int:
            number = float(value)
            if not number.is_integer():
                raise ValueError(value)
            return int(number)
        return float(value)
    except (TypeError, ValueError, OverflowError):
        expected = ("a list of names" if key in _CHOICE_KEYS else "two numbers low,high" if kind is tuple
                    else kind.__name__)
        raise MadgenError(f"{where}: key 'realism.{key}': expected {expected}, got {value!r}") from None


def apply_realism(base: Realism, values: Mapping[str, Any], where: str) -> Realism:
    """``base`` with ``values`` applied; unknown keys and bad values are errors naming ``where`` and the key."""
    updates = {}
    for key, value in values.items():
        if key not in _KINDS:
            raise MadgenError(f"{where}: unknown key 'realism.{key}' (known: {', '.join(sorted(_KINDS))})")
        updates[key] = _coerce(key, value, where)
    return replace(base, **updates)
