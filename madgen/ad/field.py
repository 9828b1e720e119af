"""A fast radiance field for CPU: a dense voxel grid (density + colour) sampled only inside a visual hull.

The training views have known poses and silhouettes (:mod:`madgen.ad.foreground`), so the
object's visual hull is carved from them first; rays are sampled only in (dilated) hull voxels, which is
most of the speed. Density and colour are dense grids interpolated trilinearly
(``torch.nn.functional.grid_sample``) and composited front to back onto white, as a NeRF is;
there is no MLP. Everything is differentiable in the ray origins and directions too, which is
what pose refinement uses.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .rays import focal

def _project(points: np.ndarray, pose: np.ndarray, size: int, camera_angle_x: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel columns and rows of world ``points`` (P, 3) in a view, NaN behind the camera."""
    world_to_camera = np.linalg.inv(pose)
    camera = points @ world_to_camera[:3, :3].T + world_to_camera[:3, 3]
    f = focal(size, camera_angle_x)
    depth = -camera[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(depth > 1e-6, camera[:, 0] / depth * f + size / 2, np.nan)
        v = np.where(depth > 1e-6, -camera[:, 1] / depth * f + size / 2, np.nan)
    return u, v


def carve_hull(masks: np.ndarray, poses: np.ndarray, camera_angle_x: float, low: np.ndarray, high: np.ndarray,
               resolution: int, tolerance: int) -> np.ndarray:
    """Voxels (resolution^3, indexed [x, y, z]) inside all but ``tolerance`` silhouettes."""
    size = masks.shape[1]
    axes = [np.linspace(low[i], high[i], resolution) for i in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    outside = np.zeros(len(grid), np.int32)
    for mask, pose in zip(masks, poses):
        u, v = _project(grid, pose, size, camera_angle_x)
        inside_image = (u >= 0) & (u < size) & (v >= 0) & (v < size)
        cols = np.clip(np.nan_to_num(u), 0, size - 1).astype(np.int64)
        rows = np.clip(np.nan_to_num(v), 0, size - 1).astype(np.int64)
        outside += inside_image & ~mask[rows, cols]
    return (outside <= tolerance).reshape(resolution, resolution, resolution)


def scale_object(rgb: torch.Tensor, opacity: torch.Tensor, gain: torch.Tensor) -> torch.Tensor:
    """Rays' colours on white (R, 3) with their object part (what :meth:`VoxelField.composite`
    adds over the white) scaled per channel by ``gain`` (3 or R x 3); the white stays white."""
    background = (1 - opacity)[:, None]
    return background + gain * (rgb - background)


def dilate_2d(masks: np.ndarray, steps: int) -> np.ndarray:
    """Grow boolean masks by ``steps`` pixels (4-connected) over their last two axes."""
    grown = np.asarray(masks, dtype=bool).copy()
    pad = [(0, 0)] * (grown.ndim - 2) + [(1, 1), (1, 1)]
    for _ in range(steps):
        padded = np.pad(grown, pad)
        grown = grown | padded[..., :-2, 1:-1] | padded[..., 2:, 1:-1] | padded[..., 1:-1, :-2] \
            | padded[..., 1:-1, 2:]
    return grown


def dilate(occupancy: np.ndarray, steps: int) -> np.ndarray:
    """Grow a boolean voxel grid by ``steps`` voxels (6-connected)."""
    grown = occupancy.copy()
    for _ in range(steps):
        padded = np.pad(grown, 1)
        grown = grown | padded[:-2, 1:-1, 1:-1] | padded[2:, 1:-1, 1:-1] | padded[1:-1, :-2, 1:-1] \
            | padded[1:-1, 2:, 1:-1] | padded[1:-1, 1:-1, :-2] | padded[1:-1, 1:-1, 2:]
    return grown


class VoxelField(torch.nn.Module):
    """Density and colour grids over an axis-aligned box, with an occupancy grid for sampling."""

    def __init__(self, low: np.ndarray, high: np.ndarray, occupancy: np.ndarray) -> None:
        super().__init__()
        resolution = occupancy.shape[0]
        self.register_buffer("low", torch.tensor(low, dtype=torch.float32))
        self.register_buffer("high", torch.tensor(high, dtype=torch.float32))
        self.register_buffer("occupancy", torch.tensor(occupancy, dtype=torch.bool))
        # grid_sample reads a (1, C, D, H, W) volume with coordinates (x, y, z) -> (W, H, D)
        density = np.where(occupancy, 0.0, -10.0).astype(np.float32).transpose(2, 1, 0)
        self.density = torch.nn.Parameter(torch.tensor(density)[None, None].contiguous())
        self.colour = torch.nn.Parameter(torch.zeros(1, 3, resolution, resolution, resolution))

    def _neighbour_pairs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Flat grid indexes of every pair of face-adjacent occupied voxels (computed once)."""
        if getattr(self, "_pairs", None) is None or self._pairs[0].device != self.occupancy.device:
            occupied = self.occupancy.permute(2, 1, 0).contiguous()  # the grids' (z, y, x) order
            flat = torch.arange(occupied.numel(), device=occupied.device).reshape(occupied.shape)
            first, second = [], []
            for axis in range(3):
                length = occupied.shape[axis] - 1
                both = occupied.narrow(axis, 0, length) & occupied.narrow(axis, 1, length)
                first.append(flat.narrow(axis, 0, length)[both])
                second.append(flat.narrow(axis, 1, length)[both])
            self._pairs = (torch.cat(first), torch.cat(second))
        return self._pairs

    def smoothness_loss(self) -> torch.Tensor:
        """Mean squared difference of the colour (pre-sigmoid) of face-adjacent occupied voxels.

        A total-variation prior: a voxel that few training rays pin down takes its neighbours'
        colour instead of the noise of those rays, so reference renders are not grainy.
        """
        first, second = self._neighbour_pairs()
        colour = self.colour.reshape(3, -1)
        return ((colour[:, first] - colour[:, second]) ** 2).mean()

    @property
    def resolution(self) -> int:
        """Voxels per side."""
        return int(self.occupancy.shape[0])

    @property
    def step(self) -> float:
        """The ray-marching step: one voxel."""
        return float((self.high - self.low).max()) / (self.resolution - 1)

    def query(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Density (P,) and colour (P, 3) at world ``points`` (P, 3)."""
        normalised = (points - self.low) / (self.high - self.low) * 2 - 1
        grid = normalised[None, :, None, None, :]
        raw = F.grid_sample(self.density, grid, align_corners=True, padding_mode="border").reshape(-1)
        colour = F.grid_sample(self.colour, grid, align_corners=True, padding_mode="border").reshape(3, -1).T
        return F.softplus(raw), torch.sigmoid(colour)

    def _occupied(self, points: torch.Tensor) -> torch.Tensor:
        cells = ((points - self.low) / (self.high - self.low) * (self.resolution - 1)).round().long()
        inside = ((cells >= 0) & (cells < self.resolution)).all(dim=-1)
        cells = cells.clamp(0, self.resolution - 1)
        return inside & self.occupancy[cells[..., 0], cells[..., 1], cells[..., 2]]

    def sample(self, origins: torch.Tensor, directions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Ray indexes and distances of the samples (one per voxel step) that fall in occupied voxels."""
        step = self.step
        with torch.no_grad():
            safe = torch.where(directions.abs() < 1e-9, torch.full_like(directions, 1e-9), directions)
            t0, t1 = (self.low - origins) / safe, (self.high - origins) / safe
            near = torch.minimum(t0, t1).amax(dim=1).clamp(min=0.0)
            far = torch.maximum(t0, t1).amin(dim=1)
            hit = far > near
            span = float((far - near)[hit].max()) if hit.any() else 0.0
            count = max(1, int(math.ceil(span / step)))
            t = near[:, None] + (torch.arange(count, dtype=torch.float32, device=origins.device)[None] + 0.5) * step
            keep = (t < far[:, None]) & hit[:, None]
            keep &= self._occupied(origins[:, None] + directions[:, None] * t[..., None])
            ray_index, sample_index = torch.nonzero(keep, as_tuple=True)
            return ray_index, t[ray_index, sample_index]

    def render(self, origins: torch.Tensor, directions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Colour (R, 3) on white and opacity (R,) of rays with unit ``directions``."""
        ray_index, t = self.sample(origins, directions)
        return self.composite(origins, directions, ray_index, t)

    def composite(self, origins: torch.Tensor, directions: torch.Tensor, ray_index: torch.Tensor,
                  t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Composite front to back the samples (``ray_index`` ascending, ``t`` ascending per ray)."""
        rays = origins.shape[0]
        if ray_index.numel() == 0:
            return torch.ones(rays, 3, device=origins.device), torch.zeros(rays, device=origins.device)
        points = origins[ray_index] + directions[ray_index] * t[:, None]
        sigma, colour = self.query(points)
        log_clear = -sigma * self.step
        inclusive = torch.cumsum(log_clear, dim=0)
        exclusive = inclusive - log_clear
        starts = torch.ones_like(ray_index, dtype=torch.bool)
        starts[1:] = ray_index[1:] != ray_index[:-1]
        first = torch.zeros(rays, dtype=torch.long, device=origins.device)
        first[ray_index[starts]] = torch.nonzero(starts, as_tuple=True)[0]
        transmittance = torch.exp(exclusive - exclusive[first[ray_index]])
        weights = transmittance * (1 - torch.exp(log_clear))
        rgb = torch.zeros(rays, 3, device=origins.device).index_add(0, ray_index, weights[:, None] * colour)
        opacity = torch.zeros(rays, device=origins.device).index_add(0, ray_index, weights)
        return rgb + (1 - opacity[:, None]), opacity


class PackedSamples:
    """The occupied samples of a fixed set of rays, computed once; batches gather theirs."""

    def __init__(self, field: VoxelField, origins: torch.Tensor, directions: torch.Tensor, chunk: int = 8192) -> None:
        counts, distances = [], []
        for first in range(0, len(origins), chunk):
            ray_index, t = field.sample(origins[first:first + chunk], directions[first:first + chunk])
            counts.append(torch.bincount(ray_index, minlength=min(chunk, len(origins) - first)))
            distances.append(t)
        self.counts = torch.cat(counts)
        self.offsets = torch.cumsum(self.counts, 0) - self.counts
        self.t = torch.cat(distances)

    def gather(self, rays: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Ray indexes (into ``rays``) and distances of the samples of the selected rays."""
        counts = self.counts[rays]
        ray_index = torch.repeat_interleave(torch.arange(len(rays), device=counts.device), counts)
        within = torch.arange(int(counts.sum()), device=counts.device) - (torch.cumsum(counts, 0) - counts)[ray_index]
        return ray_index, self.t[self.offsets[rays][ray_index] + within]
