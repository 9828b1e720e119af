"""The anomaly map: alignment-tolerant distances, the minimum over several references, and
the choice of the training views nearest a pose."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from madgen.ad.anomaly import anomaly_map  # noqa: E402
from madgen.ad.features import FeatureExtractor, aligned_distance  # noqa: E402
from madgen.ad.pose import nearest_views, rotation_error_deg  # noqa: E402


def _brute_force(a: np.ndarray, b: np.ndarray, radius: int) -> np.ndarray:
    _, _, height, width = a.shape
    out = np.full((height, width), np.inf)
    for y in range(height):
        for x in range(width):
            for dy in range(-radius, radius + 1):
                for dx in range(-radius, radius + 1):
                    yy, xx = min(max(y + dy, 0), height - 1), min(max(x + dx, 0), width - 1)
                    out[y, x] = min(out[y, x], float(((a[0, :, y, x] - b[0, :, yy, xx]) ** 2).sum()))
    return out


@pytest.mark.parametrize("radius", [0, 1, 2])
def test_aligned_distance_equals_a_direct_computation(radius: int) -> None:
    generator = torch.Generator().manual_seed(radius)
    a, b = torch.rand(1, 4, 7, 9, generator=generator), torch.rand(1, 4, 7, 9, generator=generator)
    got = aligned_distance(a, b, radius)[0, 0].numpy()
    assert got.shape == (7, 9)
    np.testing.assert_allclose(got, _brute_force(a.numpy(), b.numpy(), radius), rtol=1e-5, atol=1e-6)


def test_aligned_distance_forgives_a_one_cell_shift_only_with_a_radius() -> None:
    a = torch.rand(1, 3, 12, 12, generator=torch.Generator().manual_seed(1))
    shifted = torch.roll(a, shifts=1, dims=3)
    assert float(aligned_distance(a, shifted, 0)[..., 1:-1, 1:-1].min()) > 0
    assert float(aligned_distance(a, shifted, 1)[..., 1:-1, 1:-1].abs().max()) == 0.0


def _image_with_blob(*blobs: tuple[int, int]) -> np.ndarray:
    image = np.ones((224, 224, 3), np.float32)
    image[60:160, 60:160] = (0.2, 0.4, 0.8)
    for y, x in blobs:
        image[y:y + 8, x:x + 8] = (0.9, 0.1, 0.1)
    return image


def test_map_keeps_per_pixel_minimum_over_references() -> None:
    extractor = FeatureExtractor("none")
    observed = _image_with_blob((100, 100))  # the defect
    soft_here = _image_with_blob((70, 140))  # each reference differs somewhere else too
    soft_there = _image_with_blob((140, 70))
    alone = anomaly_map(extractor, observed, [soft_here], sigma=1.0)
    both = anomaly_map(extractor, observed, [soft_here, soft_there], sigma=1.0)
    assert alone[74, 144] > 0.5 and both[74, 144] < 1e-3  # a flaw of one reference only is forgiven
    assert both[104, 104] == pytest.approx(alone[104, 104]) and both[104, 104] > 0.5  # the defect stays
    assert anomaly_map(extractor, observed, [soft_here, observed], sigma=1.0).max() < 1e-6
    with pytest.raises(ValueError):
        anomaly_map(extractor, observed, [])


def test_map_with_backbone_is_zero_against_the_image_itself() -> None:
    pytest.importorskip("efficientnet_lite_pytorch")
    extractor = FeatureExtractor("lite0")
    observed = _image_with_blob((100, 100))
    assert anomaly_map(extractor, observed, [_image_with_blob(), observed], stages=3, radius=1).max() < 1e-6
    values = anomaly_map(extractor, observed, [_image_with_blob()], stages=3, radius=1)
    assert np.unravel_index(values.argmax(), values.shape)[0] in range(90, 120)


def _ring_pose(azimuth_deg: float, elevation_deg: float = 30.0) -> np.ndarray:
    azimuth, elevation = math.radians(azimuth_deg), math.radians(elevation_deg)
    centre = 4 * np.array([math.cos(elevation) * math.cos(azimuth), math.cos(elevation) * math.sin(azimuth),
                           math.sin(elevation)])
    back = centre / np.linalg.norm(centre)
    right = np.cross([0.0, 0.0, 1.0], back)
    right /= np.linalg.norm(right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, np.cross(back, right), back, centre
    return pose


def test_nearest_views_ranks_by_rotation_angle() -> None:
    poses = np.stack([_ring_pose(a) for a in range(0, 360, 15)])
    query = _ring_pose(37.0)
    picked = nearest_views(query, poses, 3)
    assert list(picked) == [2, 3, 1]  # 30, 45 and 15 degrees: 7, 8 and 22 degrees away
    angles = [rotation_error_deg(query, p) for p in poses]
    assert list(picked) == list(np.argsort(angles, kind="stable")[:3])
    assert len(nearest_views(query, poses, 0)) == 0


def test_rgb_weight_scales_the_colour_term() -> None:
    extractor = FeatureExtractor("none")
    observed, reference = _image_with_blob((100, 100)), _image_with_blob()
    plain = anomaly_map(extractor, observed, [reference], sigma=1.0)
    np.testing.assert_allclose(anomaly_map(extractor, observed, [reference], sigma=1.0, rgb_weight=3.0), 3.0 * plain,
                               rtol=1e-5, atol=1e-6)
    assert anomaly_map(extractor, observed, [reference], sigma=1.0, rgb_weight=0.0).max() == 0.0


def _shaded(image: np.ndarray, low: float, high: float) -> np.ndarray:
    """``image`` under light that falls off smoothly from left (``low``) to right (``high``)."""
    ramp = np.linspace(low, high, image.shape[1], dtype=np.float32)[None, :, None]
    return np.clip(image * ramp, 0.0, 1.0).astype(np.float32)


def test_local_normalisation_divides_out_smooth_light_and_keeps_a_stain() -> None:
    """``normalise="local"``: a reference under other light (a smooth fall-off, a dimmer exposure)
    differs from the test image far less after the normalisation, while a small stain of the test
    image stays where it is and above everything else in the map."""
    from madgen.ad.anomaly import normalise_light

    grey = np.full((224, 224, 3), 0.7, np.float32)
    grey[60:160, 40:180] = (0.55, 0.6, 0.65)  # a light grey toy on a lighter ground
    observed = _shaded(grey, 0.9, 1.1)
    observed[100:106, 100:106] = 0.25  # the stain
    reference = _shaded(grey, 0.6, 0.85)
    inside = (slice(70, 150), slice(50, 170))
    raw_difference = np.abs(observed - reference)[inside].mean()
    normalised_difference = np.abs(normalise_light(observed) - normalise_light(reference))
    normalised_difference[97:109, 97:109] = 0  # leave the stain's own neighbourhood out
    assert normalised_difference[inside].mean() < 0.25 * raw_difference
    assert normalise_light(grey).dtype == np.float32 and 0.0 <= normalise_light(grey).min() <= normalise_light(grey).max() <= 1.0
    extractor = FeatureExtractor("none")
    local = anomaly_map(extractor, observed, [reference], sigma=1.0, normalise="local")
    peak = np.unravel_index(local.argmax(), local.shape)
    assert 97 <= peak[0] <= 108 and 97 <= peak[1] <= 108, peak
    plain = anomaly_map(extractor, observed, [reference], sigma=1.0)
    # the light's share of the map, relative to the stain's: far smaller once normalised
    assert np.median(local[inside]) / local.max() < 0.25 * np.median(plain[inside]) / plain.max()
    with pytest.raises(ValueError, match="normalise"):
        anomaly_map(extractor, observed, [reference], normalise="global")
