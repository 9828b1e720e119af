"""Stains: an irregular discoloration blended into the surface of visible parts.

The stain is a union of a few overlapping ellipsoids around a point on a face that looks at the
camera; where it meets a part's surface, the surface colour is mixed towards the stain colour
with partial opacity. ``elongation`` stretches the ellipsoids along the surface, which makes
streaks or scratches. A large stain runs on over the neighbouring parts it reaches (``spread``).

Looks: each palette entry is a colour, or a look with its own opacity, edge sharpness and mottle
(grease: dark and soft-edged; dust: pale, mottled; rust: brown, mottled; residue: yellowish;
paint: saturated, opaque, crisp-edged). A look is drawn among those whose colour contrasts with
the part (Lab distance of at least ``min_contrast``; the most contrasting one when none does).

Sizes (``size_by: image_area``, the default): the mask area is drawn from ``image_area`` (shares of
the image, fitted to MAD-Sim's) and turned into a radius at the view's scale: the stain's shape is
drawn at unit size, its area on the surface's tangent plane is measured (above the mask
threshold), and the radius is chosen so that the area, foreshortened by the face's angle to the
camera, covers the drawn share. ``size_by: ldu`` keeps sizes in LDU (``radius_ldu``, scaled with
large models by ``reference_radius_ldu``).

Mask: the visible pixels of the stained parts where the stain's opacity exceeds its threshold: the
template's ``mask_threshold``, or for a stain close to the part's colour the opacity at which it
changes the colour by ``visible_step`` (so the mask is where the stain shows).
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from ..ldraw.frames import LDU_IN_METRES
from .base import DefectKind, DefectScene, MaskLayers, StainBlob
from .plan import DefectPlan, PlanContext, draw_value, facing_triangles, pick_target, sample_surface_point
from .sizes import AreaSpec
from .templates import Choice, DefectTemplate, Number, Palette

#: The default edge sharpness: opacity rises to its peak over the outer half of an ellipsoid.
DEFAULT_EDGE = 2.0
#: Mottle features per stain radius.
MOTTLE_FEATURES = 3.0
#: Neighbouring parts within this many stain radii (times the elongation) may be stained too.
SPREAD_REACH = 1.2


def lab(rgb: tuple[float, float, float]) -> np.ndarray:
    """CIE Lab of an sRGB colour in 0..1 (L in 0..100)."""
    pixel = np.array([[rgb]], dtype=np.float32)
    return cv2.cvtColor(pixel, cv2.COLOR_RGB2LAB)[0, 0].astype(np.float64)


def hex_rgb(text: str) -> tuple[float, float, float]:
    """``#RRGGBB`` as an RGB triple in 0..1."""
    value = int(text[1:], 16)
    return ((value >> 16) & 255) / 255.0, ((value >> 8) & 255) / 255.0, (value & 255) / 255.0


def look_colour(entry: Any) -> str:
    """The ``#RRGGBB`` of a palette entry (a colour or a look)."""
    return entry["colour"] if isinstance(entry, dict) else entry


def choose_stain_colour(palette: dict[str, Any], part_rgb: tuple[float, float, float], min_contrast: float,
                        rng: np.random.Generator) -> tuple[str, str]:
    """A (name, #RRGGBB) palette entry that contrasts with the part colour."""
    names = sorted(palette)
    contrast = [float(np.linalg.norm(lab(hex_rgb(look_colour(palette[n]))) - lab(part_rgb))) for n in names]
    good = [n for n, c in zip(names, contrast) if c >= min_contrast]
    name = good[int(rng.integers(len(good)))] if good else names[int(np.argmax(contrast))]
    return name, look_colour(palette[name])


