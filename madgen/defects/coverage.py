"""Coverage masks: from a supersampled, point-sampled ID mask to the pixels a defect shows in.

The ID pass renders at ``scale`` times the image resolution with one exact sample per
sub-pixel. A mask rule evaluated there gives the defect's sub-pixel footprint; weighting it with
the colour render's own pixel filter (Cycles' Blackman-Harris of width 1.5 px) gives how much of
each image pixel's colour comes from the defect. Pixels at or above ``threshold`` form the mask,
so the anti-aliased fringe of a thin sliver is in it when the defect really tints that pixel.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

#: Cycles' default pixel filter width (Blackman-Harris), in pixels.
PIXEL_FILTER_WIDTH = 1.5


def blackman_harris_taps(scale: int, width: float = PIXEL_FILTER_WIDTH) -> np.ndarray:
    """Normalised 1-D filter weights at sub-pixel offsets ``n / scale`` within the filter's support."""
    reach = int(math.floor(width / 2 * scale - 1e-9))
    offsets = np.arange(-reach, reach + 1) / scale
    x = np.clip(offsets / width + 0.5, 0.0, 1.0)  # position within the window, 0..1
    taps = (0.35875 - 0.48829 * np.cos(2 * np.pi * x) + 0.14128 * np.cos(4 * np.pi * x)
            - 0.01168 * np.cos(6 * np.pi * x))
    return (taps / taps.sum()).astype(np.float32)


def point_sample(layer: np.ndarray, scale: int) -> np.ndarray:
    """The sub-pixel at each image pixel's centre (``scale`` must be odd)."""
    centre = scale // 2
    return layer[centre::scale, centre::scale]


def pixel_coverage(subpixel_mask: np.ndarray, scale: int, width: float = PIXEL_FILTER_WIDTH) -> np.ndarray:
    """Filter-weighted share (0..1) of each image pixel that the sub-pixel mask covers."""
    mask = np.asarray(subpixel_mask, dtype=np.float32)
    if scale == 1:
        return mask
    taps = blackman_harris_taps(scale, width)
    filtered = cv2.sepFilter2D(mask, cv2.CV_32F, taps, taps, borderType=cv2.BORDER_CONSTANT)
    return point_sample(filtered, scale)


def coverage_mask(subpixel_mask: np.ndarray, scale: int, threshold: float) -> np.ndarray:
    """Image pixels whose coverage reaches ``threshold`` (with ``scale == 1``: the mask itself)."""
    if scale == 1:
        return np.asarray(subpixel_mask, dtype=bool)
    return pixel_coverage(subpixel_mask, scale) >= threshold - 1e-6


def object_silhouette(instance_ids: np.ndarray, added_labels: np.ndarray) -> np.ndarray:
    """The object's silhouette from an ID pass at image resolution (point-sampled at pixel centres):
    the pixels whose centre sees the model (its parts or a mesh a defect added)."""
    return (np.asarray(instance_ids) >= 0) | (np.asarray(added_labels) >= 0)
