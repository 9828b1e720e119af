"""A pose-unaware PatchCore-style baseline with the same backbone.

Patch features of the training images (two middle stages, each averaged over its 3 x 3
neighbourhood, the coarser one upsampled to the finer, concatenated) form a memory bank, cut to
``bank_size`` patches by greedy farthest-point sampling on a random projection. A test patch's
score is its distance to the nearest bank patch; the map is upsampled to 224 and smoothed like
OmniposeAD's. It never sees a pose, which is the comparison the PAD paper draws.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import MadgenError
from .anomaly import MAP_SIZE, gaussian_smooth
from .features import FeatureExtractor

#: Which stages (finest first) make the patch features: strides 8 and 16, as PatchCore's layer2/3.
STAGES = (2, 3)
#: The greedy coreset is chosen among at most this many randomly drawn patches.
CANDIDATES = 40_000


def patch_features(extractor: FeatureExtractor, images: np.ndarray) -> torch.Tensor:
    """Patch features (N, C, h, w) of images (N, 224, 224, 3) in 0..1."""
    if extractor.model is None:
        raise MadgenError("the PatchCore baseline needs a backbone (not --backbone none)")
    batch = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32))
    stages = extractor(batch)
    picked = [F.avg_pool2d(stages[i], 3, stride=1, padding=1) for i in STAGES]
    size = picked[0].shape[-2:]
    return torch.cat([picked[0]] + [F.interpolate(p, size=size, mode="bilinear", align_corners=False)
                                    for p in picked[1:]], dim=1)


def greedy_coreset(features: torch.Tensor, count: int, seed: int = 0) -> torch.Tensor:
    """Indexes of ``count`` rows by farthest-point sampling (on a 32-d random projection), drawn
    from at most ``CANDIDATES`` random rows."""
    generator = torch.Generator().manual_seed(seed)
    pool = torch.randperm(len(features), generator=generator)[:CANDIDATES].to(features.device)
    if count >= len(pool):
        return pool
    projection = torch.randn(features.shape[1], min(32, features.shape[1]), generator=generator)
    reduced = features[pool] @ projection.to(features.device)
    chosen = [0]
    distance = ((reduced - reduced[0]) ** 2).sum(dim=1)
    for _ in range(count - 1):
        index = int(torch.argmax(distance))
        chosen.append(index)
        distance = torch.minimum(distance, ((reduced - reduced[index]) ** 2).sum(dim=1))
    return pool[torch.tensor(chosen, device=features.device)]


class PatchCore:
    """Memory bank of training patches; scores test images by nearest-patch distance."""

    def __init__(self, extractor: FeatureExtractor, train_images: np.ndarray, bank_size: int = 4096,
                 batch: int = 16, seed: int = 0) -> None:
        self.extractor = extractor
        chunks = [patch_features(extractor, train_images[i:i + batch]) for i in range(0, len(train_images), batch)]
        features = torch.cat(chunks)
        flat = features.permute(0, 2, 3, 1).reshape(-1, features.shape[1])
        keep = greedy_coreset(flat, bank_size, seed)
        self.bank = flat[keep].contiguous()

    def anomaly_map(self, image: np.ndarray) -> np.ndarray:
        """The smoothed 224 x 224 map of one image (224, 224, 3)."""
        features = patch_features(self.extractor, image[None])[0]
        channels, height, width = features.shape
        queries = features.permute(1, 2, 0).reshape(-1, channels)
        nearest = torch.cat([torch.cdist(queries[i:i + 1024], self.bank).min(dim=1).values
                             for i in range(0, len(queries), 1024)])
        patch_map = nearest.reshape(1, 1, height, width)
        full = F.interpolate(patch_map, size=(MAP_SIZE, MAP_SIZE), mode="bilinear", align_corners=False)[0, 0]
        return gaussian_smooth(full.cpu().numpy())
