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
- the RGB term is weighted (``rgb_weight``, 30,000 by default). lite0's summed squared feature
  differences are about 10^5 times the RGB term's on the object, so at weight 1 a stain's colour
  counted for nothing; with the extra references, colour no longer picks up the render's
  softness and is worth weighing in.
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


def _chw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32))


def anomaly_map(extractor: FeatureExtractor, observed: np.ndarray, references: Sequence[np.ndarray],
                stages: int | None = None, sigma: float = SIGMA, radius: int = 0,
                rgb_weight: float = 1.0) -> np.ndarray:
    """The smoothed anomaly map (224, 224) of ``observed`` against one or more ``references``
    (all 224 x 224 x 3, 0..1): per reference, ``rgb_weight`` times the squared RGB difference plus
    the feature distance of the finest ``stages`` backbone stages (all when ``None``), both aligned
    within ``radius`` cells; then the per-pixel minimum over the references, blurred with ``sigma``."""
    if not references:
        raise ValueError("anomaly_map needs at least one reference image")
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
