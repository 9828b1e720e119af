"""Applying defect plans in Blender: the :class:`~madgen.defects.DefectScene` facade.

Used as a context manager around the renders of one defective view: everything it changes
(hidden parts, added meshes, stained materials, the ID pass's material) is undone on exit, so
the category's scene stays defect-free for the next view.

- ``hide_instances``: the parts are left out of both passes.
- ``add_mesh``: a mesh in the part's frame, parented to the instance, in the part's material;
  its ``pass_index`` is ``ADDED_MESH_BASE + label`` so the ID pass shows exactly where it is.
  It casts no shadow, so the pixels it changes are the pixels of its mask.
- ``add_stain``: a node group computes the stain's opacity from object-space coordinates
  (a union of ellipsoids); the part's materials get a copy that mixes the stain colour in by
  that opacity, and the ID pass's material writes the same opacity into its green channel.
"""

from __future__ import annotations

from typing import Sequence

import bpy
import numpy as np

from ..defects.base import StainBlob
from ..ldraw import points_to_blender
from ..ldraw.frames import LDRAW_TO_BLENDER_ROTATION, LDU_IN_METRES
from . import compat
from .materials import make_instance_id_material, srgb_to_linear
from .session import ADDED_MESH_BASE, RenderSession


def _socket(sockets: bpy.types.bpy_prop_collection, identifier: str) -> bpy.types.NodeSocket:
    for socket in sockets:
        if socket.identifier == identifier:
            return socket
    raise KeyError(identifier)


def make_stain_field(blobs: Sequence[StainBlob], opacity: float, edge: float = 2.0, mottle: float = 0.0,
                     mottle_scale: float = 1.0) -> bpy.types.ShaderNodeTree:
    """A shader node group: object-space position in, stain opacity out.

    ``opacity * min(1, edge * max_k(1 - |q_k|^2)) * (1 - mottle * clamp(2 * noise - 0.5))`` with
    ``q_k`` the position in blob ``k``'s frame divided by its radii (clamped at 0) and ``noise``
    Blender's noise texture of the position times ``mottle_scale``.
    """
    group = bpy.data.node_groups.new("madgen_stain_field", "ShaderNodeTree")
    compat.add_group_socket(group, "Position", "INPUT", "NodeSocketVector")
    compat.add_group_socket(group, "Opacity", "OUTPUT", "NodeSocketFloat")
    nodes, links = group.nodes, group.links
    group_in, group_out = nodes.new("NodeGroupInput"), nodes.new("NodeGroupOutput")
    best = None
    for blob in blobs:
        axes = np.array(blob.axes, dtype=np.float64)
        rotation = compat.to_matrix(LDRAW_TO_BLENDER_ROTATION @ axes.T)
        mapping = nodes.new("ShaderNodeMapping")
        mapping.vector_type = "TEXTURE"
        _socket(mapping.inputs, "Location").default_value = tuple(points_to_blender(np.array(blob.centre)))
        _socket(mapping.inputs, "Rotation").default_value = tuple(rotation.to_euler("XYZ"))
        _socket(mapping.inputs, "Scale").default_value = tuple(float(r) * LDU_IN_METRES for r in blob.radii)
        links.new(group_in.outputs[0], mapping.inputs["Vector"])
        length = nodes.new("ShaderNodeVectorMath")
        length.operation = "DOT_PRODUCT"
        links.new(mapping.outputs["Vector"], length.inputs[0])
        links.new(mapping.outputs["Vector"], length.inputs[1])
        inside = nodes.new("ShaderNodeMath")
        inside.operation = "SUBTRACT"
        inside.use_clamp = True
        inside.inputs[0].default_value = 1.0
        links.new(length.outputs["Value"], inside.inputs[1])
        if best is None:
            best = inside
        else:
            maximum = nodes.new("ShaderNodeMath")
            maximum.operation = "MAXIMUM"
            links.new(best.outputs[0], maximum.inputs[0])
            links.new(inside.outputs[0], maximum.inputs[1])
            best = maximum
    sharpened = nodes.new("ShaderNodeMath")
    sharpened.operation = "MULTIPLY"
    sharpened.use_clamp = True
    sharpened.inputs[1].default_value = float(edge)
    links.new(best.outputs[0], sharpened.inputs[0])
    scaled = nodes.new("ShaderNodeMath")
    scaled.operation = "MULTIPLY"
    scaled.inputs[1].default_value = float(opacity)
    links.new(sharpened.outputs[0], scaled.inputs[0])
    result = scaled
    if mottle > 0:
        noise = nodes.new("ShaderNodeTexNoise")
        noise.inputs["Scale"].default_value = float(mottle_scale)
        noise.inputs["Detail"].default_value = 2.0
        links.new(group_in.outputs[0], noise.inputs["Vector"])
        spots = nodes.new("ShaderNodeMapRange")
        spots.clamp = True
        spots.inputs["From Min"].default_value = 0.25
        spots.inputs["From Max"].default_value = 0.75
        spots.inputs["To Min"].default_value = 1.0
        spots.inputs["To Max"].default_value = 1.0 - float(mottle)
        links.new(noise.outputs["Fac"], spots.inputs["Value"])
        mottled = nodes.new("ShaderNodeMath")
        mottled.operation = "MULTIPLY"
        links.new(scaled.outputs[0], mottled.inputs[0])
        links.new(spots.outputs["Result"], mottled.inputs[1])
        result = mottled
    links.new(result.outputs[0], group_out.inputs[0])
    return group


