"""OmniposeAD settings: typed, JSON-serialisable, and free of torch so the CLI starts fast."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any, Mapping

from ..errors import MadgenError

BACKBONES = ("lite0", "b4", "none")


@dataclass(frozen=True)
class FieldConfig:
    """How the field is built and trained."""

    resolution: int = 96
    train_size: int = 200
    steps: int = 4000
    batch_rays: int = 4096
    lr: float = 0.8
    hull_tolerance: int = 2
    hull_dilation: int = 2
    seed: int = 0
    smoothness: float = 1e-3
    appearance: str = "none"

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form (``appearance`` only when set, so that fields and scores
        recorded before it existed keep their keys)."""
        values = asdict(self)
        if values["appearance"] == "none":
            del values["appearance"]
        return values


#: ``madgen ad tune``: a pose point whose best validation image AUROC is this close to the best
#: counts as good as it (here, torch-free, so the CLI's defaults read it).
TOLERANCE = 0.01
#: ``madgen ad tune``: the largest median validation pose error (degrees) a chosen pose point may have.
MAX_POSE_ERROR = 2.0


@dataclass(frozen=True)
class PoseConfig:
    """Retrieval and refinement settings."""

    thumbnail: int = 32
    #: retrieved training poses refined (1: chosen by ``madgen ad tune`` on the Bird and Gorilla
    #: validation builds, bench/settings/pose-val.yaml: the same validation AUROC within 0.01 as 2
    #: at half the pose time)
    candidates: int = 1
    steps: int = 40
    rays: int = 1024
    lr: float = 0.01
    #: the learning rate's factor per 100 steps (exponential decay; iNeRF's 0.8)
    decay: float = 0.8
    size: int = 64
    seed: int = 0
    light: str = "fixed"
    #: what retrieval compares the test image with (``RETRIEVALS``)
    retrieval: str = "views"

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form (``retrieval`` only when not ``views``, so that configs and
        scores recorded before it existed keep their keys)."""
        values = asdict(self)
        if values["retrieval"] == "views":
            del values["retrieval"]
        return values


@dataclass(frozen=True)
class AdConfig:
    """Everything a run needs (saved as ``config.json``)."""

    data: str
    category: str
    field: FieldConfig = dc_field(default_factory=FieldConfig)
    pose: PoseConfig = dc_field(default_factory=PoseConfig)
    backbone: str = "lite0"
    weights: str | None = None
    baseline: bool = True
    bank_size: int = 4096
    map_stages: int = 3
    map_sigma: float = 2.0
    map_views: int = 2
    map_radius: int = 1
    map_rgb_weight: float = 1.0
    map_match: str = "none"
    #: ``local`` won ``madgen ad tune`` on the standard validation builds of Bird, Gorilla and
    #: Zalika (0.903 against 0.891) and on MAD-Real's of Bird and Zalika (0.737 against 0.709), but
    #: lowered the white Swan and Sheep on test (README, "map_normalise"), so it is not the default
    map_normalise: str = "none"
    test_data: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (``test_data`` only when set, so configs written before it
        existed read back equal)."""
        values = asdict(self) | {"field": self.field.to_dict(), "pose": self.pose.to_dict()}
        if values["test_data"] is None:
            del values["test_data"]
        return values

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AdConfig":
        """Inverse of :meth:`to_dict` (a config written before ``map_normalise`` existed had none)."""
        values = dict(data)
        values.setdefault("map_normalise", "none")
        values["field"] = FieldConfig(**values.get("field", {}))
        values["pose"] = PoseConfig(**values.get("pose", {}))
        return cls(**values)

    @property
    def folder(self) -> Path:
        """The category folder."""
        return Path(self.data) / self.category

    @property
    def test_folder(self) -> Path:
        """The category folder whose ``test/`` is scored: ``test_data``'s when set (train on one
        dataset, test on another: e.g. standard renders against mad-real photographs), else
        :attr:`folder`."""
        return Path(self.test_data or self.data) / self.category

    def scoring_key(self) -> str:
        """A hash of everything that decides the scores (not the data folder's location)."""
        parts = {k: v for k, v in self.to_dict().items() if k not in ("data", "test_data")}
        for key in ("map_match", "map_normalise"):  # keys from before the settings existed stay valid
            if parts[key] == "none":
                del parts[key]
        if parts["pose"].get("light") == "fixed":
            del parts["pose"]["light"]
        if parts["pose"].get("decay") == 0.8:
            del parts["pose"]["decay"]
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


