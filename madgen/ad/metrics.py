"""Anomaly-detection metrics: image AUROC, pixel AUROC, segmentation pixel AUROC and AUPRO.

Image AUROC is exact (rank-based, ties counted half), equal to scikit-learn's
``roc_auc_score``. The pixel metrics stream: each image adds its pixels to histograms of
quantised scores, so 300 maps of 400x400 (48 M pixels) need a few MB and a second or two, not
a sort of every pixel. Scores are quantised to ``bins`` levels between the given bounds (maps
are min-max normalised to 0..1 before evaluation); AUROC of the quantised scores is exact, so it
equals scikit-learn on scores that already lie on the grid.

- Pixel AUROC: every pixel of every test image (good images have all-zero masks).
- Segmentation pixel AUROC (PAD seed, section 5.4): only pixels inside the object's bounding
  box, found by segmenting the test image from its white background.
- AUPRO (MVTec AD): the mean overlap of each connected ground-truth region with the pixels
  above a threshold, against the false-positive rate over normal pixels, integrated up to
  ``max_fpr`` (0.3) and divided by it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np

DEFAULT_BINS = 1 << 16
AUPRO_BINS = 4096
MAX_FPR = 0.3
#: A pixel is background when every channel is at least this (out of 255).
WHITE_LEVEL = 250


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Exact ROC AUC of ``scores`` for binary ``labels`` (the Mann-Whitney U statistic)."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel().astype(bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        raise ValueError("AUROC needs both positive and negative samples")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    # average ranks over ties
    starts = np.r_[0, np.nonzero(np.diff(sorted_scores))[0] + 1]
    ends = np.r_[starts[1:], len(scores)]
    averaged = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(averaged, ends - starts)
    u = ranks[labels].sum() - positives * (positives + 1) / 2.0
    return float(u / (positives * negatives))


#: :func:`bootstrap_aurocs`: resamples and the seed of their draws (fixed, so metrics files are reproducible).
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def bootstrap_aurocs(score_sets: Sequence[np.ndarray], labels: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES,
                     seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """Image AUROCs (``resamples``, len(score_sets)) of a stratified bootstrap of the test images:
    each resample draws as many anomalous and as many good images as there are, with replacement,
    and every score set (method) is measured on the same draw, so differences between methods
    are paired. The spread says how far an AUROC measured on this many images can move by chance."""
    labels = np.asarray(labels).ravel().astype(bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        raise ValueError("AUROC needs both positive and negative samples")
    rng = np.random.default_rng(seed)
    uniform_p, uniform_n = np.full(positives, 1.0 / positives), np.full(negatives, 1.0 / negatives)
    take_p = rng.multinomial(positives, uniform_p, size=resamples).astype(np.float64)
    take_n = rng.multinomial(negatives, uniform_n, size=resamples).astype(np.float64)
    result = np.empty((resamples, len(score_sets)))
    for column, scores in enumerate(score_sets):
        scores = np.asarray(scores, dtype=np.float64).ravel()
        high, low = scores[labels][:, None], scores[~labels][None, :]
        wins = (high > low) + 0.5 * (high == low)  # (positives, negatives)
        result[:, column] = ((take_p @ wins) * take_n).sum(axis=1) / (positives * negatives)
    return result


def interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` interval of bootstrap ``values`` (percentiles)."""
    tail = 100.0 * (1.0 - level) / 2.0
    return float(np.percentile(values, tail)), float(np.percentile(values, 100.0 - tail))


def auroc_from_histograms(positive: np.ndarray, negative: np.ndarray) -> float:
    """Exact ROC AUC of binned scores: P(pos > neg) + 0.5 P(pos == neg), bins in ascending order."""
    positive = np.asarray(positive, dtype=np.float64)
    negative = np.asarray(negative, dtype=np.float64)
    total_pos, total_neg = positive.sum(), negative.sum()
    if total_pos == 0 or total_neg == 0:
        raise ValueError("AUROC needs both positive and negative samples")
    below = np.cumsum(negative) - negative  # negatives strictly below each bin
    return float((positive * (below + 0.5 * negative)).sum() / (total_pos * total_neg))


def object_box(image_rgb: np.ndarray, white_level: int = WHITE_LEVEL) -> tuple[int, int, int, int] | None:
    """The bounding box (top, left, bottom, right; exclusive) of the non-white pixels, or None."""
    foreground = (np.asarray(image_rgb)[..., :3] < white_level).any(axis=-1)
    rows, cols = np.nonzero(foreground.any(axis=1))[0], np.nonzero(foreground.any(axis=0))[0]
    if not len(rows) or not len(cols):
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


