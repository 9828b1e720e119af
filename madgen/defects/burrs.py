"""Burrs: thin, jagged slivers of mould flash standing out from an outer edge or face of a part.

The sliver is a closed prism in the target part's frame: its base runs along a visible edge line
of the part (``placement: edge``) or across a visible face (``placement: face``), sunk slightly
into the part, and its top is a saw-tooth of ``teeth`` random heights pointing outward. It takes
the part's colour and material. Mask: the visible pixels of the sliver.

Sizes (``size_by: image_area``, the default): the area the sliver should cover is drawn from
``image_area`` (shares of the image, fitted to MAD-Sim's), from a nick to a long flash along an
edge, and turned into a height and a length (``aspect`` = length / height) at the view's scale:
the saw-tooth's mean height is about :data:`MEAN_TOOTH_SHARE` of its peak height, so a sliver seen
broadside covers about ``length * MEAN_TOOTH_SHARE * height``. When the chosen edge is shorter
than the length, the sliver takes the whole edge and grows taller (at most to its length).
``size_by: ldu`` keeps sizes in LDU (``length_ldu``, ``height_ldu``, ``thickness_ldu``).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..ldraw import PartMesh
from .base import DefectKind, DefectScene, MaskLayers
from .plan import DefectPlan, PlanContext, draw_value, facing_triangles, pick_target, sample_surface_point
from .sizes import AreaSpec
from .templates import Choice, DefectTemplate, Number

#: How far (LDU) the sliver's base is sunk into the part, so it is attached without a gap.
EMBED_LDU = 0.4
#: How much parts on the view's outline, and slivers seen against the background, are favoured.
SILHOUETTE_BOOST = 8.0
#: The saw-tooth's mean height over its peak height (teeth at 0.25..1 of the peak, every other
#: one at 0.45 of that: 0.625 * 0.725).
MEAN_TOOTH_SHARE = 0.45
#: A sliver's thickness, as a share of its height (image_area sizing), at least MIN_THICKNESS_LDU.
THICKNESS_SHARE = 0.12
MIN_THICKNESS_LDU = 0.6
#: A flash cut short by its edge grows taller to keep its area, up to this many times the edge's length.
MAX_FLAP = 1.5
#: image_area sizing makes up for a sliver seen at an angle down to this broadside share.
MIN_BROADSIDE = 0.35


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def burr_mesh(start: np.ndarray, direction: np.ndarray, outward: np.ndarray, length: float,
              heights: list[float], thickness: float) -> tuple[np.ndarray, np.ndarray]:
    """The sliver's closed triangle mesh (vertices in LDU, int32 triangles, outward winding)."""
    direction, outward = _unit(np.asarray(direction, float)), _unit(np.asarray(outward, float))
    normal = _unit(np.cross(direction, outward))
    steps = len(heights) - 1
    base = [np.asarray(start, float) + direction * length * i / steps - outward * EMBED_LDU
            for i in range(steps + 1)]
    top = [base[i] + outward * (heights[i] + EMBED_LDU) for i in range(steps + 1)]
    outline = base + top[::-1]  # a simple polygon: along the base, back along the jagged top
    count = len(outline)
    vertices = np.array([p + normal * thickness / 2 for p in outline] + [p - normal * thickness / 2 for p in outline])
    triangles = []
    for i in range(steps):  # the two flat sides, as strips of quads between base and top
        b0, b1, t1, t0 = i, i + 1, count - 2 - i, count - 1 - i
        triangles += [(b0, b1, t1), (b0, t1, t0)]
        triangles += [(count + b0, count + t1, count + b1), (count + b0, count + t0, count + t1)]
    for i in range(count):  # the rim around the outline
        j = (i + 1) % count
        triangles += [(i, count + i, count + j), (i, count + j, j)]
    triangles = np.array(triangles, dtype=np.int32)
    corners = vertices[triangles]
    volume = np.einsum("ij,ij->i", corners[:, 0], np.cross(corners[:, 1], corners[:, 2])).sum()
    if volume < 0:
        triangles = triangles[:, [0, 2, 1]]
    return vertices, triangles