# --- settings files -------------------------------------------------------------------------
#
# ``madgen ad train --settings FILE`` reads, and ``madgen ad tune`` writes, a YAML or JSON mapping
# of the settings below by their command-line names (``map_sigma`` or ``map-sigma``). Options given
# on the command line win over the file, the file over the defaults. The key ``tuned`` (what
# ``tune`` chose from and why) is provenance and ignored; any other key is an error.

#: ``map_match`` choices: the references as they are, or a per-channel gain and offset
#: (:func:`madgen.ad.anomaly.match_colour`).
MATCHES = ("none", "gain")
#: ``appearance`` choices (the field's per-view gain) and ``pose_light`` choices (the pose's).
APPEARANCES = ("none", "gain")
LIGHTS = ("fixed", "gain")
#: ``map_normalise`` choices: the images as they are, or each divided by its local brightness
#: (:func:`madgen.ad.anomaly.normalise_light`).
NORMALISES = ("none", "local")
#: ``pose_retrieval`` choices: the training views (as on disk, laid on white), or the field's
#: renders from every training view's camera turned about the vertical axis in 15-degree steps,
#: compared with exposure-normalised colour, the candidates more than ``SPREAD_DEG`` apart
#: (:func:`madgen.ad.pose.bank_poses`, :func:`madgen.ad.pose.retrieve_spread`).
RETRIEVALS = ("views", "renders")

#: name -> (kind, low, high); kinds: int, float, bool, str (``weights``: a path or null), and a
#: tuple of choices.
SETTINGS: dict[str, tuple[Any, float | None, float | None]] = {
    "steps": (int, 1, None),
    "resolution": (int, 16, 512),
    "train_size": (int, 16, 1024),
    "smoothness": (float, 0.0, None),
    "appearance": (APPEARANCES, None, None),
    "pose_steps": (int, 0, None),
    "candidates": (int, 1, None),
    "pose_rays": (int, 16, None),
    "pose_lr": (float, 1e-6, 1.0),
    "pose_decay": (float, 1e-12, 1.0),
    "pose_light": (LIGHTS, None, None),
    "pose_retrieval": (RETRIEVALS, None, None),
    "backbone": (BACKBONES, None, None),
    "weights": (str, None, None),
    "baseline": (bool, None, None),
    "map_stages": (int, 1, 8),
    "map_sigma": (float, 0.5, 16.0),
    "map_views": (int, 0, 16),
    "map_radius": (int, 0, 4),
    "map_rgb_weight": (float, 0.0, 1e7),
    "map_match": (MATCHES, None, None),
    "map_normalise": (NORMALISES, None, None),
    "seed": (int, None, None),
}
PROVENANCE_KEY = "tuned"


def default_settings() -> dict[str, Any]:
    """Every setting at its default (what ``madgen ad train`` uses without options)."""
    field, pose, base = FieldConfig(), PoseConfig(), AdConfig("", "")
    return {"steps": field.steps, "resolution": field.resolution, "train_size": field.train_size,
            "smoothness": field.smoothness, "appearance": field.appearance, "pose_steps": pose.steps, "candidates": pose.candidates,
            "pose_rays": pose.rays, "pose_lr": pose.lr, "pose_decay": pose.decay, "pose_light": pose.light,
            "pose_retrieval": pose.retrieval,
            "backbone": base.backbone, "weights": base.weights, "baseline": base.baseline,
            "map_stages": base.map_stages, "map_sigma": base.map_sigma, "map_views": base.map_views,
            "map_radius": base.map_radius, "map_rgb_weight": base.map_rgb_weight, "map_match": base.map_match,
            "map_normalise": base.map_normalise, "seed": field.seed}


