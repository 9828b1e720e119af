"""Relighting a reference to a test photograph: low-order shading in the surface normal.

Under a light that changes from image to image (MAD-Real's photographs), the field's render at
the right pose still differs from a good test image face by face: a face turned to this image's
key light is brighter than on average, one turned away is darker. A per-channel gain
(:func:`madgen.ad.anomaly.match_colour`) absorbs exposure and white balance but not the light's
direction. Here the reference's object colour is multiplied by a smooth function of its surface
normal, a second-order spherical-harmonic polynomial (nine terms; for a convex Lambertian
surface, second order carries about 99% of the irradiance under any distant light, Ramamoorthi
and Hanrahan 2001), plus an offset, fitted per channel to the test image by robust least squares
on the reference's object pixels. Nine smooth terms over the whole object cannot follow a stain,
a burr or a missing brick, which cover a few percent of it; trimming at 2.5 robust standard
deviations keeps those pixels out of the fit. Cast shadows and highlights are not modelled.

The normals come from the field's expected ray distance (:meth:`VoxelField.render_surface`):
camera-frame surface points, their image-space derivatives, and a cross product, smoothed and
filled where a depth edge leaves a pixel without a normal of its own.
"""

from __future__ import annotations

import cv2
import numpy as np

from .rays import focal

#: Object opacity at or above which a pixel's distance is a surface's.
SURFACE = 0.5
#: A step in distance between neighbouring pixels larger than this many pixel footprints is a
#: depth edge (a face seen edge-on at 80 degrees steps about 6 footprints per pixel).
EDGE_FOOTPRINTS = 8.0
#: Ridge weight of the non-constant shading terms, relative to the fit's mean squared colour.
RIDGE = 1e-2
#: Pixels eroded from the reference's outline before the fit; the robust cut-off, in robust sigmas.
FIT_ERODE = 3
TRIM = 2.5


def normals_from_distance(distance: np.ndarray, opacity: np.ndarray, camera_angle_x: float) -> np.ndarray:
    """Camera-frame unit normals (H, W, 3), facing the camera, of a square render's surface from
    its expected ray ``distance`` (H, W) and ``opacity`` (H, W); zero off the object. Pixels at a
    depth edge take the smoothed normals of their neighbours."""
    size = distance.shape[0]
    f = focal(size, camera_angle_x)
    line = (np.arange(size, dtype=np.float64) + 0.5 - size / 2) / f
    xs, ys = np.meshgrid(line, -line)
    rays = np.stack([xs, ys, -np.ones_like(xs)], axis=-1)
    rays /= np.linalg.norm(rays, axis=-1, keepdims=True)
    solid = opacity >= SURFACE
    points = rays * np.where(solid, distance, 0.0)[..., None]
    du = np.zeros_like(points)
    dv = np.zeros_like(points)
    du[:, 1:-1] = points[:, 2:] - points[:, :-2]
    dv[1:-1] = points[2:] - points[:-2]
    footprint = np.where(solid, distance, 0.0) / f
    both_u = np.zeros(solid.shape, bool)
    both_v = np.zeros(solid.shape, bool)
    both_u[:, 1:-1] = solid[:, 2:] & solid[:, :-2]
    both_v[1:-1] = solid[2:] & solid[:-2]
    step_u = np.zeros(solid.shape)
    step_v = np.zeros(solid.shape)
    step_u[:, 1:-1] = np.abs(distance[:, 2:] - distance[:, :-2])
    step_v[1:-1] = np.abs(distance[2:] - distance[:-2])
    valid = solid & both_u & both_v & (step_u <= 2 * EDGE_FOOTPRINTS * footprint) \
        & (step_v <= 2 * EDGE_FOOTPRINTS * footprint)
    normals = np.cross(dv, du)
    length = np.linalg.norm(normals, axis=-1, keepdims=True)
    normals = np.where(length > 1e-12, normals / np.maximum(length, 1e-12), 0.0)
    facing = np.sum(normals * rays, axis=-1, keepdims=True)
    normals = np.where(facing > 0, -normals, normals)
    normals[~valid] = 0.0
    smooth = _spread(normals, valid, 1.0)
    filled = _spread(normals, valid, 4.0)
    result = np.where(valid[..., None], smooth, filled)
    length = np.linalg.norm(result, axis=-1, keepdims=True)
    result = np.where(length > 1e-6, result / np.maximum(length, 1e-6), 0.0)
    result[~solid] = 0.0
    return result.astype(np.float32)


