"""The render bank of pose retrieval (``pose_retrieval: renders``): pure numpy, no field or backbone."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")


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


def test_the_retrieval_setting_is_checked_and_keeps_old_keys() -> None:
    from madgen.ad.config import AdConfig, check_settings, config_from_settings
    from madgen.errors import MadgenError

    chosen = config_from_settings("d", "c", check_settings({"pose-retrieval": "renders"}, "s.yaml"))
    assert chosen.pose.retrieval == "renders"
    assert AdConfig.from_dict(chosen.to_dict()) == chosen
    with pytest.raises(MadgenError, match="s.yaml: key 'pose_retrieval': expected one of views, renders"):
        check_settings({"pose_retrieval": "random"}, "s.yaml")
    # runs recorded before the setting existed keep their config and scoring key while it is off
    plain = config_from_settings("d", "c", {})
    assert "retrieval" not in plain.to_dict()["pose"]
    assert plain.scoring_key() != chosen.scoring_key()