def _bounds_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" {low:g}..{high:g}"
    if low is not None:
        return f" >= {low:g}"
    return ""


def check_setting(name: str, value: Any, where: str) -> Any:
    """``value`` of setting ``name`` checked (ints accepted as floats); a one-line error naming
    ``where`` (a file or an option) and the key otherwise."""
    key = name.replace("-", "_")
    if key not in SETTINGS:
        raise ValueError(f"unknown setting {name!r}")
    where = where if where.startswith("--") else f"{where}: key '{key}'"
    kind, low, high = SETTINGS[key]
    if isinstance(kind, tuple):
        if value not in kind:
            raise MadgenError(f"{where}: expected one of {', '.join(kind)}, got {value!r}")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise MadgenError(f"{where}: expected true or false, got {value!r}")
        return value
    if kind is str:
        if value is not None and not isinstance(value, str):
            raise MadgenError(f"{where}: expected a path or null, got {value!r}")
        return value
    number_ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int and not (isinstance(value, int) and not isinstance(value, bool)):
        number_ok = False
    if number_ok:
        try:
            value = kind(value)
        except OverflowError:  # an integer too large for a float
            number_ok = False
        number_ok = number_ok and value == value and abs(value) != float("inf") and (low is None or value >= low) \
            and (high is None or value <= high)
    if not number_ok:
        what = "an integer" if kind is int else "a number"
        raise MadgenError(f"{where}: expected {what}{_bounds_text(low, high)}, got {value!r}")
    return value


def check_settings(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A mapping of settings (by command-line name, ``-`` or ``_``) checked; ``tuned`` dropped;
    unknown keys are errors naming ``where``."""
    checked = {}
    for name, value in values.items():
        if name == PROVENANCE_KEY:
            continue
        key = str(name).replace("-", "_")
        if key not in SETTINGS:
            raise MadgenError(f"{where}: unknown key '{name}' (known: {', '.join(SETTINGS)}, {PROVENANCE_KEY})")
        checked[key] = check_setting(key, value, where)
    return checked


def config_from_settings(data: str, category: str, settings: Mapping[str, Any],
                         test_data: str | None = None) -> AdConfig:
    """The run config of a category from settings (missing ones at their defaults); its test
    images from ``test_data`` when given."""
    values = default_settings() | dict(settings)
    return AdConfig(data, category,
                    FieldConfig(values["resolution"], values["train_size"], values["steps"], seed=values["seed"],
                                smoothness=values["smoothness"], appearance=values["appearance"]),
                    PoseConfig(candidates=values["candidates"], steps=values["pose_steps"], rays=values["pose_rays"],
                               lr=values["pose_lr"], decay=values["pose_decay"], seed=values["seed"],
                               light=values["pose_light"], retrieval=values["pose_retrieval"]),
                    values["backbone"], values["weights"], values["baseline"], map_stages=values["map_stages"],
                    map_sigma=values["map_sigma"], map_views=values["map_views"], map_radius=values["map_radius"],
                    map_rgb_weight=values["map_rgb_weight"], map_match=values["map_match"],
                    map_normalise=values["map_normalise"], test_data=test_data)


def read_settings(path: Path) -> dict[str, Any]:
    """A settings file (YAML, or JSON by its ``.json`` suffix) checked; errors name the file and key."""
    from ..yamlfile import read_yaml_mapping

    path = Path(path)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise MadgenError(f"{path}: cannot read ({exc.strerror or exc})") from None
        except ValueError as exc:
            raise MadgenError(f"{path}: invalid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise MadgenError(f"{path}: expected a mapping of keys at the top level")
    else:
        data = read_yaml_mapping(path)
    return check_settings(data, str(path))
