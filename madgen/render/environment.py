"""The photographed look (``mad-real``): a bench, a backdrop, clutter, lights, a sky and camera effects.

Built once per scene and re-dressed per view from a drawn *look* and its *layout*
(:mod:`madgen.realism`, pure): nothing is drawn here. Everything is procedural (Blender's texture
nodes), so no asset is downloaded.

- The bench (a large plane) and the backdrop (a wall standing on it) share one node graph each:
  a wave pattern (wood grain, belt ribs, curtain folds), a noise pattern (plaster, felt,
  brushed streaks) and a brick pattern (panels), weighted per kind, mixing two colours and
  varying the roughness (no bump: it would evaluate every pattern three times). The bench is a
  Principled surface, glossy except fabric: it reflects the toy and receives its contact shadow;
  the backdrop is matte (a diffuse BSDF, cheaper).
- Clutter: boxes, cylinders and pucks on the bench, always beyond the toy (see
  :func:`madgen.realism.layout`).
- Lights: up to three area or spot lights, with colour temperature; invisible to the camera.
- The world: a sky-like gradient about the bench's up axis.
- Camera: exposure, white balance and depth of field on the colour pass's camera only; the mask
  pass has its own camera without depth of field, so masks stay exact.

Bench, backdrop and clutter live in their own collection, linked only into the colour scene: the
mask pass and the defect probes never see them.
"""

from __future__ import annotations

import math
from typing import Any

import bpy
import numpy as np

from . import compat
from .materials import srgb_to_linear

MAX_CLUTTER = 8
MAX_LIGHTS = 3
#: Per-kind pattern settings: (mapping scale x, y, z), wave scale, distortion, wave weight, noise
#: scale, noise weight, brick weight, pattern rotation offset (degrees).
SURFACE_PATTERNS = {
    "wood": ((1.0, 0.06, 1.0), 5.0, 7.0, 0.8, 14.0, 0.2, 0.0, 0.0),
    "rubber": ((1.0, 1.0, 1.0), 22.0, 0.0, 0.35, 70.0, 0.65, 0.0, 90.0),
    "metal": ((0.015, 1.0, 1.0), 1.0, 0.0, 0.0, 160.0, 1.0, 0.0, 0.0),
    "fabric": ((1.0, 1.0, 1.0), 90.0, 0.0, 0.25, 120.0, 0.75, 0.0, 0.0),
    "wall": ((1.0, 1.0, 1.0), 1.0, 0.0, 0.0, 2.5, 1.0, 0.0, 0.0),
    "curtain": ((1.0, 0.05, 1.0), 1.6, 1.5, 0.85, 8.0, 0.15, 0.0, 0.0),
    "panel": ((1.0, 1.0, 1.0), 1.0, 0.0, 0.0, 6.0, 0.3, 0.7, 0.0),
}


def _linear(rgb: Any) -> tuple[float, float, float, float]:
    return tuple(srgb_to_linear(float(c)) for c in rgb) + (1.0,)  # type: ignore[return-value]


