"""The camera rig: 15-degree rings, look-at convention, seeded test poses, normalisation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from madgen.errors import MadgenError
from madgen.render_views import parse_views
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
