"""The seed's section 4 attributes: shape complexity and texture complexity.

- Shape complexity: a model's triangle count, mapped linearly to 0-100 across the categories
  compared (the fewest triangles give 0, the most 100).
- Texture complexity: the colour contrast ``sqrt(std(a)^2 + std(b)^2)`` of the CIE Lab image over
  the object's pixels (the background is white, or transparent in an RGBA image).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import cv2
import numpy as np
from PIL import Image

from .errors import MadgenError

#: A pixel counts as white background when every channel is at least this (0-255).
BACKGROUND_LEVEL = 250
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def shape_complexity(triangle_counts: Mapping[str, int]) -> dict[str, float]:
    """Map triangle counts to 0-100 across the given models (all 0 when they are equal)."""
    if not triangle_counts:
        return {}
    low = min(triangle_counts.values())
    high = max(triangle_counts.values())
    span = high - low
    return {name: (100.0 * (count - low) / span if span else 0.0) for name, count in triangle_counts.items()}


def object_mask(image: np.ndarray) -> np.ndarray:
    """Object pixels of an RGB(A) uint8 image: opaque where there is alpha, else not white."""
    if image.ndim == 3 and image.shape[2] == 4:
        return image[:, :, 3] > 0
    return (image[:, :, :3] < BACKGROUND_LEVEL).any(axis=2)


def texture_complexity(image: np.ndarray) -> float:
    """Colour contrast ``sqrt(std(a)^2 + std(b)^2)`` of the Lab image over object pixels.

    ``image`` is uint8 RGB or RGBA; a and b are in OpenCV's 8-bit Lab scale shifted to the
    usual -128..127 range. An image with no object pixels scores 0.
    """
    mask = object_mask(image)
    if not mask.any():
        return 0.0
    lab = cv2.cvtColor(np.ascontiguousarray(image[:, :, :3]), cv2.COLOR_RGB2LAB).astype(np.float64)
    a = lab[:, :, 1][mask]
    b = lab[:, :, 2][mask]
    return float(np.sqrt(a.std() ** 2 + b.std() ** 2))


def image_files(folder: Path) -> list[Path]:
    """The image files directly inside ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def folder_texture_complexity(folder: Path) -> float:
    """Mean texture complexity over the images of a folder."""
    files = image_files(folder)
    if not files:
        raise MadgenError(f"no images in {folder}")
    values = []
    for path in files:
        try:
            with Image.open(path) as opened:
                has_alpha = opened.mode in ("RGBA", "LA") or "transparency" in opened.info
                pixels = np.asarray(opened.convert("RGBA" if has_alpha else "RGB"))
        except (OSError, ValueError) as exc:
            raise MadgenError(f"{path}: unreadable image ({exc})") from None
        values.append(texture_complexity(pixels))
    return float(np.mean(values))


def category_image_folder(images: Path, category: str) -> Path | None:
    """Where a category's defect-free views are under ``images`` (a MAD-Sim root), if present."""
    for candidate in (images / category / "train" / "good", images / category):
        if candidate.is_dir() and image_files(candidate):
            return candidate
    return None
