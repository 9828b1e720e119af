"""Mask fidelity: how well a defect's mask matches the pixels the defect actually changed.

The changed pixels are those whose largest channel difference between the defective image and
the defect-free image of the same pose and seed exceeds ``threshold`` (out of 255); the seed is
shared, so render noise largely cancels. Where it does not (a changed scene sends light paths
elsewhere, which an undenoised render shows as isolated speckles), ``despeckle`` drops changed
regions smaller than ``SPECKLE_PX`` pixels. Fidelity is the IoU of mask and changed pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

#: The default change threshold, out of 255.
CHANGE_THRESHOLD = 12
#: With ``despeckle``, 8-connected changed regions smaller than this are noise.
SPECKLE_PX = 3


def changed_pixels(good_rgb: np.ndarray, defect_rgb: np.ndarray, threshold: int = CHANGE_THRESHOLD,
                   despeckle: bool = False) -> np.ndarray:
    """Pixels whose largest channel difference exceeds ``threshold`` (speckles dropped on request)."""
    changed = np.abs(defect_rgb.astype(np.int16) - good_rgb.astype(np.int16)).max(axis=2) > threshold
    if despeckle and changed.any():
        count, labels, stats, _ = cv2.connectedComponentsWithStats(changed.astype(np.uint8), connectivity=8)
        keep = stats[:, cv2.CC_STAT_AREA] >= SPECKLE_PX
        keep[0] = False
        changed = keep[labels]
    return changed


def mask_iou(good_rgb: np.ndarray, defect_rgb: np.ndarray, mask: np.ndarray,
             threshold: int = CHANGE_THRESHOLD, despeckle: bool = False, region: np.ndarray | None = None) -> float:
    """IoU between ``mask`` and the changed pixels (1.0 when both are empty); only changes inside
    ``region`` count when it is given (the object, where a scene has a background that a removed
    part's shadow or reflection also changes)."""
    changed = changed_pixels(good_rgb, defect_rgb, threshold, despeckle)
    if region is not None:
        changed &= np.asarray(region, dtype=bool)
    mask = np.asarray(mask, dtype=bool)
    union = int((changed | mask).sum())
    return float((changed & mask).sum() / union) if union else 1.0