class _PatternMaterial:
    """A Principled material whose colour, bump and roughness follow a weighted procedural pattern."""

    def __init__(self, name: str, frame: bpy.types.Object, matte: bool = False) -> None:
        self.material = compat.new_node_material(name)
        nodes, links = self.material.node_tree.nodes, self.material.node_tree.links
        self.bsdf = compat.principled_node(self.material)
        self.matte = matte
        if matte:  # a plain diffuse surface: cheaper than the Principled BSDF's lobes
            nodes.remove(self.bsdf)
            self.bsdf = nodes.new("ShaderNodeBsdfDiffuse")
            output = next(node for node in nodes if node.type == "OUTPUT_MATERIAL")
            links.new(self.bsdf.outputs["BSDF"], output.inputs["Surface"])
        coords = nodes.new("ShaderNodeTexCoord")
        coords.object = frame
        self.mapping = nodes.new("ShaderNodeMapping")
        links.new(coords.outputs["Object"], self.mapping.inputs["Vector"])
        self.wave = nodes.new("ShaderNodeTexWave")
        self.wave.wave_type = "BANDS"
        self.wave.bands_direction = "X"
        self.wave.inputs["Detail"].default_value = 1.0
        self.wave.inputs["Detail Scale"].default_value = 1.5
        self.noise = nodes.new("ShaderNodeTexNoise")
        self.noise.inputs["Detail"].default_value = 3.0
        self.noise.inputs["Roughness"].default_value = 0.6
        self.brick = nodes.new("ShaderNodeTexBrick")
        self.brick.inputs["Color1"].default_value = (1.0, 1.0, 1.0, 1.0)
        self.brick.inputs["Color2"].default_value = (0.9, 0.9, 0.9, 1.0)
        self.brick.inputs["Mortar"].default_value = (0.0, 0.0, 0.0, 1.0)
        self.brick.inputs["Scale"].default_value = 0.6
        self.brick.inputs["Mortar Size"].default_value = 0.008
        self.brick.inputs["Brick Width"].default_value = 1.0
        self.brick.inputs["Row Height"].default_value = 0.5
        self.brick.offset = 0.0
        for texture in (self.wave, self.noise, self.brick):
            links.new(self.mapping.outputs["Vector"], texture.inputs["Vector"])
        self.weights = []
        total = None
        for texture, output in ((self.wave, "Fac"), (self.noise, "Fac"), (self.brick, "Fac")):
            weighted = nodes.new("ShaderNodeMath")
            weighted.operation = "MULTIPLY"
            links.new(texture.outputs[output], weighted.inputs[0])
            self.weights.append(weighted.inputs[1])
            if total is None:
                total = weighted
            else:
                add = nodes.new("ShaderNodeMath")
                add.operation = "ADD"
                links.new(total.outputs[0], add.inputs[0])
                links.new(weighted.outputs[0], add.inputs[1])
                total = add
        self.mix = nodes.new("ShaderNodeMix")
        self.mix.data_type = "RGBA"
        links.new(total.outputs[0], self.mix.inputs["Factor"])
        links.new(self.mix.outputs["Result"], self.bsdf.inputs["Color" if matte else "Base Color"])
        roughness = nodes.new("ShaderNodeMath")  # the roughness varies a little with the pattern
        roughness.operation = "MULTIPLY_ADD"
        roughness.inputs[1].default_value = 0.15
        links.new(total.outputs[0], roughness.inputs[0])
        self.roughness = roughness.inputs[2]
        if not matte:
            links.new(roughness.outputs[0], self.bsdf.inputs["Roughness"])

    def set(self, kind: str, spec: dict[str, Any], colour: Any, colour2: Any, roughness: float,
            metallic: float, specular: float) -> None:
        stretch, wave_scale, distortion, wave_w, noise_scale, noise_w, brick_w, turn = SURFACE_PATTERNS[kind]
        scale = float(spec.get("scale", 1.0))
        self.mapping.inputs["Location"].default_value = tuple(float(v) for v in spec.get("offset", (0, 0, 0)))
        self.mapping.inputs["Rotation"].default_value = (0.0, 0.0, math.radians(float(spec.get("rotation_deg", 0.0))
                                                                                 + turn))
        self.mapping.inputs["Scale"].default_value = tuple(s * scale for s in stretch)
        self.wave.inputs["Scale"].default_value = wave_scale
        self.wave.inputs["Distortion"].default_value = distortion
        self.noise.inputs["Scale"].default_value = noise_scale
        for socket, weight in zip(self.weights, (wave_w, noise_w, brick_w)):
            socket.default_value = weight
        self.mix.inputs["A"].default_value = _linear(colour2)
        self.mix.inputs["B"].default_value = _linear(colour)
        self.roughness.default_value = max(0.0, roughness - 0.075)
        if not self.matte:
            compat.set_principled(self.bsdf, metallic=metallic, specular=specular, coat=0.0)


def _box_mesh(name: str, sides: int) -> bpy.types.Mesh:
    """A unit prism standing on z = 0: ``sides`` 4 is a box, more a cylinder (radius 0.5, height 1)."""
    angles = np.arange(sides) * 2 * math.pi / sides + (math.pi / 4 if sides == 4 else 0.0)
    ring = np.stack([0.5 * np.cos(angles), 0.5 * np.sin(angles)], axis=1)
    vertices = np.concatenate([np.c_[ring, np.zeros(sides)], np.c_[ring, np.ones(sides)]])
    triangles = []
    for i in range(sides):
        j = (i + 1) % sides
        triangles += [(i, j, sides + j), (i, sides + j, sides + i)]
    for i in range(1, sides - 1):
        triangles += [(0, i + 1, i), (sides, sides + i, sides + i + 1)]
    mesh = bpy.data.meshes.new(name)
    compat.set_mesh_geometry(mesh, vertices, np.array(triangles))
    if sides > 4:
        mesh.polygons.foreach_set("use_smooth", np.r_[np.ones(2 * sides, bool), np.zeros(2 * (sides - 2), bool)])
    return mesh


