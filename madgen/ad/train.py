"""Fitting the voxel radiance field to a category's posed training views."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch

from .config import FieldConfig
from .data import TrainingViews
from .device import deterministic
from .field import PackedSamples, VoxelField, carve_hull, dilate, dilate_2d, scale_object
from .rays import pixel_directions

#: Adam's learning rate of the per-view log gains (``appearance: gain``), under the field's
#: decaying schedule like the grids'.
APPEARANCE_LR = 0.01

#: The first carve covers this cube (the NeRF-synthetic convention: the object fits well inside it).
SEARCH_HALF_EXTENT = 1.5


def build_field(views: TrainingViews, config: FieldConfig) -> VoxelField:
    """Carve the visual hull of the views' silhouettes (a coarse pass to find the box, then a
    fine one) into an empty field."""
    masks = views.silhouettes
    low = np.full(3, -SEARCH_HALF_EXTENT)
    high = np.full(3, SEARCH_HALF_EXTENT)
    coarse = carve_hull(masks, views.poses, views.camera_angle_x, low, high, 48, config.hull_tolerance)
    if not coarse.any():
        raise ValueError("the training silhouettes carve away everything: are the poses right?")
    cell = (high - low) / 47
    occupied = np.argwhere(coarse)
    box_low = low + (occupied.min(axis=0) - 2) * cell
    box_high = low + (occupied.max(axis=0) + 2) * cell
    centre, half = (box_low + box_high) / 2, float((box_high - box_low).max()) / 2
    low, high = centre - half, centre + half
    hull = carve_hull(masks, views.poses, views.camera_angle_x, low, high, config.resolution, config.hull_tolerance)
    return VoxelField(low, high, dilate(hull, config.hull_dilation))


def training_rays(views: TrainingViews, device: torch.device | str = "cpu",
                  with_views: bool = False) -> tuple[torch.Tensor, ...]:
    """Origins, directions and colours (on ``device``) of every training pixel near the object's
    silhouette, and with ``with_views`` each ray's view number."""
    size = views.images.shape[1]
    near_object = dilate_2d(views.silhouettes, 3).reshape(len(views.images), -1)
    directions = pixel_directions(size, views.camera_angle_x)
    origins, dirs, colours, numbers = [], [], [], []
    for number, pose in enumerate(torch.tensor(views.poses)):
        keep = torch.from_numpy(near_object[number])
        world = directions[keep] @ pose[:3, :3].T
        dirs.append(world / world.norm(dim=1, keepdim=True))
        origins.append(pose[:3, 3].expand(int(keep.sum()), 3))
        colours.append(torch.from_numpy(views.images[number].reshape(-1, 3))[keep])
        numbers.append(torch.full((int(keep.sum()),), number, dtype=torch.long))
    rays = (torch.cat(origins).to(device), torch.cat(dirs).to(device), torch.cat(colours).to(device))
    return rays + (torch.cat(numbers).to(device),) if with_views else rays


def fit_field(views: TrainingViews, config: FieldConfig,
              progress: Callable[[int, int, float, float], None] | None = None,
              device: torch.device | str = "cpu") -> tuple[VoxelField, dict[str, float]]:
    """Build and train the field on ``device`` (it stays there); ``progress(step, steps, loss,
    seconds)`` is called now and then. Ray batches are drawn on the CPU, so they do not depend
    on the device; deterministic algorithms make the same views and seed give the same field,
    byte for byte, on one machine (:func:`device.deterministic`)."""
    with deterministic():
        return _fit_field(views, config, progress, device)


def _fit_field(views: TrainingViews, config: FieldConfig, progress: Callable[[int, int, float, float], None] | None,
               device: torch.device | str) -> tuple[VoxelField, dict[str, float]]:
    torch.manual_seed(config.seed)
    started = time.perf_counter()
    field = build_field(views, config).to(device)
    origins, directions, colours, view_of_ray = training_rays(views, device, with_views=True)
    packed = PackedSamples(field, origins, directions)
    useful = torch.nonzero(packed.counts > 0, as_tuple=True)[0]  # rays that meet the hull
    generator = torch.Generator().manual_seed(config.seed)
    groups = [{"params": list(field.parameters())}]
    log_gain = None
    if config.appearance == "gain":  # a per-channel exposure of each view, mean zero over the views
        log_gain = torch.zeros(len(views.images), 3, device=origins.device, requires_grad=True)
        groups.append({"params": [log_gain], "lr": APPEARANCE_LR})
    optimiser = torch.optim.Adam(groups, lr=config.lr, betas=(0.9, 0.99))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 0.1 ** (step / max(config.steps, 1)))
    loss_value = float("nan")
    for step in range(config.steps):
        batch = useful[torch.randint(0, len(useful), (config.batch_rays,), generator=generator).to(useful.device)]
        ray_index, t = packed.gather(batch)
        rgb, opacity = field.composite(origins[batch], directions[batch], ray_index, t)
        if log_gain is not None:
            centred = log_gain - log_gain.mean(dim=0, keepdim=True)
            rgb = scale_object(rgb, opacity, torch.exp(centred[view_of_ray[batch]]))
        photometric = torch.mean((rgb - colours[batch]) ** 2)
        loss = photometric + config.smoothness * field.smoothness_loss() if config.smoothness > 0 else photometric
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        loss_value = float(photometric.detach())
        if progress is not None and (step % 50 == 0 or step == config.steps - 1):
            progress(step + 1, config.steps, loss_value, time.perf_counter() - started)
    psnr = -10 * np.log10(max(loss_value, 1e-10))
    extra = {}
    if log_gain is not None:
        gains = torch.exp(log_gain - log_gain.mean(dim=0, keepdim=True)).detach().cpu().numpy()
        extra = {"view_gain_range": [round(float(gains.min()), 4), round(float(gains.max()), 4)]}
    return field, {**extra, "seconds": time.perf_counter() - started, "final_loss": loss_value, "train_psnr": float(psnr),
                   "occupied_voxels": int(field.occupancy.sum()), "rays": int(len(origins)),
                   "silhouettes": views.mask_source,
                   "background": views.background.to_dict() if views.background is not None else None}
