"""Conversion from the LDraw frame to Blender's frame.

LDraw: units are LDU, +X right, **-Y up**, +Z towards the back (models face -Z).
Blender: metres, **Z up**, models face -Y.

The conversion is ``p_blender = S * R * p_ldraw`` with ``S = 0.0004`` (1 LDU = 0.4 mm) and ``R`` a
rotation of -90 degrees about X, i.e. ``(x, y, z) -> (x, z, -y)``. ``R`` is a proper rotation
(determinant +1), so triangle winding and outward normals are preserved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .assembly import Assembly

#: Metres per LDraw unit (1 LDU = 0.4 mm).
LDU_IN_METRES = 0.0004

#: The rotation part of the LDraw -> Blender conversion: (x, y, z) -> (x, z, -y).
LDRAW_TO_BLENDER_ROTATION = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def ldraw_to_blender_matrix(scale: float = LDU_IN_METRES) -> np.ndarray:
    """The 4x4 matrix taking LDraw points (LDU) to Blender points (metres, Z up)."""
    matrix = np.eye(4)
    matrix[:3, :3] = LDRAW_TO_BLENDER_ROTATION * scale
    return matrix


def points_to_blender(points: np.ndarray, scale: float = LDU_IN_METRES) -> np.ndarray:
    """Convert (..., 3) LDraw points to Blender coordinates."""
    return np.asarray(points, dtype=np.float64) @ (LDRAW_TO_BLENDER_ROTATION * scale).T


def transform_to_blender(transform: np.ndarray, scale: float = LDU_IN_METRES) -> np.ndarray:
    """Convert a 4x4 LDraw placement (or a stack (N, 4, 4) of them) into Blender object matrices.

    For a mesh whose vertices were converted with :func:`points_to_blender`, the returned matrix
    ``C @ T @ C^-1`` places it exactly where ``T`` places the LDraw mesh (rotation unscaled,
    translation in metres). ``C^-1`` is written out (``R`` is orthogonal), so a whole model's
    placements convert in one vectorised product.
    """
    convert = ldraw_to_blender_matrix(scale)
    inverse = np.eye(4)
    inverse[:3, :3] = LDRAW_TO_BLENDER_ROTATION.T / scale
    return convert @ np.asarray(transform, dtype=np.float64) @ inverse


def model_points_m(assembly: "Assembly") -> np.ndarray:
    """Every placed vertex of a model in Blender metres (for framing and normalisation)."""
    chunks = []
    for part_id in sorted({instance.part_id for instance in assembly.instances}):
        if len(assembly.meshes[part_id].vertices):
            chunks.append(points_to_blender(assembly.world_vertices(part_id).reshape(-1, 3)))
    return np.concatenate(chunks) if chunks else np.zeros((0, 3))


def _fibonacci_directions(count: int) -> np.ndarray:
    """``count`` unit vectors spread evenly over the sphere, plus the six axis directions."""
    index = np.arange(count) + 0.5
    z = 1.0 - 2.0 * index / count
    angle = np.pi * (1.0 + 5.0 ** 0.5) * index
    radius = np.sqrt(1.0 - z * z)
    axes = np.concatenate([np.eye(3), -np.eye(3)])
    return np.concatenate([axes, np.c_[radius * np.cos(angle), radius * np.sin(angle), z]])


def support_points(points: np.ndarray, directions: int = 2048, chunk: int = 64, block: int = 128) -> np.ndarray:
    """The points that lie farthest along any of ``directions`` evenly spread directions (and the axes).

    They are vertices of the convex hull and include the bounding box's extremes; the extremes of
    the points' image in any view (the maximum of a ratio of linear functions over a convex set is
    at a hull vertex) are at them or within a hair, so framing projects a few hundred points
    instead of every vertex of a model.

    Large inputs are culled first, exactly: the points are cut into runs of ``block`` (a placed
    part's points are contiguous, so a run is compact), and a run whose bounding sphere lies
    box lies
    wholly behind a lower bound of the support function (the farthest of the runs' own extremes)
    in every direction cannot hold a support point. The result is the same set, in the same order,
    as the brute-force search; a grid of 6,000 parts keeps only its outer runs.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    if len(points) <= directions:
        return points
    units = _fibonacci_directions(directions)
    candidates = points
    if len(points) > 8 * block:
        count = -(-len(points) // block)
        # runs of nearby points: sorted by a coarse grid cell with about ``block`` points each
        low, high = points.min(axis=0), points.max(axis=0)
        cells = max(1, int(round(count ** (1.0 / 3.0))))
        index = np.minimum(((points - low) / np.maximum(high - low, 1e-12) * cells).astype(np.int64), cells - 1)
        order = np.argsort((index[:, 0] * cells + index[:, 1]) * cells + index[:, 2], kind="stable")
        ordered = points[order]
        padded = np.concatenate([ordered, np.repeat(ordered[-1:], count * block - len(points), axis=0)])
        runs = padded.reshape(count, block, 3)
        centres = 0.5 * (runs.min(axis=1) + runs.max(axis=1))
        halves = 0.5 * (runs.max(axis=1) - runs.min(axis=1))
        # each run's extremes along the six axes: real points, so their support is a lower bound
        axis_extremes = np.concatenate([runs[np.arange(count), runs[:, :, k].argmax(axis=1)] for k in range(3)]
                                       + [runs[np.arange(count), runs[:, :, k].argmin(axis=1)] for k in range(3)])
        keep = np.zeros(count, dtype=bool)
        for first in range(0, len(units), chunk):
            part = units[first:first + chunk]
            lower = (part @ axis_extremes.T).max(axis=1)
            reach = part @ centres.T + np.abs(part) @ halves.T  # the farthest corner of each run's box
            keep |= (reach >= lower[:, None] - 1e-9 * (1.0 + np.abs(lower[:, None]))).any(axis=0)
        mask = np.zeros(len(points), dtype=bool)
        mask[order] = np.repeat(keep, block)[:len(points)]
        candidates = points[mask]
    transposed = np.ascontiguousarray(candidates.T)
    chosen = [np.argmax(units[first:first + chunk] @ transposed, axis=1) for first in range(0, len(units), chunk)]
    return candidates[np.unique(np.concatenate(chosen))]


def model_support_points_m(assembly: "Assembly") -> np.ndarray:
    """The support points (:func:`support_points`) of a whole model in Blender metres, found per
    distinct part and placed by every instance, so a model of thousands of parts is framed from
    thousands of points instead of millions of vertices."""
    chunks = []
    for part_id in sorted({instance.part_id for instance in assembly.instances}):
        vertices = assembly.meshes[part_id].vertices
        if not len(vertices):
            continue
        extremes = support_points(vertices, directions=512)
        transforms = np.stack([i.transform for i in assembly.instances if i.part_id == part_id])
        placed = np.einsum("kij,vj->kvi", transforms[:, :3, :3], extremes) + transforms[:, None, :3, 3]
        chunks.append(points_to_blender(placed.reshape(-1, 3)))
    return np.concatenate(chunks) if chunks else np.zeros((0, 3))
