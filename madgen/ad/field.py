"""A fast radiance field for CPU: a voxel grid (density + colour) sampled only inside a visual hull.

The training views have known poses and silhouettes (:mod:`madgen.ad.foreground`), so the
object's visual hull is carved from them first; rays are sampled only in (dilated) hull voxels, which is
most of the speed. Density and colour are interpolated trilinearly between voxel centres and
composited front to back onto white, as a NeRF is; there is no MLP. Everything is
differentiable in the ray origins and directions too, which is what pose refinement uses.

Only the voxels a sample can touch are stored: a sample lies in an occupied voxel, so its eight
interpolation corners lie in the occupied voxels grown by one (26-connected), the field's
*support*. Their values are one table (support voxels x 4: raw density, then raw colour), read
by index (``index_select``) rather than by ``grid_sample`` over the dense cube, whose CPU kernel
runs on one thread for a single volume and whose gradient is the whole cube's every step. Any
other point reads a constant empty voxel (raw density -10, colour 0), which is what the dense
grids held there, untouched, before.
"""

from __future__ import annotations

from typing import Any

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
    """Voxels (resolution^3, indexed [x, y, z]) inside all but ``tolerance`` silhouettes.

    A voxel outside more than ``tolerance`` silhouettes is out for good, so each view projects
    only the voxels still in (most of the box is gone after a few views)."""
    size = masks.shape[1]
    axes = [np.linspace(low[i], high[i], resolution) for i in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    alive = np.arange(len(grid))
    outside = np.zeros(len(grid), np.int32)
    for mask, pose in zip(masks, poses):
        u, v = _project(grid[alive], pose, size, camera_angle_x)
        inside_image = (u >= 0) & (u < size) & (v >= 0) & (v < size)
        cols = np.clip(np.nan_to_num(u), 0, size - 1).astype(np.int64)
        rows = np.clip(np.nan_to_num(v), 0, size - 1).astype(np.int64)
        outside[alive] += inside_image & ~mask[rows, cols]
        alive = alive[outside[alive] <= tolerance]
    kept = np.zeros(len(grid), bool)
    kept[alive] = True
    return kept.reshape(resolution, resolution, resolution)


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


#: The raw values (density, then colour) of a voxel outside the support: empty.
EMPTY = (-10.0, 0.0, 0.0, 0.0)
#: The eight corners of a voxel cell, as (dx, dy, dz).
CORNERS = [(dx, dy, dz) for dx in (0, 1) for dy in (0, 1) for dz in (0, 1)]


def support_of(occupancy: torch.Tensor) -> torch.Tensor:
    """The voxels (bool, like ``occupancy``) within one step, diagonals included, of an occupied one."""
    grown = F.max_pool3d(occupancy[None, None].float(), kernel_size=3, stride=1, padding=1)[0, 0]
    return grown > 0


class VoxelField(torch.nn.Module):
    """Density and colour of the support voxels, with an occupancy grid for sampling."""

    def __init__(self, low: np.ndarray, high: np.ndarray, occupancy: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("low", torch.tensor(low, dtype=torch.float32))
        self.register_buffer("high", torch.tensor(high, dtype=torch.float32))
        self.register_buffer("occupancy", torch.tensor(occupancy, dtype=torch.bool))
        support = support_of(self.occupancy)
        slots = torch.full(support.shape, int(support.sum()), dtype=torch.long)  # the empty row
        slots[support] = torch.arange(int(support.sum()))
        #: per voxel [x, y, z], its row in ``values`` (the empty row past the end outside the support)
        self.register_buffer("slots", slots.reshape(-1), persistent=False)
        self.register_buffer("empty", torch.tensor([EMPTY]), persistent=False)
        #: the flat index of each of a cell's eight corners from its first
        self.register_buffer("corner_offsets", self._flat(*torch.tensor(CORNERS).T), persistent=False)
        values = torch.zeros(int(support.sum()), 4)
        values[:, 0] = torch.where(self.occupancy[support], 0.0, EMPTY[0])
        self.values = torch.nn.Parameter(values)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):  # type: ignore[override]
        """As torch's, also reading a field saved with dense grids (``density`` and ``colour``,
        as fields were saved before the support table): their support voxels become the table."""
        if "density" in state_dict and "values" not in state_dict:
            state_dict = dict(state_dict)
            dense = torch.cat([state_dict.pop("density"), state_dict.pop("colour")], dim=1)[0]  # (4, z, y, x)
            occupancy = state_dict.get("occupancy", self.occupancy)
            state_dict["values"] = dense.permute(3, 2, 1, 0)[support_of(occupancy)].contiguous()
        return super().load_state_dict(state_dict, strict, assign)

    def _flat(self, x: Any, y: Any, z: Any) -> Any:
        """The flat index of voxel [x, y, z] (ints or integer tensors) in the grid's x-major order."""
        return (x * self.resolution + y) * self.resolution + z

    def voxel(self, x: int, y: int, z: int) -> int | None:
        """The row in ``values`` of voxel [x, y, z], or None outside the support."""
        row = int(self.slots[self._flat(x, y, z)])
        return row if row < len(self.values) else None

    def _neighbour_pairs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows of every pair of face-adjacent occupied voxels (computed once)."""
        if getattr(self, "_pairs", None) is None or self._pairs[0].device != self.occupancy.device:
            occupied = self.occupancy
            rows = self.slots.reshape(occupied.shape)
            first, second = [], []
            for axis in range(3):
                length = occupied.shape[axis] - 1
                both = occupied.narrow(axis, 0, length) & occupied.narrow(axis, 1, length)
                first.append(rows.narrow(axis, 0, length)[both])
                second.append(rows.narrow(axis, 1, length)[both])
            self._pairs = (torch.cat(first), torch.cat(second))
        return self._pairs

    def smoothness_loss(self) -> torch.Tensor:
        """Mean squared difference of the colour (pre-sigmoid) of face-adjacent occupied voxels.

        A total-variation prior: a voxel that few training rays pin down takes its neighbours'
        colour instead of the noise of those rays, so reference renders are not grainy.
        """
        first, second = self._neighbour_pairs()
        colour = self.values[:, 1:]
        return ((colour[first] - colour[second]) ** 2).mean()

    @property
    def resolution(self) -> int:
        """Voxels per side."""
        return int(self.occupancy.shape[0])

    @property
    def step(self) -> float:
        """The ray-marching step: one voxel."""
        return float((self.high - self.low).max()) / (self.resolution - 1)

    def query(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Density (P,) and colour (P, 3) at world ``points`` (P, 3): trilinear between voxel
        centres, the box's edge voxels extended outwards (``grid_sample``'s border padding with
        aligned corners)."""
        last = self.resolution - 1
        position = ((points - self.low) / (self.high - self.low) * last).clamp(0, last)
        base = position.detach().floor().clamp(max=last - 1)
        fraction = position - base
        cell = base.long()
        rows = self.slots[self._flat(cell[:, 0], cell[:, 1], cell[:, 2])[:, None] + self.corner_offsets]  # (P, 8)
        x, y, z = (torch.stack([1 - fraction[:, axis], fraction[:, axis]], dim=1) for axis in range(3))
        weights = (x[:, :, None, None] * y[:, None, :, None] * z[:, None, None, :]).reshape(-1, 8)
        table = torch.cat([self.values, self.empty])
        corners = table.index_select(0, rows.reshape(-1)).reshape(-1, 8, 4)
        raw = torch.bmm(weights[:, None, :], corners)[:, 0]
        return F.softplus(raw[:, 0]), torch.sigmoid(raw[:, 1:])

    def _occupied(self, points: torch.Tensor) -> torch.Tensor:
        """Whether each point's nearest voxel is occupied (False outside the grid). Read from the
        occupancy grid with a one-voxel empty border, so a point outside needs no test of its own:
        its cell is clamped into the border."""
        key = (self.occupancy.data_ptr(), self.occupancy._version)
        cached = getattr(self, "_bordered", None)
        if cached is None or cached[0] != key:
            size = self.resolution + 2
            bordered = F.pad(self.occupancy, (1, 1, 1, 1, 1, 1)).reshape(-1)
            strides = torch.tensor([size * size, size, 1], device=self.occupancy.device)
            cached = self._bordered = (key, bordered, strides, int(strides.sum()))
        _, bordered, strides, offset = cached
        last = self.resolution - 1
        cells = ((points - self.low) / (self.high - self.low) * last).round_().clamp_(-1, self.resolution).long()
        return bordered[(cells * strides).sum(dim=-1) + offset]

    def _occupied_box(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The world box (low, high) that holds every point whose nearest voxel is occupied (the
        occupied voxels' bounding box, half a voxel out, and a thousandth of one more); computed once."""
        cached = getattr(self, "_box", None)
        if cached is None or cached[0].device != self.occupancy.device:
            cells = torch.nonzero(self.occupancy).float()
            size = (self.high - self.low) / (self.resolution - 1)
            if len(cells) == 0:
                cached = (self.low, self.low)
            else:
                cached = (self.low + (cells.min(dim=0).values - 0.501) * size,
                          self.low + (cells.max(dim=0).values + 0.501) * size)
            self._box = cached
        return cached

    def sample(self, origins: torch.Tensor, directions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Ray indexes and distances of the samples (one per voxel step) that fall in occupied voxels.

        The samples lie on each ray at ``near + (k + 1/2) * step`` from where it enters the grid's
        box; only the steps ``k`` inside the occupied voxels' own bounding box are looked up in
        the occupancy grid (the others cannot be occupied), which skips most of the empty space
        of a cube around a long or flat toy without moving any sample."""
        step = self.step
        with torch.no_grad():
            safe = torch.where(directions.abs() < 1e-9, torch.full_like(directions, 1e-9), directions)
            t0, t1 = (self.low - origins) / safe, (self.high - origins) / safe
            near = torch.minimum(t0, t1).amax(dim=1).clamp(min=0.0)
            far = torch.maximum(t0, t1).amin(dim=1)
            box_low, box_high = self._occupied_box()
            u0, u1 = (box_low - origins) / safe, (box_high - origins) / safe
            enter = torch.maximum(torch.minimum(u0, u1).amax(dim=1), near)
            leave = torch.minimum(torch.maximum(u0, u1).amin(dim=1), far)
            hit = (far > near) & (leave > enter)
            first = torch.ceil((enter - near) / step - 0.5).clamp(min=0)
            last = torch.floor((leave - near) / step - 0.5)
            steps = torch.where(hit, last - first + 1, torch.zeros_like(first)).clamp(min=0)
            count = max(1, int(steps.max())) if len(steps) else 1
            index = torch.arange(count, dtype=torch.float32, device=origins.device)[None]
            t = near[:, None] + (first[:, None] + index + 0.5) * step
            keep = (index < steps[:, None]) & (t < far[:, None])
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
        # one running sum over every ray's samples, in float64: in float32 a batch's sum reaches
        # 10^4-10^5, where a ray's own partial sums (differences of two such) lose 2-3 digits
        inclusive = torch.cumsum(log_clear.double(), dim=0)
        exclusive = inclusive - log_clear.double()
        starts = torch.ones_like(ray_index, dtype=torch.bool)
        starts[1:] = ray_index[1:] != ray_index[:-1]
        first = torch.zeros(rays, dtype=torch.long, device=origins.device)
        first[ray_index[starts]] = torch.nonzero(starts, as_tuple=True)[0]
        transmittance = torch.exp(exclusive - exclusive[first[ray_index]]).float()
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
