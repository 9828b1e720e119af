"""Relighting references to a test image (``map_match: shading``) and the render bank of pose
retrieval (``pose_retrieval: renders``): pure numpy, no field or backbone."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cv2")
pytest.importorskip("torch")

from madgen.ad.rays import focal  # noqa: E402
from madgen.ad.shading import match_shading, normals_from_distance  # noqa: E402

SIZE, ANGLE = 160, 0.6


def _sphere() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A unit sphere 5 units before the camera: its ray distances, coverage and true normals."""
    line = (np.arange(SIZE) + 0.5 - SIZE / 2) / focal(SIZE, ANGLE)
    xs, ys = np.meshgrid(line, -line)
    rays = np.stack([xs, ys, -np.ones_like(xs)], -1)
    rays /= np.linalg.norm(rays, axis=-1, keepdims=True)
    centre = np.array([0.0, 0.0, -5.0])
    b = rays @ centre
    disc = b ** 2 - (centre @ centre - 1.0)
    hit = disc > 0
    distance = np.where(hit, b - np.sqrt(np.maximum(disc, 0.0)), 0.0)
    truth = rays * distance[..., None] - centre
    return distance, hit.astype(np.float32), np.where(hit[..., None], truth, 0.0)


def _lit(normals: np.ndarray, hit: np.ndarray, light: np.ndarray, tint: np.ndarray) -> np.ndarray:
    image = np.full(normals.shape, 0.4)  # a background
    light = light / np.linalg.norm(light)
    shade = 0.25 + 0.75 * np.clip(normals @ light, 0.0, 1.0)
    image[hit > 0] = (0.8 * shade[..., None] * tint)[hit > 0]
    return image.astype(np.float32)


def test_normals_of_a_sphere_from_its_distances() -> None:
    distance, hit, truth = _sphere()
    normals = normals_from_distance(distance, hit, ANGLE)
    angle = np.degrees(np.arccos(np.clip((normals * truth).sum(-1), -1, 1)))[hit > 0]
    assert np.median(angle) < 1 and np.percentile(angle, 90) < 5
    assert np.all(normals[hit == 0] == 0)


def test_a_depth_edge_takes_its_neighbours_normals() -> None:
    # two planes facing the camera, one a unit behind the other: the step is an edge, not a slope
    distance = np.full((64, 64), 5.0)
    distance[:, 32:] = 6.0
    normals = normals_from_distance(distance, np.ones((64, 64), np.float32), ANGLE)
    assert np.all(normals[:, 30:34, 2] > 0.95)


def test_the_light_is_taken_from_the_test_image_but_not_a_stain() -> None:
    distance, hit, truth = _sphere()
    normals = normals_from_distance(distance, hit, ANGLE)
    reference = _lit(truth, hit, np.array([0.0, 0.0, 1.0]), np.ones(3))
    observed = _lit(truth, hit, np.array([0.6, 0.5, 0.6]), np.array([1.0, 0.93, 0.8]))
    observed[hit == 0] = 0.7  # the test image's own background: not the reference's business
    rows, cols = np.mgrid[:SIZE, :SIZE]
    stain = (hit > 0) & ((rows - 70) ** 2 + (cols - 72) ** 2 < 25)
    observed[stain] *= 0.55
    matched = match_shading(reference, hit, normals, observed)
    good = (hit > 0) & ~stain
    before = np.abs(reference - observed).sum(-1)
    after = np.abs(matched - observed).sum(-1)
    assert after[good].mean() < 0.2 * before[good].mean(), (after[good].mean(), before[good].mean())
    assert after[stain].mean() > 5 * after[good].mean()
    assert np.array_equal(matched[hit == 0], reference[hit == 0])


def test_without_normals_or_an_object_the_reference_is_unchanged() -> None:
    distance, hit, _ = _sphere()
    reference = np.full((SIZE, SIZE, 3), 0.5, np.float32)
    assert match_shading(reference, hit, np.zeros((SIZE, SIZE, 3), np.float32), reference * 0.5) is reference
    assert match_shading(reference, np.zeros_like(hit), normals_from_distance(distance, hit, ANGLE),
                         reference) is reference


def test_the_render_bank_turns_every_training_camera_about_the_vertical() -> None:
    from madgen.ad.pose import bank_poses, normalised_colour

    pose = np.eye(4)
    pose[:3, 3] = [3.0, 0.0, 1.0]
    bank = bank_poses(np.stack([pose, pose]), step_deg=90.0)
    assert bank.shape == (8, 4, 4)
    assert np.allclose(bank[0], pose) and np.allclose(bank[2][:3, 3], [0.0, 3.0, 1.0])
    assert np.allclose(bank[:, 2, 3], 1.0)  # heights (elevations) are kept
    # exposure and white balance drop out of the normalised colour; the white stays white
    thumb = np.ones((1, 4, 4, 3))
    shape = np.zeros((1, 4, 4))
    thumb[0, 1:3, 1:3] = [[0.2, 0.4, 0.6], [0.3, 0.5, 0.7]]
    shape[0, 1:3, 1:3] = 1.0
    darker = thumb.copy()
    darker[0, 1:3, 1:3] *= [0.5, 0.6, 0.9]
    assert np.allclose(normalised_colour(thumb, shape), normalised_colour(darker, shape))
    assert np.all(normalised_colour(thumb, shape)[0, 0, 0] == 1.0)