class Burrs(DefectKind):
    """Add mould-flash slivers."""

    kind = "burrs"
    wanted_fidelity = 0.75
    schema = {
        "size_by": Choice(("image_area", "ldu"), description="draw the mask's area (image_area) or sizes in "
                          "LDU (ldu)"),
        "image_area": AreaSpec(description="the mask areas aimed for, as shares of the image"),
        "aspect": Number(0.5, 20, description="image_area: the sliver's length over its height"),
        "length_ldu": Number(0.5, 60, description="length of the sliver along the edge"),
        "height_ldu": Number(0.2, 30, description="how far the teeth stand out"),
        "thickness_ldu": Number(0.1, 8, description="thickness of the sliver"),
        "teeth": Number(1, 16, integer=True, description="number of saw teeth"),
        "placement": Choice(("edge", "face", "any"), description="where the sliver stands"),
        "reference_radius_ldu": Number(0, 10_000, description="sizes grow with models larger than this radius "
                                       "(LDU), so a burr covers the same share of the image; 0: off"),
    }

    def plan(self, template: DefectTemplate, context: PlanContext, seed: int, attempt: int) -> DefectPlan:
        rng = context.rng(seed, attempt)
        params = template.params
        aimed = None
        suitability = None
        if params["size_by"] == "image_area":
            aimed = params["image_area"].sample(rng)
            aspect = draw_value(rng, params["aspect"])
            # the length wanted at the model's centre decides which parts have an edge long enough
            centre_ppl = float(context.pixels_per_ldu(context.instance_centres().mean(axis=0))[0])
            wanted = aspect * math.sqrt(aimed * context.image_size ** 2 / (MEAN_TOOTH_SHARE * aspect)) / centre_ppl

            def suitability(instance: int) -> float:
                longest = _longest_edge(context.assembly.meshes[context.assembly.instances[instance].part_id])
                return min(1.0, longest / wanted) ** 4

        target = pick_target(context, rng, template.min_pixels(context.image_size, context.image_size),
                             silhouette_boost=SILHOUETTE_BOOST, suitability=suitability)
        mesh = context.assembly.meshes[context.assembly.instances[target].part_id]
        camera = context.camera_in_part(target)
        placement = params["placement"]
        if placement == "any":
            placement = "edge" if rng.uniform() < 0.5 else "face"
        transform = context.assembly.instances[target].transform
        if aimed is not None:
            centre = (mesh.vertices.min(axis=0) + mesh.vertices.max(axis=0)) / 2.0
            ppl = float(context.pixels_per_ldu(transform[:3, :3] @ centre + transform[:3, 3])[0])
            height = math.sqrt(aimed * context.image_size ** 2 / (MEAN_TOOTH_SHARE * aspect)) / ppl
            length = aspect * height
            thickness = max(MIN_THICKNESS_LDU, THICKNESS_SHARE * height)
            scale = 1.0
        else:
            scale = context.model_scale(params["reference_radius_ldu"][0])
            length = draw_value(rng, params["length_ldu"]) * scale
            height = draw_value(rng, params["height_ldu"]) * scale

        def against_background(points: np.ndarray) -> np.ndarray:
            placed = points @ transform[:3, :3].T + transform[:3, 3]
            return context.good_id_at(placed) == -1

        edge = _visible_edge(mesh.edge_lines.astype(np.float64), mesh.vertices, camera, rng,
                             lambda points: context.in_free_space(target, points), height, against_background,
                             length) \
            if placement == "edge" else None
        if edge is not None:
            start, direction, outward, edge_length = edge
            if aimed is not None:  # as large as aimed for when seen at an angle (within reason)
                grow = 1.0 / math.sqrt(max(_broadside(direction, outward, start, camera), MIN_BROADSIDE))
                length, height = length * grow, height * grow
            if length > edge_length:
                if aimed is not None:  # keep the area: a taller flash along the whole edge, no needle
                    height = min(height * length / edge_length, MAX_FLAP * edge_length)
                length = edge_length
            start = start + direction * rng.uniform(0, edge_length - length)
        else:
            placement = "face"
            point, normal = sample_surface_point(mesh, facing_triangles(mesh, camera), rng)
            outward = normal
            direction = _unit(np.cross(normal, rng.normal(size=3)))
            if aimed is not None:
                grow = 1.0 / math.sqrt(max(_broadside(direction, outward, point, camera), MIN_BROADSIDE))
                length, height = length * grow, height * grow
            start = point - direction * length / 2
        teeth = int(draw_value(rng, params["teeth"], integer=True))
        heights = [height * (0.25 + 0.75 * rng.uniform()) * (1.0 if i % 2 else 0.45) for i in range(teeth * 2 + 1)]
        if aimed is None:
            thickness = draw_value(rng, params["thickness_ldu"]) * scale
        drawn = {
            "placement": placement, "start": start.tolist(), "direction": direction.tolist(),
            "outward": outward.tolist(), "length_ldu": length, "heights_ldu": heights,
            "thickness_ldu": thickness, "size_scale": scale,
        }
        if aimed is not None:
            drawn["aimed_area"] = aimed
        return DefectPlan(template.name, self.kind, (target,), drawn, seed, attempt)

    def apply(self, plan: DefectPlan, scene: DefectScene) -> None:
        p = plan.params
        vertices, triangles = burr_mesh(np.array(p["start"]), np.array(p["direction"]), np.array(p["outward"]),
                                        p["length_ldu"], list(p["heights_ldu"]), p["thickness_ldu"])
        scene.add_mesh(plan.targets[0], vertices, triangles)

    def mask(self, plan: DefectPlan, layers: MaskLayers) -> np.ndarray:
        return layers.added_labels >= 0


