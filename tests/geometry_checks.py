"""Reference geometry checks used by the tests (independent of madgen's code paths)."""

from __future__ import annotations

import numpy as np


def signed_volume(vertices: np.ndarray, triangles: np.ndarray) -> float:
    """Volume enclosed by a triangle mesh, positive when the faces point outward."""
    corners = vertices[triangles].astype(np.float64)
    return float(np.einsum("ij,ij->i", corners[:, 0], np.cross(corners[:, 1], corners[:, 2])).sum() / 6.0)


def _ray_hits(origins: np.ndarray, directions: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Count, per ray, the triangles it crosses at t > 0 (Moller-Trumbore, vectorised)."""
    v0, v1, v2 = corners[:, 0], corners[:, 1], corners[:, 2]
    e1, e2 = v1 - v0, v2 - v0
    counts = np.zeros(len(origins), np.int64)
    for start in range(0, len(origins), 64):
        o = origins[start:start + 64, None, :]
        d = directions[start:start + 64, None, :]
        p = np.cross(d, e2[None])
        det = np.einsum("rtk,tk->rt", p, e1)
        ok = np.abs(det) > 1e-12
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        s = o - v0[None]
        u = np.einsum("rtk,rtk->rt", s, p) * inv
        q = np.cross(s, e1[None])
        v = np.einsum("rk,rtk->rt", d[:, 0], q) * inv
        t = np.einsum("rtk,tk->rt", q, e2) * inv
        hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 1e-9)
        counts[start:start + 64] = hit.sum(axis=1)
    return counts


def outward_fraction(vertices: np.ndarray, triangles: np.ndarray, seed: int = 0) -> float:
    """Share of triangles whose front side faces outside the solid (by ray parity)."""
    corners = vertices[triangles].astype(np.float64)
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    lengths = np.linalg.norm(normals, axis=1)
    valid = lengths > 1e-9
    corners, normals = corners[valid], normals[valid] / lengths[valid, None]
    rng = np.random.default_rng(seed)
    directions = normals + rng.normal(scale=0.05, size=normals.shape)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    origins = corners.mean(axis=1) + 1e-3 * normals
    hits = _ray_hits(origins, directions, corners)
    return float(np.mean(hits % 2 == 0))