def stain_opacity(blobs: list[dict[str, Any]], points: np.ndarray, opacity: float, edge: float) -> np.ndarray:
    """The stain's opacity at points (same frame as the blobs): ``opacity * min(1, edge * max_k(1 - |q_k|^2))``.

    This is the formula the renderer's stain field evaluates (without mottle).
    """
    best = np.zeros(len(points))
    for blob in blobs:
        axes = np.asarray(blob["axes"], dtype=np.float64)
        q = (np.asarray(points, dtype=np.float64) - np.asarray(blob["centre"])) @ axes.T / np.asarray(blob["radii"])
        best = np.maximum(best, 1.0 - np.einsum("ij,ij->i", q, q))
    return opacity * np.minimum(1.0, edge * np.clip(best, 0.0, None))


def tangent_area(blobs: list[dict[str, Any]], point: np.ndarray, along: np.ndarray, across: np.ndarray,
                 opacity: float, edge: float, threshold: float, samples: int = 96) -> float:
    """The area (in the blobs' units squared) of the tangent plane at ``point`` where the opacity
    exceeds ``threshold``: the stain's size on a flat face."""
    reach = max(float(np.max(np.abs(np.asarray(b["centre"]) - point)) + max(b["radii"])) for b in blobs)
    ticks = (np.arange(samples) + 0.5) / samples * 2 * reach - reach
    u, v = np.meshgrid(ticks, ticks)
    grid = point + u.reshape(-1, 1) * along + v.reshape(-1, 1) * across
    inside = stain_opacity(blobs, grid, opacity, edge) > threshold
    return float(inside.mean() * (2 * reach) ** 2)


def _blobs(shape: list[tuple[np.ndarray, float]], point: np.ndarray, along: np.ndarray, across: np.ndarray,
           normal: np.ndarray, elongation: float, radius: float) -> list[dict[str, Any]]:
    """The stain's ellipsoids (plan records) from its shape at unit size, scaled to ``radius``."""
    return [{"centre": (point + offset * radius).tolist(),
             "radii": [size * radius * elongation, size * radius, size * radius],
             "axes": [along.tolist(), across.tolist(), normal.tolist()]} for offset, size in shape]