def _plane_mesh(name: str, x: tuple[float, float], y: tuple[float, float]) -> bpy.types.Mesh:
    vertices = np.array([[x[0], y[0], 0], [x[1], y[0], 0], [x[1], y[1], 0], [x[0], y[1], 0]], dtype=np.float64)
    mesh = bpy.data.meshes.new(name)
    compat.set_mesh_geometry(mesh, vertices, np.array([[0, 1, 2], [0, 2, 3]]))
    return mesh


class Environment:
    """The bench, backdrop, clutter, lights and world of a colour scene, re-dressed per view."""

    def __init__(self, scene: bpy.types.Scene) -> None:
        self.scene = scene
        self.collection = bpy.data.collections.new("environment")
        scene.collection.children.link(self.collection)
        self.bench = self._object("bench", _plane_mesh("bench", (-40.0, 40.0), (-40.0, 40.0)))
        self.backdrop = self._object("backdrop", _plane_mesh("backdrop", (-60.0, 60.0), (-1.0, 40.0)))
        self.bench_material = _PatternMaterial("bench", self.bench)
        self.backdrop_material = _PatternMaterial("backdrop", self.backdrop, matte=True)
        self.bench.data.materials.append(self.bench_material.material)
        self.backdrop.data.materials.append(self.backdrop_material.material)
        self.clutter_meshes = {"box": _box_mesh("clutter_box", 4), "cylinder": _box_mesh("clutter_cylinder", 24),
                               "puck": _box_mesh("clutter_puck", 24)}
        for mesh in self.clutter_meshes.values():
            mesh.materials.append(None)  # one slot; each clutter object fills it with its own material
        self.clutter = []
        for number in range(MAX_CLUTTER):
            obj = self._object(f"clutter_{number}", self.clutter_meshes["box"])
            material = compat.new_node_material(f"clutter_{number}")
            obj.material_slots[0].link = "OBJECT"
            obj.material_slots[0].material = material
            obj.hide_render = True
            self.clutter.append((obj, material))
        # lights live in the scene's own collection, so the defect probes (which link the scene's
        # objects, not this collection) are lit like the colour pass
        self.lights = []
        for number in range(MAX_LIGHTS):
            area = bpy.data.lights.new(f"real_area_{number}", type="AREA")
            area.shape = "DISK"
            spot = bpy.data.lights.new(f"real_spot_{number}", type="SPOT")
            obj = bpy.data.objects.new(f"real_light_{number}", area)
            obj.visible_camera = False
            scene.collection.objects.link(obj)
            self.lights.append((obj, area, spot))
        self.world = self._make_world()
        scene.world = self.world
        scene.render.film_transparent = False
        # a camera's tone curve: highlights roll off instead of clipping, so white ABS keeps its shading
        compat.set_tone_curve(scene)
        # few samples on a full frame: blur glossy paths after a diffuse bounce and skip caustics, whose
        # fireflies the denoiser would smear into blotches
        scene.cycles.blur_glossy = 1.0
        scene.cycles.caustics_reflective = False
        scene.cycles.caustics_refractive = False

    def _object(self, name: str, mesh: bpy.types.Mesh) -> bpy.types.Object:
        obj = bpy.data.objects.new(name, mesh)
        self.collection.objects.link(obj)
        return obj

    def _make_world(self) -> bpy.types.World:
        world = compat.new_node_world("real_world")
        nodes, links = world.node_tree.nodes, world.node_tree.links
        background = nodes.get("Background")
        coords = nodes.new("ShaderNodeTexCoord")
        self.world_mapping = nodes.new("ShaderNodeMapping")
        links.new(coords.outputs["Generated"], self.world_mapping.inputs["Vector"])
        separate = nodes.new("ShaderNodeSeparateXYZ")
        links.new(self.world_mapping.outputs["Vector"], separate.inputs["Vector"])
        sky = nodes.new("ShaderNodeMapRange")  # 0 at the horizon, 1 high up
        sky.inputs["From Min"].default_value = 0.0
        sky.inputs["From Max"].default_value = 0.7
        links.new(separate.outputs["Z"], sky.inputs["Value"])
        ground = nodes.new("ShaderNodeMapRange")  # 0 at the horizon, 1 a little below it
        ground.inputs["From Min"].default_value = 0.0
        ground.inputs["From Max"].default_value = -0.15
        links.new(separate.outputs["Z"], ground.inputs["Value"])
        self.sky_mix = nodes.new("ShaderNodeMix")
        self.sky_mix.data_type = "RGBA"
        links.new(sky.outputs["Result"], self.sky_mix.inputs["Factor"])
        self.ground_mix = nodes.new("ShaderNodeMix")
        self.ground_mix.data_type = "RGBA"
        links.new(ground.outputs["Result"], self.ground_mix.inputs["Factor"])
        links.new(self.sky_mix.outputs["Result"], self.ground_mix.inputs["A"])
        links.new(self.ground_mix.outputs["Result"], background.inputs["Color"])
        self.world_strength = background.inputs["Strength"]
        # no light samples towards the world: bench and backdrop hide most of it, so its shadow rays
        # would mostly be wasted; the smooth sky is found well enough by the surfaces' own samples
        world.cycles.sampling_method = "NONE"
        return world

    def apply(self, look: dict[str, Any], placed: dict[str, Any], camera: bpy.types.Object) -> None:
        """Dress the scene for one view: ``look`` (drawn) placed by ``placed`` (:func:`madgen.realism.layout`)."""
        bench, backdrop = look["bench"], look["backdrop"]
        self.bench.matrix_world = compat.to_matrix(placed["bench"])
        self.bench_material.set(bench["kind"], bench, bench["colour"], bench["colour2"], float(bench["roughness"]),
                                float(bench["metallic"]), float(bench["specular"]))
        self.backdrop.matrix_world = compat.to_matrix(placed["backdrop"])
        self.backdrop_material.set(backdrop["kind"], backdrop, backdrop["colour"], backdrop["colour2"], 0.8, 0.0,
                                   0.3)
        for number, (obj, material) in enumerate(self.clutter):
            if number >= len(look["clutter"]):
                obj.hide_render = True
                continue
            item = look["clutter"][number]
            obj.hide_render = False
            if obj.data is not self.clutter_meshes[item["kind"]]:
                obj.data = self.clutter_meshes[item["kind"]]
                obj.material_slots[0].link = "OBJECT"
                obj.material_slots[0].material = material
            size, aspect = float(item["size"]), float(item["aspect"])
            height = size * aspect * (0.25 if item["kind"] == "puck" else 1.0)
            scale = np.diag([size, size, height, 1.0])
            obj.matrix_world = compat.to_matrix(np.array(placed["clutter"][number]) @ scale)
            compat.set_principled(compat.principled_node(material), base_color=_linear(item["colour"]),
                                  roughness=float(item["roughness"]), metallic=float(item["metallic"]))
        for number, (obj, area, spot) in enumerate(self.lights):
            if number >= len(look["lights"]):
                obj.hide_render = True
                continue
            light = look["lights"][number]
            obj.hide_render = False
            data = spot if light["kind"] == "spot" else area
            if obj.data is not data:
                obj.data = data
            data.energy = float(light["power_w"])
            compat.set_light_temperature(data, float(light["temperature_k"]))
            if light["kind"] == "spot":
                data.spot_size = math.radians(float(light["spot_deg"]))
                data.spot_blend = float(light["spot_blend"])
                data.shadow_soft_size = float(light["size"]) / 2.0
            else:
                data.size = float(light["size"])
            obj.matrix_world = compat.to_matrix(placed["lights"][number])
        world = look["world"]
        frame = np.array(placed["world"], dtype=np.float64)  # rows: bench right, forward, normal
        rotation = compat.to_matrix(frame).to_euler("XYZ")
        self.world_mapping.inputs["Rotation"].default_value = tuple(rotation)
        self.sky_mix.inputs["A"].default_value = _linear(world["horizon"])
        self.sky_mix.inputs["B"].default_value = _linear(world["zenith"])
        self.ground_mix.inputs["B"].default_value = _linear(world["ground"])
        self.world_strength.default_value = float(world["strength"])
        settings = look["camera"]
        view = self.scene.view_settings
        view.exposure = float(settings["exposure_ev"])
        compat.set_white_balance(self.scene, float(settings["white_balance_k"]), float(settings["white_balance_tint"]))
        dof = camera.data.dof
        dof.use_dof = True
        dof.focus_distance = float(placed["focus_distance"])
        dof.aperture_fstop = float(settings["fstop"])
        dof.aperture_blades = 6
