"""Coverage masks from supersampled ID layers (pure numpy, no Blender)."""

from __future__ import annotations

import numpy as np
import pytest

from madgen.defects.coverage import blackman_harris_taps, coverage_mask, pixel_coverage, point_sample


@pytest.mark.parametrize("scale", [3, 5, 7])
def test_taps_are_a_normalised_symmetric_window(scale: int) -> None:
    taps = blackman_harris_taps(scale)
    assert taps.sum() == pytest.approx(1.0) and np.allclose(taps, taps[::-1])
    assert taps.argmax() == len(taps) // 2 and (taps > 0).all()
    assert len(taps) // 2 / scale < 0.75  # within the 1.5 px filter's support


def test_full_and_empty_coverage() -> None:
    assert (pixel_coverage(np.ones((30, 30), bool), 3)[2:-2, 2:-2] == pytest.approx(1.0))
    assert pixel_coverage(np.zeros((30, 30), bool), 3).max() == 0.0


def test_point_sample_takes_the_centre_subpixel() -> None:
    layer = np.arange(36).reshape(6, 6)
    assert point_sample(layer, 3).tolist() == [[7, 10], [25, 28]]


def test_half_covered_pixel_and_fringe() -> None:
    scale = 3
    sub = np.zeros((10 * scale, 10 * scale), bool)
    sub[:, : 5 * scale] = True  # the left half of the image
    coverage = pixel_coverage(sub, scale)
    assert coverage[5, 2] == pytest.approx(1.0)
    assert 0.0 < coverage[5, 5] < 0.05 and 0.95 < coverage[5, 4] < 1.0  # the filter reaches past the edge
    assert coverage[5, 6] == 0.0
    mask = coverage_mask(sub, scale, 0.1)
    assert mask[:, :5].all() and not mask[:, 5:].any()


def test_thin_sliver_below_one_pixel_is_kept_at_a_low_threshold() -> None:
    scale = 3
    sub = np.zeros((9 * scale, 9 * scale), bool)
    sub[:, 4 * scale] = True  # one sub-pixel column: the left third of pixel 4, missing its centre
    assert not point_sample(sub, scale).any()
    assert np.array_equal(np.nonzero(coverage_mask(sub, scale, 0.1)[0])[0], [4])
    assert not coverage_mask(sub, scale, 0.5).any()


def test_scale_one_is_the_mask_itself() -> None:
    sub = np.eye(4, dtype=bool)
    assert np.array_equal(coverage_mask(sub, 1, 0.5), sub)
