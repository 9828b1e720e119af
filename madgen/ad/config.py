"""OmniposeAD settings: typed, JSON-serialisable, and free of torch so the CLI starts fast."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

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

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return asdict(self)


@dataclass(frozen=True)
class PoseConfig:
    """Retrieval and refinement settings."""

    thumbnail: int = 32
    candidates: int = 2
    steps: int = 40
    rays: int = 1024
    lr: float = 0.01
    size: int = 64
    seed: int = 0

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return asdict(self)


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
    map_rgb_weight: float = 30000.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AdConfig":
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        values["field"] = FieldConfig(**values.get("field", {}))
        values["pose"] = PoseConfig(**values.get("pose", {}))
        return cls(**values)

    @property
    def folder(self) -> Path:
        """The category folder."""
        return Path(self.data) / self.category

    def scoring_key(self) -> str:
        """A hash of everything that decides the scores (not the data folder's location)."""
        parts = {k: v for k, v in self.to_dict().items() if k != "data"}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
