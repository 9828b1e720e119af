"""Pose estimation of an unposed test image: retrieval of the nearest training view, then iNeRF.

1. Coarse pose: the training views and the test image are compared as small thumbnails on
   white (colour and silhouette); the closest ``candidates`` training poses are kept.
2. Refinement: an SE(3) correction ``xi`` (exponential map, starting at 0) of each candidate
   pose is optimised with Adam so that rays rendered from the field match the test image's
   pixels, sampled mostly around the object; the lr decays as decay^(k/100) (iNeRF's 0.8). The candidate with
   the lowest final photometric loss wins. With ``light="gain"`` (photographs under changing
   light) every step first fits a per-channel gain of the rendered object colour to the test
   pixels the foreground covers (least squares, clamped to 0.5..2, not differentiated) and the
   loss compares the gained render, so a darker or warmer exposure is not read as a pose error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .config import PoseConfig
from .field import VoxelField, dilate_2d, scale_object
from .rays import pixel_directions, se3_exp, world_rays


def thumbnails(images: np.ndarray, size: int) -> np.ndarray:
    """Box-downsampled thumbnails (N, size, size[, C]) of square images (N, S, S[, C])."""
    n, s = images.shape[0], images.shape[1]
    factor = s // size
    if factor * size != s:
        raise ValueError(f"image size {s} is not a multiple of the thumbnail size {size}")
    return images.reshape(n, size, factor, size, factor, *images.shape[3:]).mean(axis=(2, 4))


def retrieve(test_thumb: np.ndarray, test_shape: np.ndarray, train_thumbs: np.ndarray, train_shapes: np.ndarray,
             count: int) -> np.ndarray:
    """Indexes of the ``count`` training thumbnails (N, T, T, 3) on white closest to the test
    thumbnail (T, T, 3), by colour and by silhouette (object coverage thumbnails, 0..1)."""
    colour = ((train_thumbs - test_thumb[None]) ** 2).mean(axis=(1, 2, 3))
    shape = ((train_shapes >= 0.5) != (test_shape[None] >= 0.5)).mean(axis=(1, 2))
    return np.argsort(colour + shape, kind="stable")[:count]


#: ``retrieval="renders"``: the bank turns each training camera about the vertical (world Z) axis
#: in steps of this many degrees; retrieved candidates are more than ``SPREAD_DEG`` apart.
BANK_STEP_DEG = 15.0
SPREAD_DEG = 30.0


def bank_poses(train_poses: np.ndarray, step_deg: float = BANK_STEP_DEG) -> np.ndarray:
    """Camera-to-world poses (N * 360/step, 4, 4): every training pose turned about the world's
    vertical (Z) axis through the origin, the rig's centre, in ``step_deg`` steps (the turn by 0
    first, so the training poses lead)."""
    turns = []
    for angle in np.radians(np.arange(0.0, 360.0, step_deg)):
        c, s = np.cos(angle), np.sin(angle)
        turn = np.eye(4)
        turn[:2, :2] = [[c, -s], [s, c]]
        turns.append(np.einsum("ij,njk->nik", turn, np.asarray(train_poses, np.float64)))
    return np.concatenate(turns)


def normalised_colour(thumbs: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    """Thumbnails (N, T, T, 3) on white with their object's colour (coverage ``shapes`` N x T x T)
    divided per channel by its mean over the object, so exposure and white balance drop out."""
    weight = np.asarray(shapes, np.float64)[..., None]
    mean = (thumbs * weight).sum(axis=(1, 2)) / np.maximum(weight.sum(axis=(1, 2)), 1e-6)
    return (thumbs / np.maximum(mean[:, None, None, :], 1e-3)) * weight + (1 - weight)


def retrieve_spread(test_thumb: np.ndarray, test_shape: np.ndarray, bank_colour: np.ndarray, shapes: np.ndarray,
                    poses: np.ndarray, count: int, spread_deg: float = SPREAD_DEG) -> np.ndarray:
    """Indexes of ``count`` poses of a render bank closest to the test thumbnail (as
    :func:`retrieve` ranks them, on colour normalised by :func:`normalised_colour`: the bank's,
    ``bank_colour``, normalised once by the caller), each more than ``spread_deg`` from those
    chosen before it, so several candidates are distinct hypotheses (a front-back flip of a
    near-symmetric toy among them) rather than neighbours of one."""
    test = normalised_colour(test_thumb[None], test_shape[None])[0]
    chosen: list[int] = []
    for index in retrieve(test, test_shape, bank_colour, shapes, len(bank_colour)):
        if all(rotation_error_deg(poses[other], poses[index]) > spread_deg for other in chosen):
            chosen.append(int(index))
            if len(chosen) == count:
                break
    return np.array(chosen, np.int64)


@dataclass
class PoseResult:
    """The refined camera-to-world pose, its photometric loss, and the retrieved training view."""

    pose: np.ndarray
    loss: float
    start_index: int


GAIN_LIMITS = (0.5, 2.0)


def gained(rgb: torch.Tensor, opacity: torch.Tensor, target: torch.Tensor, on_object: torch.Tensor) -> torch.Tensor:
    """Rays' colours on white (R, 3) with their object part scaled per channel by the gain that
    best maps it onto ``target`` over the rays ``on_object`` (R bool); the gain is a constant of
    the step (no gradient), 1 where no ray is on the object."""
    with torch.no_grad():
        if bool(on_object.any()):
            background = (1 - opacity[on_object])[:, None]
            own = rgb[on_object] - background
            wanted = target[on_object] - background
            gain = ((own * wanted).sum(0) / (own * own).sum(0).clamp_min(1e-6)).clamp(*GAIN_LIMITS)
        else:
            gain = torch.ones(3, device=rgb.device)
    return scale_object(rgb, opacity, gain)


def refine(field: VoxelField, image: np.ndarray, start: np.ndarray, camera_angle_x: float,
           config: PoseConfig, foreground: np.ndarray) -> tuple[np.ndarray, float]:
    """iNeRF: optimise an SE(3) correction of ``start`` (4, 4) against ``image`` (S, S, 3, on
    white), drawing rays around its ``foreground`` (S, S bool), on the field's device (rays are
    drawn on the CPU, the same on any device)."""
    size = image.shape[0]
    device = field.low.device
    target = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).reshape(-1, 3).to(device)
    grown = dilate_2d(np.asarray(foreground, bool), max(1, size // 16))
    object_rays = torch.from_numpy(np.asarray(foreground, bool).reshape(-1))
    candidates = torch.from_numpy(np.flatnonzero(grown.reshape(-1)))
    if len(candidates) == 0:
        candidates = torch.arange(size * size)
    # only the pose is optimised: no gradients of the field's grids (they cost most of a backward
    # pass, and accumulating them across calls made refinement depend on what ran before)
    wanted = [parameter.requires_grad for parameter in field.parameters()]
    field.requires_grad_(False)
    try:
        return _refine(field, target, object_rays, candidates, size, start, camera_angle_x, config)
    finally:
        for parameter, flag in zip(field.parameters(), wanted):
            parameter.requires_grad_(flag)


def _refine(field: VoxelField, target: torch.Tensor, object_rays: torch.Tensor, candidates: torch.Tensor,
            size: int, start: np.ndarray, camera_angle_x: float, config: PoseConfig) -> tuple[np.ndarray, float]:
    device = field.low.device
    generator = torch.Generator().manual_seed(config.seed)
    start_t = torch.tensor(start, dtype=torch.float32, device=device)
    xi = torch.zeros(6, device=device, requires_grad=True)
    optimiser = torch.optim.Adam([xi], lr=config.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda k: config.decay ** (k / 100))
    loss_value = float("nan")
    for _ in range(config.steps):
        pick = candidates[torch.randint(0, len(candidates), (min(config.rays, len(candidates)),),
                                        generator=generator)].to(device)
        pixels = torch.stack([pick % size, pick // size], dim=1).float()
        pose = se3_exp(xi) @ start_t
        origins, directions = world_rays(pose, pixel_directions(size, camera_angle_x, pixels))
        rgb, opacity = field.render(origins, directions)
        if config.light == "gain":
            rgb = gained(rgb, opacity, target[pick], object_rays[pick].to(device))
        loss = torch.mean((rgb - target[pick]) ** 2)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        loss_value = float(loss.detach())
    with torch.no_grad():
        final = (se3_exp(xi) @ start_t).cpu().numpy().astype(np.float64)
    return final, loss_value


def estimate_pose(field: VoxelField, image: np.ndarray, foreground: np.ndarray, train_thumbs: np.ndarray,
                  train_shapes: np.ndarray, train_poses: np.ndarray, camera_angle_x: float,
                  config: PoseConfig) -> PoseResult:
    """Retrieve, refine every candidate, keep the best (``image`` on white and its ``foreground``
    coverage at ``config.size``; the thumbnails, silhouette thumbnails and poses retrieved from:
    the training views', or with ``retrieval="renders"`` a render bank's, see :func:`bank_poses`,
    whose thumbnails are then given normalised (:func:`normalised_colour`); ``start_index``
    indexes those)."""
    test_thumb = thumbnails(image[None], config.thumbnail)[0]
    test_shape = thumbnails(np.asarray(foreground, np.float32)[None], config.thumbnail)[0]
    if config.retrieval == "renders":
        found = retrieve_spread(test_thumb, test_shape, train_thumbs, train_shapes, train_poses, config.candidates)
    else:
        found = retrieve(test_thumb, test_shape, train_thumbs, train_shapes, config.candidates)
    best: PoseResult | None = None
    for index in found:
        pose, loss = refine(field, image, train_poses[index], camera_angle_x, config, np.asarray(foreground) >= 0.5)
        if best is None or loss < best.loss:
            best = PoseResult(pose, loss, int(index))
    assert best is not None
    return best


def rotation_error_deg(a: np.ndarray, b: np.ndarray) -> float:
    """The angle (degrees) of the relative rotation between two poses."""
    relative = a[:3, :3].T @ b[:3, :3]
    return float(np.degrees(np.arccos(np.clip((np.trace(relative) - 1) / 2, -1.0, 1.0))))


def translation_error(a: np.ndarray, b: np.ndarray) -> float:
    """The distance between two camera centres (world units)."""
    return float(np.linalg.norm(a[:3, 3] - b[:3, 3]))


def nearest_views(pose: np.ndarray, poses: np.ndarray, count: int) -> np.ndarray:
    """Indexes of the ``count`` camera-to-world ``poses`` (N, 4, 4) whose rotation is closest to
    ``pose``'s (ties by index)."""
    relative = np.einsum("ji,njk->nik", pose[:3, :3], poses[:, :3, :3])
    cosine = np.clip((np.trace(relative, axis1=1, axis2=2) - 1) / 2, -1.0, 1.0)
    return np.argsort(-cosine, kind="stable")[:count]