@dataclass
class PixelMetrics:
    """Streams anomaly maps and masks in; gives pixel AUROC, segmentation AUROC and AUPRO."""

    low: float = 0.0
    high: float = 1.0
    bins: int = DEFAULT_BINS
    aupro_bins: int = AUPRO_BINS
    positive: np.ndarray = field(init=False)
    negative: np.ndarray = field(init=False)
    box_positive: np.ndarray = field(init=False)
    box_negative: np.ndarray = field(init=False)
    regions: list[np.ndarray] = field(init=False, default_factory=list)
    images: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if not self.high > self.low:
            raise ValueError("high must exceed low")
        if self.bins % self.aupro_bins:
            raise ValueError("bins must be a multiple of aupro_bins")
        self.positive = np.zeros(self.bins, np.int64)
        self.negative = np.zeros(self.bins, np.int64)
        self.box_positive = np.zeros(self.bins, np.int64)
        self.box_negative = np.zeros(self.bins, np.int64)

    def quantise(self, scores: np.ndarray, bins: int | None = None) -> np.ndarray:
        """Bin indexes of ``scores`` (clipped to the bounds)."""
        bins = bins or self.bins
        scaled = (np.asarray(scores, dtype=np.float64) - self.low) / (self.high - self.low)
        return np.clip(np.floor(scaled * bins), 0, bins - 1).astype(np.int64)

    def add(self, anomaly_map: np.ndarray, mask: np.ndarray, image_rgb: np.ndarray | None = None) -> None:
        """Add one test image: its anomaly map, its ground-truth mask and (for the box) its pixels."""
        anomaly_map = np.asarray(anomaly_map)
        mask = np.asarray(mask).astype(bool)
        if anomaly_map.shape != mask.shape:
            raise ValueError(f"anomaly map {anomaly_map.shape} and mask {mask.shape} differ in shape")
        index = self.quantise(anomaly_map)
        self.positive += np.bincount(index[mask], minlength=self.bins)
        self.negative += np.bincount(index[~mask], minlength=self.bins)
        if image_rgb is not None:
            box = object_box(image_rgb)
            if box is not None:
                top, left, bottom, right = box
                inner, inner_mask = index[top:bottom, left:right], mask[top:bottom, left:right]
                self.box_positive += np.bincount(inner[inner_mask], minlength=self.bins)
                self.box_negative += np.bincount(inner[~inner_mask], minlength=self.bins)
        if mask.any():
            coarse = self.quantise(anomaly_map, self.aupro_bins)
            count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
            for region in range(1, count):
                self.regions.append(np.bincount(coarse[labels == region], minlength=self.aupro_bins))
        self.images += 1

    def pixel_auroc(self) -> float:
        """AUROC over every pixel added."""
        return auroc_from_histograms(self.positive, self.negative)

    def segmentation_auroc(self) -> float:
        """AUROC over the pixels inside each image's object bounding box."""
        return auroc_from_histograms(self.box_positive, self.box_negative)

    def aupro(self, max_fpr: float = MAX_FPR) -> float:
        """Area under the per-region-overlap curve up to ``max_fpr``, divided by ``max_fpr``."""
        if not self.regions:
            raise ValueError("AUPRO needs at least one anomalous region")
        normal = self.negative.reshape(self.aupro_bins, self.bins // self.aupro_bins).sum(axis=1)
        if normal.sum() == 0:
            raise ValueError("AUPRO needs normal pixels")
        # thresholds at each bin's lower edge, from the highest down: a pixel is "anomalous" at
        # threshold k when its bin is k or above
        fpr = np.cumsum(normal[::-1])[::-1] / normal.sum()
        regions = np.array(self.regions, dtype=np.float64)
        overlap = (np.cumsum(regions[:, ::-1], axis=1)[:, ::-1] / regions.sum(axis=1, keepdims=True)).mean(axis=0)
        # the curve from (0, 0) (threshold above every score) through descending thresholds
        fpr = np.r_[0.0, fpr[::-1]]
        pro = np.r_[0.0, overlap[::-1]]
        return _area_up_to(fpr, pro, max_fpr) / max_fpr


def _area_up_to(x: np.ndarray, y: np.ndarray, limit: float) -> float:
    """Trapezoidal area under the piecewise-linear curve (x ascending) from x=0 to ``limit``."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    keep = x <= limit
    xs, ys = list(x[keep]), list(y[keep])
    if xs[-1] < limit:
        later = np.nonzero(x > limit)[0]
        if len(later):
            j = later[0]
            t = (limit - x[j - 1]) / (x[j] - x[j - 1])
            xs.append(limit)
            ys.append(y[j - 1] + t * (y[j] - y[j - 1]))
    return float(np.trapz(ys, xs))
