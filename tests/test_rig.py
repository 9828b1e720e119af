"""The camera rig: 15-degree rings, look-at convention, seeded test poses, normalisation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from madgen.errors import MadgenError
from madgen.usecases.render_views import parse_views
from madgen.rig import (
    DEFAULT_CAMERA_ANGLE_X,
    CameraPose,
    Normalisation,
    RigConfig,
    angular_distance_deg,
    focal_length,
    sample_test_poses,
    training_poses,
)


def test_default_rig_has_216_views_on_9_rings_of_24() -> None:
    poses = training_poses()
    assert len(poses) == 216
    elevations = sorted({round(p.elevation_deg, 6) for p in poses})
    assert elevations == [-45, -30, -15, 0, 15, 30, 45, 60, 75]
    assert sorted({round(p.azimuth_deg, 6) for p in poses if p.elevation_deg == 0}) == [15 * i for i in range(24)]
    assert all(p.camera_angle_x == DEFAULT_CAMERA_ANGLE_X and p.distance == 4.0 for p in poses)


def test_every_camera_looks_at_the_origin_with_z_up() -> None:
    for pose in training_poses():
        matrix = pose.camera_to_world
        rotation, position = matrix[:3, :3], matrix[:3, 3]
        np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-9)
        assert np.linalg.det(rotation) == pytest.approx(1.0)
        assert np.linalg.norm(position) == pytest.approx(4.0)
        forward = -rotation[:, 2]  # the camera looks down its -Z axis
        np.testing.assert_allclose(forward, -position / np.linalg.norm(position), atol=1e-9)
        assert rotation[2, 1] > 0  # image +Y points to world +Z
        assert abs(rotation[2, 0]) < 1e-9  # no roll: image x stays horizontal


def test_rig_range_and_steps_are_configurable() -> None:
    config = RigConfig(elevation_min_deg=0, elevation_max_deg=60, elevation_step_deg=30, azimuth_step_deg=45)
    assert len(training_poses(config)) == 3 * 8
    with pytest.raises(MadgenError, match="elevation"):
        training_poses(RigConfig(elevation_min_deg=30, elevation_max_deg=10))


@pytest.mark.parametrize("rotate", [False, True])
def test_test_poses_keep_their_distance_from_training_views(rotate: bool) -> None:
    config = RigConfig(test_object_rotation=rotate)
    training = np.array([p.view_direction() for p in training_poses(config)])
    poses = sample_test_poses(90, seed=3, config=config)
    assert len(poses) == 90
    nearest = angular_distance_deg(np.array([p.view_direction() for p in poses]), training).min(axis=1)
    assert nearest.min() >= 5.0
    assert all(-45 - 1e-9 <= p.elevation_deg <= 75 + 1e-9 for p in poses)
    assert (len({round(p.object_rotation_deg, 6) for p in poses}) > 1) == rotate


def test_test_poses_are_seeded() -> None:
    first = sample_test_poses(10, seed=1)
    assert first == sample_test_poses(10, seed=1)
    assert first != sample_test_poses(10, seed=2)


def test_impossible_test_pose_request_fails_clearly() -> None:
    config = RigConfig(elevation_min_deg=0, elevation_max_deg=0, azimuth_step_deg=15, test_min_angle_deg=20)
    with pytest.raises(MadgenError, match="could not place"):
        sample_test_poses(5, seed=0, config=config, max_draws=2000)


def test_pose_json_round_trip() -> None:
    pose = sample_test_poses(1, seed=5, config=RigConfig(test_object_rotation=True))[0]
    assert CameraPose.from_dict(json.loads(json.dumps(pose.to_dict()))) == pose


def test_focal_length_formula() -> None:
    assert focal_length(400) == pytest.approx(0.5 * 400 / math.tan(0.5 * DEFAULT_CAMERA_ANGLE_X))


def test_normalisation_fits_the_unit_sphere() -> None:
    points = np.array([[0.0, 0.0, 0.0], [0.04, 0.02, 0.01], [0.01, 0.03, 0.05]])
    norm = Normalisation.fit(points)
    moved = norm.apply(points)
    assert np.linalg.norm(moved, axis=1).max() == pytest.approx(1.0)
    homogeneous = np.c_[points, np.ones(3)] @ norm.matrix().T
    np.testing.assert_allclose(homogeneous[:, :3], moved)


@pytest.mark.parametrize("text, expected", [("all", list(range(5))), ("2", [2]), ("1:3", [1, 2]),
                                            ("0:5:2", [0, 2, 4]), (":", list(range(5)))])
def test_view_selection(text, expected) -> None:
    assert parse_views(text, 5) == expected


@pytest.mark.parametrize("text", ["9", "a:b", "3:1", "0:5:0", "1:2:3:4"])
def test_bad_view_selection(text) -> None:
    with pytest.raises(MadgenError, match="--views"):
        parse_views(text, 5)


# --- framing: the object fills the image as MAD-Sim's objects do (pure, no render) ---------------

def _model_points(category: str) -> np.ndarray:
    from madgen.categories import load_category_assembly
    from madgen.ldraw import Library
    from madgen.ldraw.frames import model_points_m

    return model_points_m(load_category_assembly(category, Library(use_env=False))[1])


def test_support_points_keep_every_view_extent() -> None:
    from madgen.rig import image_extents, support_points

    rng = np.random.default_rng(3)
    points = rng.normal(size=(20_000, 3)) * [0.6, 0.3, 0.2]
    support = support_points(points)
    assert len(support) < 2_000
    poses = training_poses()
    full = image_extents(points, poses, DEFAULT_CAMERA_ANGLE_X)
    np.testing.assert_allclose(image_extents(support, poses, DEFAULT_CAMERA_ANGLE_X), full, atol=2e-3)


def _brute_support(points: np.ndarray, directions: int = 2048) -> np.ndarray:
    from madgen.ldraw.frames import _fibonacci_directions

    return points[np.unique(np.argmax(_fibonacci_directions(directions) @ points.T, axis=1))]


@pytest.mark.parametrize("layout", ["blob", "grid"])
def test_support_point_culling_finds_exactly_the_brute_force_points(layout) -> None:
    """Large inputs are culled by runs before the search; the result must not change at all,
    ties included (a flat grid of copies has many points at the same height)."""
    from madgen.ldraw.frames import support_points

    rng = np.random.default_rng(5)
    part = rng.normal(size=(150, 3)) * [0.02, 0.01, 0.005]
    if layout == "grid":
        offsets = np.array([[x * 0.1, y * 0.1, 0.0] for x in range(12) for y in range(12)])
        points = (part[None] + offsets[:, None]).reshape(-1, 3)
    else:
        points = rng.normal(size=(30_000, 3)) * [0.6, 0.3, 0.2]
    np.testing.assert_array_equal(support_points(points), _brute_support(points))


def test_framing_views_are_the_rig_poses() -> None:
    """frame_model projects onto matrices built in one go; they are the poses' own matrices."""
    from madgen.rig import _framing_views, frame_check_poses, world_to_camera

    for rig in (RigConfig(), RigConfig(elevation_min_deg=-90, elevation_max_deg=90, azimuth_step_deg=30)):
        training, checks = _framing_views(rig)
        np.testing.assert_allclose(training, world_to_camera(training_poses(rig)), atol=1e-10)
        np.testing.assert_allclose(checks, world_to_camera(frame_check_poses(rig)), atol=1e-10)


