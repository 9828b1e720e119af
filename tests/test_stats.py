"""Section 4 attributes: shape complexity mapping and Lab texture complexity."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from madgen.errors import MadgenError
from madgen.stats import folder_texture_complexity, object_mask, shape_complexity, texture_complexity


def test_shape_complexity_maps_triangles_to_0_100() -> None:
    assert shape_complexity({"a": 1000, "b": 3000, "c": 2000}) == {"a": 0.0, "b": 100.0, "c": 50.0}
    assert shape_complexity({"a": 5, "b": 5}) == {"a": 0.0, "b": 0.0}
    assert shape_complexity({}) == {}


def _lab_ab(rgb: tuple[int, int, int]) -> np.ndarray:
    return cv2.cvtColor(np.array([[rgb]], np.uint8), cv2.COLOR_RGB2LAB)[0, 0, 1:].astype(float)


def test_texture_complexity_of_two_colour_object_matches_formula() -> None:
    image = np.full((20, 20, 3), 255, np.uint8)
    red, blue = (200, 20, 20), (20, 40, 200)
    image[5:15, 2:10] = red
    image[5:15, 10:18] = blue
    a_red, b_red = _lab_ab(red)
    a_blue, b_blue = _lab_ab(blue)
    # equal halves: the standard deviation of each channel is half the difference
    expected = np.hypot((a_red - a_blue) / 2, (b_red - b_blue) / 2)
    assert texture_complexity(image) == pytest.approx(expected)


def test_uniform_object_and_background_only_score_zero() -> None:
    image = np.full((10, 10, 3), 255, np.uint8)
    assert texture_complexity(image) == 0.0
    image[2:8, 2:8] = (30, 120, 60)
    assert texture_complexity(image) == pytest.approx(0.0, abs=1e-9)


def test_alpha_channel_defines_the_object() -> None:
    image = np.zeros((4, 4, 4), np.uint8)
    image[:2, :, 3] = 255
    assert object_mask(image).sum() == 8


def test_folder_texture_complexity(tmp_path) -> None:
    image = np.full((8, 8, 3), 255, np.uint8)
    image[2:6, 2:4] = (255, 0, 0)
    image[2:6, 4:6] = (0, 0, 255)
    Image.fromarray(image).save(tmp_path / "0.png")
    Image.fromarray(image).save(tmp_path / "1.png")
    assert folder_texture_complexity(tmp_path) == pytest.approx(texture_complexity(image))
    (tmp_path / "2.png").write_bytes(b"not a png")
    with pytest.raises(MadgenError, match="2.png: unreadable image"):
        folder_texture_complexity(tmp_path)
