"""Image pixels to deterministic PNG files (no time stamps, no render metadata)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from .atomic import write_bytes_atomic

#: zlib level used for every PNG, so the same pixels always give the same bytes.
PNG_COMPRESS_LEVEL = 6


def composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """Composite straight-alpha uint8 RGBA onto pure white; returns uint8 RGB."""
    alpha = rgba[:, :, 3:4].astype(np.uint32)
    colour = rgba[:, :, :3].astype(np.uint32)
    # integer arithmetic with round-half-up: exact and platform independent
    return ((colour * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)


def png_bytes(pixels: np.ndarray) -> bytes:
    """Encode uint8 pixels (H, W), (H, W, 3) or (H, W, 4) as PNG bytes without metadata."""
    array = np.ascontiguousarray(pixels, dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def write_png_atomic(path: Path, pixels: np.ndarray) -> None:
    """Write pixels as a PNG file atomically."""
    write_bytes_atomic(path, png_bytes(pixels))


def mask_pixels(mask: np.ndarray) -> np.ndarray:
    """A boolean mask as MAD-Sim mask pixels: single channel, 0 or 255."""
    return np.where(mask, 255, 0).astype(np.uint8)


#: The mask overlay's colour and strength.
OVERLAY_RGB = np.array([230, 20, 20])
OVERLAY_ALPHA = 0.6


def overlay_mask(rgb: np.ndarray, mask: np.ndarray, outline: int = 0) -> np.ndarray:
    """Tint the masked pixels of an RGB image red; with ``outline`` > 0, also draw the mask's outline
    that many pixels wide, so a mask on a red or pink part still shows."""
    shown = rgb.astype(np.float64)
    shown[mask] = shown[mask] * (1 - OVERLAY_ALPHA) + OVERLAY_RGB * OVERLAY_ALPHA
    result = np.rint(shown).astype(np.uint8)
    if outline > 0 and mask.any():
        import cv2

        contours, _ = cv2.findContours(np.asarray(mask, np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(result, contours, -1, (255, 0, 0), outline)
        inner = cv2.erode(np.asarray(mask, np.uint8), np.ones((3, 3), np.uint8))
        contours, _ = cv2.findContours(inner, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(result, contours, -1, (255, 255, 255), 1)
    return result