def test_image_extents_of_a_centred_segment_match_the_pinhole_formula() -> None:
    from madgen.rig import image_extents

    pose = training_poses()[72]  # azimuth 0, elevation 0: looking along +Y
    points = np.array([[-0.5, 0.0, 0.0], [0.5, 0.0, 0.0]])
    expected = 1.0 / (4.0 * 2 * math.tan(0.5 * DEFAULT_CAMERA_ANGLE_X))
    assert image_extents(points, [pose], DEFAULT_CAMERA_ANGLE_X)[0] == pytest.approx(expected)


@pytest.mark.parametrize("category", ["01Gorilla", "05Whale", "13Pheonix", "15Parrot"])
def test_extent_framing_reaches_the_target_and_keeps_every_view_in_frame(category) -> None:
    from madgen.rig import frame_model, image_boxes, image_extents

    points = _model_points(category)
    rig = RigConfig()
    norm = frame_model(points, rig)
    assert norm.framing == "extent" and norm.limited_by == ""
    scene = norm.apply(points)
    assert np.median(image_extents(scene, training_poses(rig), rig.camera_angle_x)) == pytest.approx(0.67, abs=2e-3)
    assert norm.median_extent == pytest.approx(0.67, abs=1e-3)
    assert np.linalg.norm(scene, axis=1).max() <= rig.max_radius
    # test views, with the object rotated too, never crop the object
    tests = sample_test_poses(300, seed=11, config=RigConfig(test_object_rotation=True))
    boxes = image_boxes(scene, tests, rig.camera_angle_x)
    assert boxes[:, :2].min() >= 0.0 and boxes[:, 2:].max() <= 1.0
    # the older unit-sphere fit is still there, and frames the object smaller
    sphere = frame_model(points, RigConfig(framing="sphere"))
    assert sphere.radius == pytest.approx(1.0) and sphere.median_extent < norm.median_extent


def test_framing_gives_way_to_the_frame_and_the_radius() -> None:
    from madgen.rig import frame_model, frame_check_poses, image_boxes

    points = np.array([[-1.0, 0, 0], [1.0, 0, 0], [0, -0.1, 0], [0, 0.1, 0], [0, 0, -0.1], [0, 0, 0.1]])
    rig = RigConfig(target_extent=0.95, frame_margin=0.05)
    norm = frame_model(points, rig)
    assert norm.limited_by == "frame" and norm.median_extent < 0.95
    boxes = image_boxes(norm.apply(points), frame_check_poses(rig), rig.camera_angle_x)
    assert boxes[:, :2].min() >= 0.05 - 1e-6 and boxes[:, 2:].max() <= 0.95 + 1e-6
    small = frame_model(points, RigConfig(target_extent=0.9, max_radius=0.5, frame_margin=0.0))
    assert small.limited_by == "radius" and small.radius == pytest.approx(0.5, rel=1e-5)


def test_normalisation_round_trips_through_json() -> None:
    from madgen.rig import frame_model

    norm = frame_model(np.random.default_rng(1).normal(size=(50, 3)))
    assert Normalisation.from_dict(json.loads(json.dumps(norm.to_dict()))) == norm


@pytest.mark.parametrize("key, value", [("framing", "boxy"), ("target_extent", 0.99), ("max_radius", 5.0),
                                        ("frame_margin", 0.5)])
def test_bad_framing_settings(key, value) -> None:
    with pytest.raises(MadgenError, match=key):
        RigConfig(**{key: value}).validate()
