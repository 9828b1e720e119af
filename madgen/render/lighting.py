"""The studio: a light rig fixed in the world frame and a soft white environment.

The same lights serve every view of a category (multi-view consistency is what the radiance
field downstream relies on). The model sits within radius 1.5 of the origin and cameras circle
it at distance ~4 from below (-45 degrees) to above (75 degrees), so besides a key light, a fill
and a rim light there is a dim light from below and an even white world for ambient light.
The rendered background is transparent film, composited onto pure white afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np

from ..rig import look_at
from . import compat


@dataclass(frozen=True)
class AreaLight:
    """One square area light aimed at the origin."""

    name: str
    position: tuple[float, float, float]
    power_w: float
    size: float


STUDIO_LIGHTS = (
    AreaLight("key", (3.0, -4.0, 5.0), 315.0, 3.0),
    AreaLight("fill", (-5.0, -2.5, 2.0), 160.0, 4.0),
    AreaLight("rim", (1.5, 5.0, 3.5), 175.0, 3.0),
    AreaLight("under", (0.0, -1.0, -5.0), 70.0, 5.0),
)
#: Exposure is set so that white ABS keeps its shading instead of clipping to the white background.
WORLD_STRENGTH = 0.3


def add_studio(scene: bpy.types.Scene) -> None:
    """Add the fixed light rig and the white world to ``scene``."""
    for spec in STUDIO_LIGHTS:
        light = bpy.data.lights.new(f"light_{spec.name}", type="AREA")
        light.energy = spec.power_w
        light.size = spec.size
        obj = bpy.data.objects.new(f"light_{spec.name}", light)
        matrix = look_at(np.array(spec.position))
        obj.matrix_world = compat.to_matrix(matrix)
        scene.collection.objects.link(obj)
    world = compat.new_node_world("studio")
    background = world.node_tree.nodes.get("Background")
    background.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
    background.inputs["Strength"].default_value = WORLD_STRENGTH
    scene.world = world
