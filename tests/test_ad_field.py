"""The voxel radiance field and iNeRF pose refinement on an analytic scene (no Blender).

The scene is three coloured boxes; its training views are ray-cast exactly with numpy on a
small version of the MAD-Sim rig, so the test knows the truth of every pixel and pose.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from madgen.ad.config import FieldConfig, PoseConfig  # noqa: E402
from madgen.ad.data import TrainingViews  # noqa: E402
from madgen.ad.pose import estimate_pose, refine, rotation_error_deg, thumbnails  # noqa: E402
from madgen.ad.rays import pixel_directions, se3_exp  # noqa: E402
from madgen.ad.train import fit_field  # noqa: E402
from madgen.rig import RigConfig, sample_test_poses, training_poses  # noqa: E402

BOXES = [  # (low corner, high corner, colour)
    (np.array([-0.6, -0.3, -0.4]), np.array([0.6, 0.3, 0.2]), np.array([0.8, 0.1, 0.1])),
    (np.array([0.2, -0.25, 0.2]), np.array([0.6, 0.25, 0.6]), np.array([0.1, 0.3, 0.8])),
    (np.array([-0.6, -0.1, 0.2]), np.array([-0.3, 0.1, 0.7]), np.array([0.9, 0.8, 0.1])),
]
SIZE = 48
ANGLE = RigConfig().camera_angle_x


def cast(pose: np.ndarray, size: int = SIZE) -> np.ndarray:
    """The exact image of the boxes (front face colour, white background) from a camera pose."""
    directions = pixel_directions(size, ANGLE).numpy().astype(np.float64) @ pose[:3, :3].T
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    origin = pose[:3, 3]
    best = np.full(len(directions), np.inf)
    image = np.ones((len(directions), 3))
    for low, high, colour in BOXES:
        with np.errstate(divide="ignore", invalid="ignore"):
            t0, t1 = (low - origin) / directions, (high - origin) / directions
        near = np.nanmax(np.minimum(t0, t1), axis=1)
        far = np.nanmin(np.maximum(t0, t1), axis=1)
        hit = (far >= near) & (near > 0) & (near < best)
        best[hit] = near[hit]
        image[hit] = colour
    return image.reshape(size, size, 3).astype(np.float32)


@pytest.fixture(scope="module")
def trained():
    rig = RigConfig(azimuth_step_deg=30.0, elevation_step_deg=30.0)
    poses = np.array([p.camera_to_world for p in training_poses(rig)])
    views = TrainingViews(np.stack([cast(p) for p in poses]), poses.astype(np.float32), ANGLE, [])
    torch.manual_seed(0)
    # no smoothness prior: the boxes are flat, noise-free colours (the prior is for noisy renders;
    # it is tested below), and at 48^3 it would round their edges by a voxel
    field, stats = fit_field(views, FieldConfig(resolution=48, train_size=SIZE, steps=250, batch_rays=2048,
                                                smoothness=0.0))
    return views, field, stats


def test_field_learns_the_scene(trained) -> None:
    views, field, stats = trained
    assert stats["train_psnr"] > 20
    pose = sample_test_poses(1, seed=4)[0].camera_to_world
    truth = cast(pose)
    from madgen.ad.run import render_image

    rendered = render_image(field, pose, SIZE, ANGLE)
    assert np.mean((rendered - truth) ** 2) < 0.01  # a novel view, PSNR above 20 dB
    box = field.high - field.low
    assert float(box.max()) < 2.5  # the carved box hugs the object, not the whole search cube


def test_refinement_recovers_a_perturbed_pose(trained) -> None:
    views, field, _ = trained
    truth = views.poses[7].astype(np.float64)
    image = cast(truth)
    twist = torch.tensor([0.06, -0.05, 0.04, 0.08, -0.06, 0.05])  # about 5 degrees and 0.1 units
    start = (se3_exp(twist) @ torch.tensor(truth, dtype=torch.float32)).numpy()
    assert rotation_error_deg(start, truth) > 4.0
    refined, loss = refine(field, image, start, ANGLE, PoseConfig(steps=150, rays=1024, lr=0.01))
    assert rotation_error_deg(refined, truth) < 1.5
    assert np.linalg.norm(refined[:3, 3] - truth[:3, 3]) < 0.05


def test_retrieval_then_refinement_on_a_novel_view(trained) -> None:
    views, field, _ = trained
    truth = sample_test_poses(1, seed=11, config=RigConfig())[0].camera_to_world
    result = estimate_pose(field, cast(truth), thumbnails(views.images, 16), views.poses.astype(np.float64),
                           ANGLE, PoseConfig(thumbnail=16, candidates=2, steps=120, rays=1024))
    assert rotation_error_deg(result.pose, truth) < 3.0


def test_smoothness_prior_penalises_neighbouring_occupied_voxels_only() -> None:
    from madgen.ad.field import VoxelField

    occupancy = np.zeros((6, 6, 6), dtype=bool)
    occupancy[1:4, 1:4, 1:4] = True
    field = VoxelField(np.full(3, -1.0), np.full(3, 1.0), occupancy)
    assert float(field.smoothness_loss().detach()) == 0.0  # uniform colour
    with torch.no_grad():
        field.colour[0, :, 5, 5, 5] = 10.0  # an empty voxel: never sampled, never smoothed
    assert float(field.smoothness_loss().detach()) == 0.0
    with torch.no_grad():
        field.colour[0, 0, 2, 2, 2] = 6.0  # the centre of the block, (z, y, x) = (2, 2, 2): six neighbours
    loss = field.smoothness_loss()
    pairs = 3 * 3 * 3 * 2  # face-adjacent pairs in a 3x3x3 block
    assert float(loss.detach()) == pytest.approx(6 * 36.0 / (3 * pairs))
    loss.backward()
    grad = field.colour.grad[0]
    assert grad[0, 2, 2, 2] > 0 and grad[0, 5, 5, 5] == 0 and grad[:, 0].abs().sum() == 0


def test_smoothness_makes_a_noisy_fit_smoother(trained) -> None:
    views, noisy, _ = trained  # no prior
    assert FieldConfig().smoothness > 0
    torch.manual_seed(0)
    smooth, stats = fit_field(views, FieldConfig(resolution=48, train_size=SIZE, steps=250, batch_rays=2048))
    assert stats["train_psnr"] > 20
    assert float(smooth.smoothness_loss().detach()) < 0.5 * float(noisy.smoothness_loss().detach())


@pytest.mark.parametrize("background, refused", [(255, False), (120, True)])
def test_training_views_must_be_on_white(tmp_path, background, refused) -> None:
    """A realism build (a bench and backdrop behind the toy) would give a field of the whole
    frustum: the views' borders tell, and such a folder is refused with a one-line error."""
    import json

    from PIL import Image

    from madgen.ad.data import load_training
    from madgen.errors import MadgenError

    frames = []
    for number in range(3):
        pixels = np.full((32, 32, 3), background, np.uint8)
        pixels[10:22, 10:22] = (40, 60, 200)  # the toy, off the border
        (tmp_path / "train" / "good").mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(tmp_path / "train" / "good" / f"{number}.png")
        frames.append({"file_path": f"train/good/{number}", "transform_matrix": np.eye(4).tolist()})
    (tmp_path / "transforms.json").write_text(json.dumps({"camera_angle_x": 0.69, "frames": frames}))
    if refused:
        with pytest.raises(MadgenError, match="not on a white background"):
            load_training(tmp_path, 16)
    else:
        assert load_training(tmp_path, 16).images.shape[0] == 3