def stained_copy(material: bpy.types.Material, field: bpy.types.ShaderNodeTree,
                 rgb: tuple[float, float, float], frame: bpy.types.Object) -> bpy.types.Material:
    """A copy of a part material whose base colour is mixed towards ``rgb`` by the stain field,
    evaluated in ``frame``'s object space (the stain's target part)."""
    copy = material.copy()
    nodes, links = copy.node_tree.nodes, copy.node_tree.links
    bsdf = compat.principled_node(copy)
    base = bsdf.inputs["Base Color"]
    mix = nodes.new("ShaderNodeMix")
    mix.data_type = "RGBA"
    mix.blend_type = "MIX"
    _socket(mix.inputs, "A_Color").default_value = tuple(base.default_value)
    _socket(mix.inputs, "B_Color").default_value = tuple(srgb_to_linear(c) for c in rgb) + (1.0,)
    group = nodes.new("ShaderNodeGroup")
    group.node_tree = field
    coordinates = nodes.new("ShaderNodeTexCoord")
    coordinates.object = frame
    links.new(coordinates.outputs["Object"], group.inputs[0])
    links.new(group.outputs[0], _socket(mix.inputs, "Factor_Float"))
    links.new(_socket(mix.outputs, "Result_Color"), base)
    return copy


class BlenderDefectScene:
    """Applies plans to a :class:`RenderSession`'s scene and undoes them on exit."""

    def __init__(self, session: RenderSession) -> None:
        self.session = session
        self._hidden: list[bpy.types.Object] = []
        self._added: list[bpy.types.Object] = []
        self._slots: list[tuple[bpy.types.MaterialSlot, bpy.types.Material]] = []
        self._groups: list[bpy.types.ShaderNodeTree] = []
        self._id_material: bpy.types.Material | None = None

    def __enter__(self) -> "BlenderDefectScene":
        return self

    def __exit__(self, *exc: object) -> None:
        self.revert()

    def hide_instances(self, instances: Sequence[int]) -> None:
        """Leave parts out of the render."""
        for index in instances:
            obj = self.session.built.instances[index]
            obj.hide_render = True
            self._hidden.append(obj)

    def add_mesh(self, instance: int, vertices_ldu: np.ndarray, triangles: np.ndarray) -> int:
        """Attach a mesh given in the part's frame (LDU), in the part's colour; returns its label."""
        parent = self.session.built.instances[instance]
        label = len(self._added)
        mesh = bpy.data.meshes.new(f"madgen_defect_{label}")
        compat.set_mesh_geometry(mesh, points_to_blender(vertices_ldu), np.asarray(triangles, dtype=np.int32))
        colour = self.session.assembly.instances[instance].colour
        mesh.materials.append(self.session.built.materials[colour])
        obj = bpy.data.objects.new(f"madgen_defect_{label}", mesh)
        obj.parent = parent
        obj.pass_index = ADDED_MESH_BASE + label
        # The mask is the added geometry itself: its cast shadow, the bounce light it blocks and
        # its reflections would change pixels outside it, so only camera rays see it.
        obj.visible_shadow = False
        obj.visible_diffuse = False
        obj.visible_glossy = False
        obj.visible_transmission = False
        self.session.built.collection.objects.link(obj)
        self._added.append(obj)
        return label

    def add_stain(self, instance: int, blobs: Sequence[StainBlob], rgb: tuple[float, float, float],
                  opacity: float, *, edge: float = 2.0, mottle: float = 0.0, mottle_scale: float = 1.0,
                  spread: Sequence[int] = ()) -> int:
        """Mix a stain into the target's (and the ``spread`` instances') materials and report its
        opacity in the ID pass."""
        if self._id_material is not None:
            raise ValueError("one stain per view")
        target = self.session.built.instances[instance]
        field = make_stain_field(blobs, opacity, edge, mottle, mottle_scale)
        self._groups.append(field)
        stained = [target] + [self.session.built.instances[i] for i in spread if i != instance]
        for obj in stained:
            for slot in obj.material_slots:
                original = slot.material
                slot.link = "OBJECT"
                slot.material = stained_copy(original, field, rgb, target)
                self._slots.append((slot, original))
        self._id_material = make_instance_id_material(field, [obj.pass_index for obj in stained], target)
        self.session.id_scene.view_layers[0].material_override = self._id_material
        return 0

    def revert(self) -> None:
        """Undo every change."""
        for obj in self._hidden:
            obj.hide_render = False
        for obj in self._added:
            mesh = obj.data
            bpy.data.objects.remove(obj)
            bpy.data.meshes.remove(mesh)
        for slot, original in self._slots:
            copy = slot.material
            slot.material = None
            slot.link = "DATA"
            if copy is not None and copy is not original:
                bpy.data.materials.remove(copy)
        if self._id_material is not None:
            self.session.id_scene.view_layers[0].material_override = self.session.id_material
            bpy.data.materials.remove(self._id_material)
        for group in self._groups:
            bpy.data.node_groups.remove(group)
        self._hidden, self._added, self._slots, self._groups, self._id_material = [], [], [], [], None
