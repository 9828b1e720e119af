"""Stains: an irregular discoloration blended into the surface of a visible part.

The stain is a union of a few overlapping ellipsoids around a point on a face that looks at the
camera; where it meets the part's surface, the surface colour is mixed towards the stain colour
(dark grease, yellowish residue, grey dust, ...) with partial opacity. ``elongation`` stretches
the ellipsoids along the surface, which makes scratches or streaks. The stain colour is drawn
from the template's palette among the colours that contrast with the part (Lab distance of at
least ``min_contrast``; the most contrasting one when none does). Mask: the visible pixels where
the stain's opacity exceeds ``mask_threshold``.
"""

from __future__ import annotations

import cv2
import numpy as np

from .base import DefectKind, DefectScene, MaskLayers, StainBlob
from .plan import DefectPlan, PlanContext, draw_value, facing_triangles, pick_target, sample_surface_point
from .templates import DefectTemplate, Number, Palette


def lab(rgb: tuple[float, float, float]) -> np.ndarray:
    """CIE Lab of an sRGB colour in 0..1 (L in 0..100)."""
    pixel = np.array([[rgb]], dtype=np.float32)
    return cv2.cvtColor(pixel, cv2.COLOR_RGB2LAB)[0, 0].astype(np.float64)


def hex_rgb(text: str) -> tuple[float, float, float]:
    """``#RRGGBB`` as an RGB triple in 0..1."""
    value = int(text[1:], 16)
    return ((value >> 16) & 255) / 255.0, ((value >> 8) & 255) / 255.0, (value & 255) / 255.0


def choose_stain_colour(palette: dict[str, str], part_rgb: tuple[float, float, float], min_contrast: float,
                        rng: np.random.Generator) -> tuple[str, str]:
    """A (name, #RRGGBB) palette entry that contrasts with the part colour."""
    names = sorted(palette)
    contrast = [float(np.linalg.norm(lab(hex_rgb(palette[n])) - lab(part_rgb))) for n in names]
    good = [n for n, c in zip(names, contrast) if c >= min_contrast]
    name = good[int(rng.integers(len(good)))] if good else names[int(np.argmax(contrast))]
    return name, palette[name]


class Stains(DefectKind):
    """Blend an irregular stain into a part's surface."""

    kind = "stains"
    mask_coverage = 0.5
    schema = {
        "radius_ldu": Number(0.5, 60, description="size of the stain"),
        "blobs": Number(1, 16, integer=True, description="ellipsoids making up its outline"),
        "elongation": Number(1, 20, description="stretch along the surface (scratches: 4 or more)"),
        "opacity": Number(0.05, 1, description="peak opacity"),
        "mask_threshold": Number(0.01, 0.99, description="opacity above which a pixel is in the mask"),
        "min_contrast": Number(0, 100, description="least Lab distance between stain and part colour"),
        "palette": Palette(description="stain colours by name"),
        "reference_radius_ldu": Number(0, 10_000, description="sizes grow with models larger than this radius "
                                       "(LDU), so a stain covers the same share of the image; 0: off"),
    }

    def plan(self, template: DefectTemplate, context: PlanContext, seed: int, attempt: int) -> DefectPlan:
        rng = context.rng(seed, attempt)
        params = template.params
        target = pick_target(context, rng, template.min_pixels(context.image_size, context.image_size))
        instance = context.assembly.instances[target]
        mesh = context.assembly.meshes[instance.part_id]
        point, normal = sample_surface_point(mesh, facing_triangles(mesh, context.camera_in_part(target)), rng)
        radius = draw_value(rng, params["radius_ldu"]) * context.model_scale(params["reference_radius_ldu"][0])
        elongation = draw_value(rng, params["elongation"])
        along = np.cross(normal, rng.normal(size=3))
        along /= np.linalg.norm(along)
        across = np.cross(normal, along)
        blobs = []
        for _ in range(int(draw_value(rng, params["blobs"], integer=True))):
            offset = rng.normal(size=2) * radius * 0.35
            centre = point + along * offset[0] * elongation + across * offset[1]
            size = radius * rng.uniform(0.45, 0.9)
            blobs.append({"centre": centre.tolist(), "radii": [size * elongation, size, size],
                          "axes": [along.tolist(), across.tolist(), normal.tolist()]})
        part_rgb = context.assembly.colours.resolve(instance.colour).rgb
        colour_name, colour = choose_stain_colour(params["palette"], part_rgb, params["min_contrast"][0], rng)
        drawn = {"point": point.tolist(), "normal": normal.tolist(), "radius_ldu": radius, "elongation": elongation,
                 "blobs": blobs, "colour_name": colour_name, "colour": colour,
                 "opacity": draw_value(rng, params["opacity"]),
                 "mask_threshold": draw_value(rng, params["mask_threshold"])}
        return DefectPlan(template.name, self.kind, (target,), drawn, seed, attempt)

    def apply(self, plan: DefectPlan, scene: DefectScene) -> None:
        blobs = [StainBlob(tuple(b["centre"]), tuple(b["radii"]), tuple(tuple(a) for a in b["axes"]))
                 for b in plan.params["blobs"]]
        scene.add_stain(plan.targets[0], blobs, hex_rgb(plan.params["colour"]), plan.params["opacity"])

    def mask(self, plan: DefectPlan, layers: MaskLayers) -> np.ndarray:
        return (layers.instance_ids == plan.targets[0]) & (layers.stain_opacity > plan.params["mask_threshold"])
