"""The anomaly map of a test image against reference images of its estimated pose.

As in the released OmniposeAD scoring: both images at 224 x 224, frozen ImageNet features of
several stages upsampled to 224 and their squared differences summed over channels and stages,
plus the per-pixel squared RGB difference; then a Gaussian blur (sigma 4). Maps are min-max
normalised over a category's test set afterwards; an image's score is its map's maximum.

Departures, measured (README):
- only the finest ``map_stages`` stages are summed, and the blur is sigma 2. The deepest stages
  see 16-32 px cells, where a reference render that is a little soft or a pose a degree off
  differs all along the object's outline, which drowns small defects; and MAD-Sim's defects are
  small enough at 224 px that sigma 4 spreads them out;
- besides the field's render, the training views nearest to the estimated pose are references
  too, and each pixel keeps its smallest distance over the references, each matched within a
  cell or so (``radius``). A defect is in none of them, while the render's softness and a view
  5-10 degrees off rarely coincide, so good images score lower and defects do not;
- the RGB term can be weighted (``rgb_weight``; 1 by default, as in the seed, which is what
  ``madgen ad tune`` chose on validation builds of Bird and Gorilla against 30,000). lite0's
  summed squared feature differences are about 10^5 times the RGB term's on the object, so at
  weight 1 colour counts for little and at 30,000 about as much as the features;
- optionally (``normalise="local"``; off by default, chosen on validation builds for
  photographs), both images are first divided by their local brightness
  (:func:`normalise_light`), so shading that changes smoothly with a light that moved counts
  for little, while edges, stains and the outline's changes stay;
- optionally (``match="gain"``; off by default, chosen on validation builds for photographs),
  each reference's object is first given the test image's exposure and white balance: a
  per-channel gain and offset fitted, robustly, on the pixels that are object in the reference
  (see :func:`match_colour`). Under a light, exposure and white balance that change from image
  to image, the field's render and the training views otherwise differ from a good test image
  all over the object.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
import torch

from .features import FeatureExtractor, aligned_distance, feature_distance

MAP_SIZE = 224
SIGMA = 4.0


def gaussian_smooth(values: np.ndarray, sigma: float = SIGMA) -> np.ndarray:
    """Gaussian blur with a kernel of 4 sigma on each side."""
    radius = int(4 * sigma + 0.5)
    return cv2.GaussianBlur(values.astype(np.float32), (2 * radius + 1, 2 * radius + 1), sigma,
                            borderType=cv2.BORDER_REFLECT)


#: Bounds of a fitted gain; pixels eroded from the reference's outline before the fit.
GAIN_RANGE = (0.25, 4.0)
MATCH_ERODE = 3


def match_colour(reference: np.ndarray, opacity: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """``reference`` (H, W, 3, 0..1) with its object (``opacity`` H x W, 0..1) given the colours
    of ``observed``: per channel, ``observed ~ gain * reference + offset`` fitted by least squares
    on the reference's object pixels (``opacity`` 1, eroded by ``MATCH_ERODE`` so a pose a little
    off does not fit object to background), then again without the pixels whose residual is over
    2.5 robust standard deviations (a defect, a highlight). The fit is applied in proportion to
    ``opacity``; the reference's background is left as it is. Fewer than 50 object pixels: the
    reference unchanged."""
    inside = cv2.erode((opacity >= 0.99).astype(np.uint8), np.ones((3, 3), np.uint8), iterations=MATCH_ERODE) > 0
    if inside.sum() < 50:
        return reference
    ref = reference[inside].astype(np.float64)
    obs = observed[inside].astype(np.float64)
    matched = reference.astype(np.float64).copy()
    weight = opacity.astype(np.float64)
    for channel in range(3):
        x, y = ref[:, channel], obs[:, channel]
        keep = np.ones(x.shape, bool)
        gain, offset = 1.0, 0.0
        for _ in range(2):
            xs, ys = x[keep], y[keep]
            spread = xs.var()
            if xs.size < 50 or spread < 1e-8:
                gain, offset = 1.0, float(np.mean(ys - xs)) if xs.size else 0.0
            else:
                gain = float(np.clip(np.mean((xs - xs.mean()) * (ys - ys.mean())) / spread, *GAIN_RANGE))
                offset = float(ys.mean() - gain * xs.mean())
            residual = y - (gain * x + offset)
            scale = 1.4826 * np.median(np.abs(residual - np.median(residual))) + 1e-6
            keep = np.abs(residual) <= 2.5 * scale
        fitted = gain * matched[..., channel] + offset
        matched[..., channel] += weight * (fitted - matched[..., channel])
    return np.clip(matched, 0.0, 1.0).astype(reference.dtype)


#: :func:`normalise_light`: the blur of the local brightness (pixels at 224), its floor, and the
#: scale that brings a flat patch to 0.4 (a mid grey, as the backbone expects).
LIGHT_SIGMA = 8.0
LIGHT_FLOOR = 0.05
LIGHT_LEVEL = 0.4


def normalise_light(image: np.ndarray) -> np.ndarray:
    """``image`` (H, W, 3, 0..1) divided by its local brightness: the mean of the channels blurred
    with a Gaussian of ``LIGHT_SIGMA`` px (plus ``LIGHT_FLOOR``, so black stays black), times
    ``LIGHT_LEVEL``, clipped to 1. Light that falls off smoothly across the object (a lamp moved,
    a dimmer exposure) divides out; what changes within a few pixels does not."""
    brightness = cv2.GaussianBlur(image.mean(axis=2).astype(np.float32), (0, 0), LIGHT_SIGMA,
                                  borderType=cv2.BORDER_REFLECT)
    return np.clip(image / (brightness + LIGHT_FLOOR)[..., None] * LIGHT_LEVEL, 0.0, 1.0).astype(np.float32)


def normalised(images: Sequence[np.ndarray], normalise: str) -> list[np.ndarray]:
    """``images`` as the map compares them: as they are (``normalise`` none) or each through
    :func:`normalise_light` (local)."""
    if normalise == "local":
        return [normalise_light(image) for image in images]
    if normalise != "none":
        raise ValueError(f"normalise {normalise!r}: none or local")
    return list(images)


def _chw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32))


def anomaly_map(extractor: FeatureExtractor, observed: np.ndarray, references: Sequence[np.ndarray],
                stages: int | None = None, sigma: float = SIGMA, radius: int = 0,
                rgb_weight: float = 1.0, normalise: str = "none") -> np.ndarray:
    """The smoothed anomaly map (224, 224) of ``observed`` against one or more ``references``
    (all 224 x 224 x 3, 0..1; with ``normalise`` local, each first through
    :func:`normalise_light`): per reference, ``rgb_weight`` times the squared RGB difference plus
    the feature distance of the finest ``stages`` backbone stages (all when ``None``), both aligned
    within ``radius`` cells; then the per-pixel minimum over the references, blurred with ``sigma``."""
    if not references:
        raise ValueError("anomaly_map needs at least one reference image")
    observed, *references = normalised([observed, *references], normalise)
    image = _chw(observed).to(extractor.device)
    features = extractor(image[None], stages)
    best: torch.Tensor | None = None
    for reference in references:
        other = _chw(reference).to(extractor.device)
        total = rgb_weight * aligned_distance(image[None], other[None], radius)[0, 0]
        if features:
            total = total + feature_distance(extractor, features, other, stages, radius)
        best = total if best is None else torch.minimum(best, total)
    assert best is not None
    return gaussian_smooth(best.cpu().numpy(), sigma)


def heat_map_rgb(values: np.ndarray) -> np.ndarray:
    """A 0..1 map as a JET colour image (uint8 RGB)."""
    scaled = np.clip(values * 255.0, 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(scaled, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
