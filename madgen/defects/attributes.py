"""Per-image defect attributes: how large, how contrasting and where a defect is, for analysis.

Recorded in the manifest for every anomalous image, so a user can ask how a detector does on
small, low-contrast or interior defects:

- ``mask_px``, ``mask_fraction``: the mask's pixels and its share of the image;
- ``contrast_delta_e``: the mean CIE76 colour difference (Lab, from sRGB) between the surface
  colour each mask pixel showed before and shows after the defect: a removed part against what
  is behind it (or the white background), a burr (in its part's colour) against what it hides, a
  stain's colour mixed in by its opacity against the part's own. Surface colours, not shading:
  the contrast of the defect itself, independent of the light;
- ``parts``, ``instances``, ``groups``: the part files, instance indexes and named groups involved
  (targets, and the parts a stain runs on over);
- ``touches_outline``: whether the mask reaches the object's outline (a mask pixel next to the
  background of the defect-free view, or one where the defective view shows background).

Pure numpy and OpenCV; the renderer supplies the ID layers.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..ldraw import Assembly
from .plan import DefectPlan

BACKGROUND_RGB = (1.0, 1.0, 1.0)


def _hex(text: str) -> tuple[float, float, float]:
    value = int(text[1:], 16)
    return ((value >> 16) & 255) / 255.0, ((value >> 8) & 255) / 255.0, (value & 255) / 255.0


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIE Lab of (..., 3) sRGB colours in 0..1."""
    pixels = np.asarray(rgb, dtype=np.float32).reshape(-1, 1, 3)
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2LAB).reshape(np.shape(rgb)).astype(np.float64)


def involved_instances(plan: DefectPlan) -> list[int]:
    """The instances a plan touches: its targets and the parts a stain spreads to."""
    spread = plan.params.get("spread", ()) if isinstance(plan.params, dict) else ()
    return sorted({int(i) for i in (*plan.targets, *spread)})


def defect_attributes(plan: DefectPlan, mask: np.ndarray, good_ids: np.ndarray, ids: np.ndarray,
                      added: np.ndarray, stain: np.ndarray, assembly: Assembly) -> dict[str, Any]:
    """The attributes of one defective image (see the module docstring).

    ``good_ids`` / ``ids``: the instance each pixel sees in the defect-free and the defective view
    (-1: background); ``added``: the label of an added mesh (-1: none); ``stain``: the stain's
    opacity; all at the image's resolution, like ``mask``.
    """
    mask = np.asarray(mask, dtype=bool)
    colours = np.array([*(assembly.colours.resolve(i.colour).rgb for i in assembly.instances), BACKGROUND_RGB],
                       dtype=np.float64).reshape(-1, 3)
    involved = involved_instances(plan)
    delta_e = 0.0
    if mask.any():
        before = colours[good_ids[mask]]  # -1 picks the background, the last row
        after = colours[ids[mask]]
        if plan.targets:
            after = np.where((added[mask] >= 0)[:, None], colours[plan.targets[0]], after)
        stain_colour = plan.params.get("colour") if isinstance(plan.params, dict) else None
        if isinstance(stain_colour, str) and stain_colour.startswith("#"):
            weight = np.where(np.isin(ids[mask], involved), np.clip(stain[mask], 0.0, 1.0), 0.0)[:, None]
            after = after * (1.0 - weight) + np.array(_hex(stain_colour)) * weight
        delta_e = float(np.linalg.norm(to_lab(before) - to_lab(after), axis=1).mean())
    near = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    touches = bool((near & (good_ids < 0)).any() or (mask & (ids < 0)).any())
    instances = assembly.instances
    return {
        "mask_px": int(mask.sum()),
        "mask_fraction": round(float(mask.mean()), 6),
        "contrast_delta_e": round(delta_e, 3),
        "parts": sorted({instances[i].part_id for i in involved}),
        "instances": involved,
        "groups": sorted({instances[i].group for i in involved if instances[i].group}),
        "touches_outline": touches,
    }