class Stains(DefectKind):
    """Blend an irregular stain into the surface."""

    kind = "stains"
    mask_coverage = 0.5
    wanted_fidelity = 0.8
    schema = {
        "size_by": Choice(("image_area", "ldu"), description="draw the mask's area (image_area) or a radius "
                          "in LDU (ldu)"),
        "image_area": AreaSpec(description="the mask areas aimed for, as shares of the image"),
        "radius_ldu": Number(0.5, 60, description="size of the stain (size_by: ldu)"),
        "blobs": Number(1, 16, integer=True, description="ellipsoids making up its outline"),
        "elongation": Number(1, 20, description="stretch along the surface (scratches: 4 or more)"),
        "opacity": Number(0.05, 1, description="peak opacity (looks may set their own)"),
        "mask_threshold": Number(0.01, 0.99, description="opacity above which a pixel is in the mask (at least)"),
        "visible_step": Number(0, 1, description="colour change (largest sRGB channel, 0..1) at which a stained "
                               "pixel counts as visibly stained; raises the mask threshold of faint stains"),
        "min_contrast": Number(0, 100, description="least Lab distance between stain and part colour"),
        "palette": Palette(description="stain colours or looks by name"),
        "spread": Choice(("neighbours", "part"), description="a stain may run on over neighbouring parts, or "
                         "stays on its part"),
        "reference_radius_ldu": Number(0, 10_000, description="size_by ldu: sizes grow with models larger than "
                                       "this radius (LDU); 0: off"),
    }

    def plan(self, template: DefectTemplate, context: PlanContext, seed: int, attempt: int) -> DefectPlan:
        rng = context.rng(seed, attempt)
        params = template.params
        target = pick_target(context, rng, template.min_pixels(context.image_size, context.image_size))
        instance = context.assembly.instances[target]
        mesh = context.assembly.meshes[instance.part_id]
        camera = context.camera_in_part(target)
        point, normal = sample_surface_point(mesh, facing_triangles(mesh, camera), rng)
        part_rgb = context.assembly.colours.resolve(instance.colour).rgb
        colour_name, colour = choose_stain_colour(params["palette"], part_rgb, params["min_contrast"][0], rng)
        look = params["palette"][colour_name]
        look = look if isinstance(look, dict) else {}
        opacity = draw_value(rng, tuple(look.get("opacity", params["opacity"])))
        edge = float(look.get("edge", DEFAULT_EDGE))
        mottle = float(look.get("mottle", 0.0))
        # the mask holds the pixels where the stain visibly changes the colour: at least the template's
        # threshold, higher for a stain close to the part's colour
        contrast = float(np.abs(np.array(hex_rgb(colour)) - np.array(part_rgb)).max())
        threshold = min(0.9, max(draw_value(rng, params["mask_threshold"]),
                                 draw_value(rng, params["visible_step"]) / max(contrast, 1e-6)))
        elongation = draw_value(rng, params["elongation"])
        along = np.cross(normal, rng.normal(size=3))
        along /= np.linalg.norm(along)
        across = np.cross(normal, along)
        shape = []  # at unit radius
        for _ in range(int(draw_value(rng, params["blobs"], integer=True))):
            offset = rng.normal(size=2) * 0.35
            size = rng.uniform(0.45, 0.9)
            shape.append((along * offset[0] * elongation + across * offset[1], size))
        transform = instance.transform
        point_model = transform[:3, :3] @ point + transform[:3, 3]
        aimed = None
        if params["size_by"] == "image_area":
            aimed = params["image_area"].sample(rng)
            unit_area = tangent_area(_blobs(shape, point, along, across, normal, elongation, 1.0), point, along,
                                     across, opacity, edge, threshold)
            normal_model = transform[:3, :3] @ normal
            sight = context.camera_in_model() - point_model
            cosine = abs(float(normal_model @ sight)) / max(float(np.linalg.norm(normal_model) * np.linalg.norm(sight)),
                                                            1e-12)
            pixels = aimed * context.image_size ** 2
            ppl = float(context.pixels_per_ldu(point_model)[0])
            radius = math.sqrt(pixels / (max(unit_area, 1e-9) * ppl * ppl * max(cosine, 0.25)))
        else:
            radius = draw_value(rng, params["radius_ldu"]) * context.model_scale(params["reference_radius_ldu"][0])
        blobs = _blobs(shape, point, along, across, normal, elongation, radius)
        spread: list[int] = []
        if params["spread"] == "neighbours":
            spread = [i for i in context.instances_near(point_model, SPREAD_REACH * radius * elongation)
                      if i != target]
        drawn = {"point": point.tolist(), "normal": normal.tolist(), "radius_ldu": radius, "elongation": elongation,
                 "blobs": blobs, "colour_name": colour_name, "colour": colour, "opacity": opacity,
                 "mask_threshold": threshold, "edge": edge, "mottle": mottle,
                 "mottle_scale": MOTTLE_FEATURES / max(radius * LDU_IN_METRES, 1e-9), "spread": spread}
        if aimed is not None:
            drawn["aimed_area"] = aimed
        return DefectPlan(template.name, self.kind, (target,), drawn, seed, attempt)

    def apply(self, plan: DefectPlan, scene: DefectScene) -> None:
        p = plan.params
        blobs = [StainBlob(tuple(b["centre"]), tuple(b["radii"]), tuple(tuple(a) for a in b["axes"]))
                 for b in p["blobs"]]
        scene.add_stain(plan.targets[0], blobs, hex_rgb(p["colour"]), p["opacity"],
                        edge=float(p.get("edge", DEFAULT_EDGE)), mottle=float(p.get("mottle", 0.0)),
                        mottle_scale=float(p.get("mottle_scale", 1.0)), spread=tuple(p.get("spread", ())))

    def mask(self, plan: DefectPlan, layers: MaskLayers) -> np.ndarray:
        stained = np.array((plan.targets[0], *plan.params.get("spread", ())), dtype=np.int64)
        return np.isin(layers.instance_ids, stained) & (layers.stain_opacity > plan.params["mask_threshold"])