def _spread(values: np.ndarray, valid: np.ndarray, sigma: float) -> np.ndarray:
    """Normalised convolution: a Gaussian average of ``values`` (H, W, C) over ``valid`` pixels."""
    weight = cv2.GaussianBlur(valid.astype(np.float64), (0, 0), sigma)
    total = cv2.GaussianBlur(np.where(valid[..., None], values, 0.0).astype(np.float64), (0, 0), sigma)
    return total / np.maximum(weight, 1e-9)[..., None]


def shading_basis(normals: np.ndarray) -> np.ndarray:
    """The nine real second-order spherical-harmonic polynomials of unit ``normals`` (..., 3),
    unnormalised: 1, x, y, z, xy, xz, yz, x^2 - y^2, 3z^2 - 1 (..., 9)."""
    x, y, z = normals[..., 0], normals[..., 1], normals[..., 2]
    return np.stack([np.ones_like(x), x, y, z, x * y, x * z, y * z, x * x - y * y, 3 * z * z - 1], axis=-1)


def match_shading(reference: np.ndarray, opacity: np.ndarray, normals: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """``reference`` (H, W, 3, 0..1) with its object relit to ``observed``: per channel,
    ``observed ~ reference * (basis(normal) . a) + b`` fitted on the reference's object pixels
    (``opacity`` 1, eroded by ``FIT_ERODE``) by ridge-regularised least squares, then again
    without the pixels whose residual is over ``TRIM`` robust standard deviations. Applied in
    proportion to ``opacity``; the background is left as it is. Fewer than 200 object pixels:
    the reference unchanged."""
    inside = cv2.erode((opacity >= 0.99).astype(np.uint8), np.ones((3, 3), np.uint8), iterations=FIT_ERODE) > 0
    inside &= np.linalg.norm(normals, axis=-1) > 0.5
    if inside.sum() < 200:
        return reference
    basis = shading_basis(normals.astype(np.float64))
    terms = basis.shape[-1]
    matched = reference.astype(np.float64).copy()
    weight = opacity.astype(np.float64)
    for channel in range(3):
        ref = reference[..., channel].astype(np.float64)
        design_all = np.concatenate([ref[..., None] * basis, np.ones(ref.shape + (1,))], axis=-1)
        design = design_all[inside]
        target = observed[..., channel][inside].astype(np.float64)
        keep = np.ones(target.shape, bool)
        coefficients = np.zeros(terms + 1)
        coefficients[0] = 1.0
        for _ in range(2):
            rows, wanted = design[keep], target[keep]
            if len(rows) < 50:
                break
            ridge = np.zeros(terms + 1)
            ridge[1:terms] = RIDGE * len(rows) * float(np.mean(rows[:, 0] ** 2))
            gram = rows.T @ rows + np.diag(ridge)
            # the prior is the reference as it is (gain 1, no shading change, no offset)
            prior = np.zeros(terms + 1)
            prior[0] = 1.0
            coefficients = np.linalg.solve(gram, rows.T @ wanted + ridge * prior)
            residual = target - design @ coefficients
            scale = 1.4826 * np.median(np.abs(residual - np.median(residual))) + 1e-6
            keep = np.abs(residual) <= TRIM * scale
        fitted = design_all @ coefficients
        matched[..., channel] += weight * (fitted - matched[..., channel])
    return np.clip(matched, 0.0, 1.0).astype(reference.dtype)
