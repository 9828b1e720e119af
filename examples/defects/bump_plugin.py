"""A custom defect injector as a Python plugin: "Bumps", a small blister standing out of a face.

Register it with ``--plugin examples.defects.bump_plugin:Bumps`` (run from the repository root),
or through the ``madgen.defects`` entry-point group of your own package::

    [project.entry-points."madgen.defects"]
    bumps = "my_package.bumps:Bumps"

It reuses madgen's planning helpers and the scene facade: ``apply`` adds a small pyramid mesh
to the part, and ``mask`` keeps the pixels where that mesh is seen.
"""

from __future__ import annotations

import numpy as np

from madgen.defects import (
    DefectKind,
    DefectPlan,
    DefectScene,
    DefectTemplate,
    MaskLayers,
    Number,
    PlanContext,
    draw_value,
    facing_triangles,
    pick_target,
    sample_surface_point,
)


class Bumps(DefectKind):
    """A small square pyramid standing out of a face."""

    kind = "bumps"
    schema = {"size_ldu": Number(1, 30), "height_ldu": Number(0.2, 20)}
    #: The template used when no YAML names this kind.
    template = {"name": "Bumps", "params": {"size_ldu": [12, 18], "height_ldu": [6, 10]}}

    def plan(self, template: DefectTemplate, context: PlanContext, seed: int, attempt: int) -> DefectPlan:
        rng = context.rng(seed, attempt)
        target = pick_target(context, rng, template.min_pixels(context.image_size, context.image_size))
        mesh = context.assembly.meshes[context.assembly.instances[target].part_id]
        point, normal = sample_surface_point(mesh, facing_triangles(mesh, context.camera_in_part(target)), rng)
        return DefectPlan(template.name, self.kind, (target,), {
            "point": point.tolist(), "normal": normal.tolist(),
            "size_ldu": draw_value(rng, template.params["size_ldu"]),
            "height_ldu": draw_value(rng, template.params["height_ldu"])}, seed, attempt)

    def apply(self, plan: DefectPlan, scene: DefectScene) -> None:
        point, normal = np.array(plan.params["point"]), np.array(plan.params["normal"])
        side = np.cross(normal, [1.0, 0.0, 0.0] if abs(normal[0]) < 0.9 else [0.0, 1.0, 0.0])
        side /= np.linalg.norm(side)
        other = np.cross(normal, side)
        half = plan.params["size_ldu"] / 2
        sunk = point - normal * 0.3
        corners = [sunk + half * (a * side + b * other) for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
        apex = point + normal * plan.params["height_ldu"]
        vertices = np.array(corners + [apex])
        triangles = np.array([(0, 1, 4), (1, 2, 4), (2, 3, 4), (3, 0, 4), (0, 2, 1), (0, 3, 2)], dtype=np.int32)
        scene.add_mesh(plan.targets[0], vertices, triangles)

    def mask(self, plan: DefectPlan, layers: MaskLayers) -> np.ndarray:
        return layers.added_labels >= 0
