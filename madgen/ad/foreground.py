"""Where the object is in an image: for carving the field, sampling its rays and estimating poses.

Three sources, best first:

1. **Silhouettes on disk.** madgen writes ``object_masks/<image path>`` when the profile asks
   (``mad-real`` does; ``--set object_masks=true`` on any profile), and an RGBA image carries its
   own alpha. Both are exact, whatever the object's colour or the background.
2. **A plain background, learned from the data.** MAD-Sim's renders are on white. The background
   colour is the median of the training views' borders, and the tolerance is the spread of those
   border pixels (their 99th percentile of distance from that colour) plus a small margin, not a
   fixed threshold: on madgen's and MAD-Sim's exact white the rule keeps a pixel at 254 as object,
   so a white or light-grey toy is not carved away (a fixed "darker than 0.96" rule lost most of
   a white swan).
3. **Segmentation** (OpenCV's GrabCut) of a test image on a background that is not plain (a bench,
   a backdrop, clutter): a border strip is background, the rest is first guessed from colour
   models, then from the field's render at the estimated pose.

Pure numpy and OpenCV; no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Width (pixels) of the border strip read as background.
BORDER = 2
#: A background is plain when at least this share of the border lies within ``PLAIN_SPREAD`` of
#: its median colour (the object may touch a border here and there; a bench and backdrop never pass).
PLAIN_SHARE = 0.5
PLAIN_SPREAD = 0.03
#: Tolerance bounds (0..1 per channel): at least half a level of 255, at most 0.08.
MIN_TOLERANCE = 0.5 / 255
MAX_TOLERANCE = 0.08
#: Margin added to the border's 99th percentile of distance.
MARGIN = 0.75 / 255


def border_pixels(images: np.ndarray, width: int = BORDER) -> np.ndarray:
    """The pixels (P, 3) of a ``width``-pixel strip along the edges of images (N, H, W, 3) or (H, W, 3)."""
    stack = images if images.ndim == 4 else images[None]
    return np.concatenate([stack[:, :width].reshape(-1, 3), stack[:, -width:].reshape(-1, 3),
                           stack[:, width:-width, :width].reshape(-1, 3),
                           stack[:, width:-width, -width:].reshape(-1, 3)])


@dataclass(frozen=True)
class BackgroundRule:
    """A plain background: its colour (0..1 RGB) and the per-channel tolerance around it."""

    colour: tuple[float, float, float]
    tolerance: float

    @classmethod
    def learn(cls, images: np.ndarray) -> "BackgroundRule | None":
        """The rule of images (N, H, W, 3) in 0..1 whose borders are a plain colour, else None."""
        border = border_pixels(images)
        colour = np.median(border, axis=0)
        distance = np.abs(border - colour).max(axis=1)
        near = distance <= PLAIN_SPREAD
        if near.mean() < PLAIN_SHARE:
            return None
        spread = float(np.quantile(distance[near], 0.99))
        tolerance = float(np.clip(spread + MARGIN, MIN_TOLERANCE, MAX_TOLERANCE))
        return cls(tuple(float(c) for c in colour), tolerance)

    def foreground(self, images: np.ndarray) -> np.ndarray:
        """Object masks (..., H, W) of images (..., H, W, 3): some channel off the background,
        with holes filled (see :func:`fill_holes`)."""
        return fill_holes((np.abs(images - np.asarray(self.colour, np.float32)) > self.tolerance).any(axis=-1))

    def plain(self, image: np.ndarray) -> bool:
        """Whether ``image`` (H, W, 3) has this background along its border (a test image on white)."""
        distance = np.abs(border_pixels(image) - np.asarray(self.colour, np.float32)).max(axis=1)
        return bool((distance <= max(PLAIN_SPREAD, self.tolerance)).mean() >= PLAIN_SHARE)

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {"colour": [round(c, 6) for c in self.colour], "tolerance": round(self.tolerance, 6)}


def fill_holes(masks: np.ndarray) -> np.ndarray:
    """Masks (..., H, W) with every background region that does not reach the image's border
    made object. A white toy's brightest faces render at exactly the background's white; left as
    holes, the views from above would carve the toy's top out of its hull. (A true gap enclosed in
    every view is kept in the hull too, which only costs the field a few empty voxels to learn.)"""
    masks = np.asarray(masks, bool)
    flat = masks.reshape(-1, *masks.shape[-2:])
    filled = np.empty_like(flat)
    for number, mask in enumerate(flat):
        count, labels = cv2.connectedComponents((~mask).astype(np.uint8), connectivity=4)
        edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
        open_ = np.isin(labels, edge[edge > 0])
        filled[number] = ~open_
    return filled.reshape(masks.shape)


def composite_on_white(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``image`` (..., H, W, 3) with what ``alpha`` (..., H, W) in 0..1 leaves uncovered replaced by white."""
    a = np.asarray(alpha, np.float32)[..., None]
    return (image * a + (1.0 - a)).astype(np.float32)


def _grabcut(image: np.ndarray, labels: np.ndarray, iterations: int) -> np.ndarray:
    """GrabCut from initial ``labels`` (cv2.GC_*), with OpenCV's random generator reseeded so the
    result depends only on the inputs."""
    pixels = np.ascontiguousarray((np.clip(image, 0, 1) * 255).round().astype(np.uint8))
    labels = labels.astype(np.uint8).copy()
    if not ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).any() or \
            not ((labels == cv2.GC_BGD) | (labels == cv2.GC_PR_BGD)).any():
        return (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
    cv2.setRNGSeed(0)
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(pixels, labels, None, background, foreground, iterations, cv2.GC_INIT_WITH_MASK)
    return (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)


def segment(image: np.ndarray, prior: np.ndarray | None = None, iterations: int = 4) -> np.ndarray:
    """The object's mask (H, W) in ``image`` (H, W, 3, 0..1) on a background that is not plain.

    Without ``prior``, a border strip of 3% of the side is background and the rest is probably
    object (the rig keeps the object well inside the frame). With ``prior`` (H, W bool: e.g. the
    field's render at the estimated pose), its inside, shrunk by 2% of the side, is object, its
    outside grown by 6% is background, and the band between is left to the colour models.
    """
    size = image.shape[0]
    labels = np.full(image.shape[:2], cv2.GC_PR_FGD, np.uint8)
    if prior is None:
        strip = max(2, int(round(0.03 * size)))
        labels[:strip], labels[-strip:], labels[:, :strip], labels[:, -strip:] = (cv2.GC_BGD,) * 4
    else:
        prior = np.asarray(prior, bool)
        inner = max(1, int(round(0.02 * size)))
        outer = max(2, int(round(0.06 * size)))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * inner + 1, 2 * inner + 1))
        sure = cv2.erode(prior.astype(np.uint8), kernel).astype(bool)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * outer + 1, 2 * outer + 1))
        near = cv2.dilate(prior.astype(np.uint8), kernel).astype(bool)
        labels[:] = cv2.GC_PR_BGD
        labels[prior] = cv2.GC_PR_FGD
        labels[sure] = cv2.GC_FGD
        labels[~near] = cv2.GC_BGD
    return _grabcut(image, labels, iterations)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (1.0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0
