"""Defect sizes in image-area terms: a distribution of mask areas, as shares of the image.

MAD-Sim's masks cover a median 0.81% of the image, 0.12% at the 10th percentile and 2.3% at the
90th (measured on its published test images): mostly small-to-medium defects with a real tail of
large ones, skewed towards the large side in log terms. An :class:`AreaDistribution` is given by
those three quantiles and is sampled as a *split* log-normal: the median's logarithm plus a
standard normal draw scaled by the lower half's spread below it and the upper half's above it,
so each quantile is met exactly; draws are clipped to ``[low, high]``.

A defect kind draws the area it aims for from its template's distribution and turns it into a
size in the model's own units at the view's scale (:meth:`madgen.defects.PlanContext.pixels_per_ldu`),
so a defect covers the same share of the image whatever the model's size or framing. Pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import MadgenError

#: The standard normal's 90th percentile.
Z90 = 1.2815515655446004


@dataclass(frozen=True)
class AreaDistribution:
    """Mask areas as shares of the image: quantiles ``p10 < p50 < p90``, clipped to ``[low, high]``."""

    p10: float
    p50: float
    p90: float
    low: float
    high: float

    @property
    def sigma_below(self) -> float:
        """The log-normal spread below the median."""
        return math.log(self.p50 / self.p10) / Z90

    @property
    def sigma_above(self) -> float:
        """The log-normal spread above the median."""
        return math.log(self.p90 / self.p50) / Z90

    def from_normal(self, z: np.ndarray | float) -> np.ndarray:
        """The area at standard-normal score(s) ``z`` (clipped)."""
        z = np.asarray(z, dtype=np.float64)
        log_area = math.log(self.p50) + z * np.where(z < 0, self.sigma_below, self.sigma_above)
        return np.clip(np.exp(log_area), self.low, self.high)

    def sample(self, rng: np.random.Generator) -> float:
        """One area."""
        return float(self.from_normal(rng.standard_normal()))

    def to_dict(self) -> dict[str, float]:
        """The YAML/JSON form."""
        return {"p10": self.p10, "p50": self.p50, "p90": self.p90, "min": self.low, "max": self.high}


@dataclass(frozen=True)
class AreaSpec:
    """A template parameter: an :class:`AreaDistribution` written as ``{p10, p50, p90, min, max}``."""

    description: str = ""

    def check(self, value: Any, where: str) -> AreaDistribution:
        """Validate and return the distribution."""
        from .templates import subkey

        keys = ("p10", "p50", "p90", "min", "max")
        if not isinstance(value, dict) or set(value) != set(keys):
            raise MadgenError(f"{where}: expected a mapping with exactly the keys {', '.join(keys)} "
                              f"(shares of the image, 0..1), got {value!r}")
        numbers = {}
        for key in keys:
            item = value[key]
            if isinstance(item, bool) or not isinstance(item, (int, float)) or not 0 < float(item) < 1:
                raise MadgenError(f"{subkey(where, key)}: expected a share of the image within (0, 1), got {item!r}")
            numbers[key] = float(item)
        if not numbers["min"] <= numbers["p10"] < numbers["p50"] < numbers["p90"] <= numbers["max"]:
            raise MadgenError(f"{where}: need min <= p10 < p50 < p90 <= max, got {value!r}")
        return AreaDistribution(numbers["p10"], numbers["p50"], numbers["p90"], numbers["min"], numbers["max"])
