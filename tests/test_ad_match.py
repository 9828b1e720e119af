"""Colour matching of references (``map_match: gain``): pure numpy, no field or backbone."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

pytest.importorskip("cv2")

from madgen.ad.anomaly import match_colour  # noqa: E402
from madgen.ad.config import AdConfig, check_settings, config_from_settings  # noqa: E402
from madgen.errors import MadgenError  # noqa: E402


def _scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    reference = np.full((96, 96, 3), 0.3, np.float32)  # a background
    opacity = np.zeros((96, 96), np.float32)
    opacity[20:76, 24:72] = 1.0
    texture = rng.uniform(0.2, 0.8, (56, 48, 3)).astype(np.float32)
    reference[20:76, 24:72] = texture
    return reference, opacity


def test_exposure_and_white_balance_are_taken_from_the_test_image_but_not_a_stain() -> None:
    reference, opacity = _scene()
    gain, offset = np.array([1.2, 0.9, 0.7]), np.array([0.02, -0.03, 0.05])
    observed = reference.copy()
    observed[opacity > 0] = reference[opacity > 0] * gain + offset
    observed[opacity == 0] = 0.6  # the test's own background differs: not the reference's business
    observed[40:48, 40:48] = [0.05, 0.05, 0.05]  # a dark stain, 64 of the object's 2,688 pixels
    matched = match_colour(reference, opacity, observed)
    inside = opacity > 0
    stain = np.zeros(inside.shape, bool)
    stain[40:48, 40:48] = True
    # the object now looks like the test image's good pixels ...
    assert np.abs(matched[inside & ~stain] - observed[inside & ~stain]).max() < 0.01
    # ... the stain is still a difference, and the reference's background is untouched
    assert np.abs(matched[stain] - observed[stain]).mean() > 0.3
    assert np.array_equal(matched[~inside], reference[~inside])
    # unmatched, the object differed everywhere
    assert np.abs(reference[inside & ~stain] - observed[inside & ~stain]).mean() > 0.05


def test_without_an_object_the_reference_is_unchanged() -> None:
    reference, opacity = _scene()
    assert match_colour(reference, np.zeros_like(opacity), reference * 0.5) is reference


def test_the_setting_is_checked_and_reaches_the_config() -> None:
    assert config_from_settings("d", "c", check_settings({"map-match": "gain"}, "s.yaml")).map_match == "gain"
    with pytest.raises(MadgenError, match="s.yaml: key 'map_match': expected one of none, gain"):
        check_settings({"map_match": "histogram"}, "s.yaml")
    # a run scored before the settings existed keeps its scores while matching and normalising are off
    plain = config_from_settings("d", "c", {})
    assert plain.map_normalise == "none"
    assert plain.scoring_key() != config_from_settings("d", "c", {"map_match": "gain"}).scoring_key()
    assert plain.scoring_key() != config_from_settings("d", "c", {"map_normalise": "local"}).scoring_key()
    written_before = {k: v for k, v in plain.to_dict().items() if k != "map_normalise"}
    assert AdConfig.from_dict(written_before).map_normalise == "none"
    assert config_from_settings("d", "c", check_settings({"map-normalise": "local"}, "s.yaml")).map_normalise == "local"
    with pytest.raises(MadgenError, match="s.yaml: key 'map_normalise': expected one of none, local"):
        check_settings({"map_normalise": "global"}, "s.yaml")
    parts = {k: v for k, v in plain.to_dict().items() if k not in ("data", "map_match", "map_normalise")}
    del parts["pose"]["light"]  # likewise the pose light at 'fixed'
    del parts["pose"]["decay"]  # and iNeRF's learning-rate decay
    assert plain.scoring_key() == hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def test_pose_light_is_a_setting_that_changes_the_scores_only_when_set() -> None:
    from madgen.ad.config import config_from_settings

    fixed = config_from_settings("/d", "06Bird", {})
    gain = config_from_settings("/d", "06Bird", {"pose_light": "gain"})
    assert fixed.pose.light == "fixed" and gain.pose.light == "gain"
    assert fixed.scoring_key() != gain.scoring_key()
    # a key written before the setting existed (no 'light' in the pose) still matches 'fixed'
    import hashlib
    import json

    parts = {k: v for k, v in fixed.to_dict().items() if k not in ("data", "map_match", "map_normalise")}
    del parts["pose"]["light"]
    del parts["pose"]["decay"]
    assert fixed.scoring_key() == hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def test_pose_rays_lr_and_decay_are_settings_that_reach_the_pose() -> None:
    from madgen.ad.config import config_from_settings

    plain = config_from_settings("/d", "06Bird", {})
    quick = config_from_settings("/d", "06Bird", check_settings(
        {"pose-rays": 512, "pose_lr": 0.03, "pose_decay": 1e-5}, "s.yaml"))
    assert (plain.pose.rays, plain.pose.lr, plain.pose.decay) == (1024, 0.01, 0.8)
    assert (quick.pose.rays, quick.pose.lr, quick.pose.decay) == (512, 0.03, 1e-5)
    assert plain.scoring_key() != quick.scoring_key()
    with pytest.raises(MadgenError, match="s.yaml: key 'pose_decay': expected a number"):
        check_settings({"pose_decay": 2}, "s.yaml")