def _longest_edge(mesh: PartMesh) -> float:
    """The longest edge line of a part (LDU); 0 without edge lines."""
    edges = mesh.edge_lines
    if not len(edges):
        return 0.0
    return float(np.linalg.norm(edges[:, 1].astype(np.float64) - edges[:, 0], axis=1).max())


def _broadside(direction: np.ndarray, outward: np.ndarray, at: np.ndarray, camera: np.ndarray) -> float:
    """How squarely a sliver in the plane of ``direction`` and ``outward`` faces the camera (0..1):
    its seen area over its true area."""
    normal = _unit(np.cross(direction, outward))
    return abs(float(normal @ _unit(camera - at)))


def _visible_edge(edges: np.ndarray, vertices: np.ndarray, camera: np.ndarray, rng: np.random.Generator,
                  is_free: Callable[[np.ndarray], bool], height: float,
                  against_background: Callable[[np.ndarray], np.ndarray], wanted_length: float = 0.0,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float] | None:
    """A random outer edge line that faces the camera and has free space outside it.

    Edges whose sliver tip would be seen against the background are strongly favoured (a sliver
    seen against its own part's colour barely shows), and so are edges at least
    ``wanted_length`` long (a long flash does not fit on a stud's rim).

    Returns (start, direction, outward, length), or None when the part has no such edge.
    """
    if not len(edges) or not len(vertices):
        return None
    centre = (vertices.min(axis=0) + vertices.max(axis=0)) / 2.0
    starts, ends = edges[:, 0], edges[:, 1]
    vectors = ends - starts
    lengths = np.linalg.norm(vectors, axis=1)
    usable = lengths > 2.0
    if not usable.any():
        return None
    directions = vectors / np.maximum(lengths[:, None], 1e-12)
    middles = (starts + ends) / 2
    radial = middles - centre
    outward = radial - np.einsum("ij,ij->i", radial, directions)[:, None] * directions
    outward_len = np.linalg.norm(outward, axis=1)
    outward = outward / np.maximum(outward_len[:, None], 1e-12)
    facing = np.einsum("ij,ij->i", outward, camera - middles) > 0
    candidates = [int(i) for i in np.nonzero(usable & facing & (outward_len > 1.0))[0]
                  if is_free(middles[i] + outward[i] * np.array([[0.5], [1.0]]) * height)]
    if not candidates:
        return None
    candidates = np.array(candidates)
    # favour edges whose sliver would be seen broadside: long, and both the edge and the
    # outward direction across the line of sight
    sight = camera - middles[candidates]
    sight /= np.maximum(np.linalg.norm(sight, axis=1, keepdims=True), 1e-12)
    across_edge = np.linalg.norm(np.cross(directions[candidates], sight), axis=1)
    across_out = np.linalg.norm(np.cross(outward[candidates], sight), axis=1)
    tips = middles[candidates] + outward[candidates] * height * 0.75
    background = np.where(against_background(tips), SILHOUETTE_BOOST, 1.0)
    fits = np.minimum(lengths[candidates], wanted_length) / wanted_length if wanted_length > 0 else 1.0
    weights = lengths[candidates] * (across_edge * across_out) ** 2 * background * fits ** 4 + 1e-12
    chosen = int(candidates[int(rng.choice(len(candidates), p=weights / weights.sum()))])
    return starts[chosen], directions[chosen], outward[chosen], float(lengths[chosen])

