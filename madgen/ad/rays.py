"""Camera rays in the NeRF/Blender convention: camera looks down -Z, +Y up, pinhole at the centre."""

from __future__ import annotations

import math

import torch


def focal(width: int, camera_angle_x: float) -> float:
    """Focal length in pixels: 0.5 * W / tan(0.5 * camera_angle_x)."""
    return 0.5 * width / math.tan(0.5 * camera_angle_x)


def pixel_directions(size: int, camera_angle_x: float, pixels: torch.Tensor | None = None,
                     device: torch.device | str = "cpu") -> torch.Tensor:
    """Camera-frame ray directions (P, 3) through pixel centres (all of them on ``device``, or
    ``pixels`` (P, 2) as x, y, on theirs)."""
    f = focal(size, camera_angle_x)
    if pixels is None:
        line = torch.arange(size, dtype=torch.float32, device=device)
        ys, xs = torch.meshgrid(line, line, indexing="ij")
        pixels = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)
    x = (pixels[:, 0] + 0.5 - size / 2) / f
    y = -(pixels[:, 1] + 0.5 - size / 2) / f
    return torch.stack([x, y, -torch.ones_like(x)], dim=1)


def world_rays(camera_to_world: torch.Tensor, directions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Origins and unit directions in the world for camera-frame ``directions`` of one pose (4, 4)."""
    rotation, origin = camera_to_world[:3, :3], camera_to_world[:3, 3]
    world = directions @ rotation.T
    world = world / world.norm(dim=1, keepdim=True)
    return origin.expand_as(world), world


def se3_exp(xi: torch.Tensor) -> torch.Tensor:
    """The 4x4 rigid transform exp(xi) for a twist ``xi`` = (rotation (3), translation (3))."""
    omega, v = xi[:3], xi[3:]
    theta = omega.norm()
    eye = torch.eye(3, dtype=xi.dtype, device=xi.device)
    hat = torch.zeros(3, 3, dtype=xi.dtype, device=xi.device)
    hat[0, 1], hat[0, 2], hat[1, 2] = -omega[2], omega[1], -omega[0]
    hat = hat - hat.T
    if float(theta.detach()) < 1e-8:
        rotation = eye + hat
        left = eye + 0.5 * hat
    else:
        a = torch.sin(theta) / theta
        b = (1 - torch.cos(theta)) / theta**2
        c = (theta - torch.sin(theta)) / theta**3
        rotation = eye + a * hat + b * hat @ hat
        left = eye + b * hat + c * hat @ hat
    top = torch.cat([rotation, (left @ v)[:, None]], dim=1)
    return torch.cat([top, torch.tensor([[0.0, 0.0, 0.0, 1.0]], dtype=xi.dtype, device=xi.device)], dim=0)
