"""Materials from LDConfig colours: ABS plastic and the special finishes, as Principled BSDF.

- solid: opaque ABS, slightly glossy (roughness 0.25, a thin clear coat);
- transparent (ALPHA < 255): glass-like transmission tinted by the colour;
- CHROME: mirror metal; METAL / MATTE_METALLIC: rougher metal; PEARLESCENT: soft metallic sheen;
- RUBBER: rough, low specular;
- LUMINANCE > 0: emits its own colour (glow-in-the-dark parts).
"""

from __future__ import annotations

import bpy

from ..ldraw import Colour
from . import compat


def srgb_to_linear(value: float) -> float:
    """Convert one sRGB channel in 0..1 to linear light."""
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def material_settings(colour: Colour) -> dict[str, object]:
    """The Principled BSDF inputs (by meaning) that give an LDraw colour its look."""
    linear = tuple(srgb_to_linear(c) for c in colour.rgb) + (1.0,)
    settings: dict[str, object] = {"base_color": linear, "roughness": 0.25, "metallic": 0.0, "specular": 0.5,
                                   "coat": 0.15, "coat_roughness": 0.1}
    if colour.is_transparent:
        settings.update(transmission=1.0, roughness=0.05, ior=1.49, coat=0.0)
    if colour.material == "CHROME":
        settings.update(metallic=1.0, roughness=0.05, coat=0.0)
    elif colour.material in ("METAL", "MATTE_METALLIC"):
        settings.update(metallic=1.0, roughness=0.35 if colour.material == "METAL" else 0.55, coat=0.0)
    elif colour.material == "PEARLESCENT":
        settings.update(metallic=0.6, roughness=0.3)
    elif colour.material == "RUBBER":
        settings.update(roughness=0.8, specular=0.2, coat=0.0)
    if colour.luminance > 0:
        settings.update(emission_color=linear, emission_strength=3.0 * colour.luminance / 255.0)
    return settings


def make_material(colour: Colour) -> bpy.types.Material:
    """A Blender material for one LDraw colour."""
    material = compat.new_node_material(f"ldraw_{colour.code}_{colour.name}")
    compat.set_principled(compat.principled_node(material), **material_settings(colour))
    material.diffuse_color = tuple(colour.rgb) + (1.0,)
    return material


def make_instance_id_material(stain_field: bpy.types.ShaderNodeTree | None = None,
                               stain_pass_indices: "int | list[int]" = 0,
                               stain_frame: bpy.types.Object | None = None) -> bpy.types.Material:
    """An emission material for exact masks: red = the object's ``pass_index``.

    With a stain, green = the stain's opacity (the field evaluated in ``stain_frame``'s object
    space) on the objects whose ``pass_index`` is in ``stain_pass_indices`` (0 elsewhere).
    """
    material = compat.new_node_material("madgen_instance_id")
    nodes, links = material.node_tree.nodes, material.node_tree.links
    for node in list(nodes):
        nodes.remove(node)
    info = nodes.new("ShaderNodeObjectInfo")
    combine = nodes.new("ShaderNodeCombineXYZ")
    emission = nodes.new("ShaderNodeEmission")
    output = nodes.new("ShaderNodeOutputMaterial")
    emission.inputs["Strength"].default_value = 1.0
    links.new(info.outputs["Object Index"], combine.inputs["X"])
    if stain_field is not None:
        field = nodes.new("ShaderNodeGroup")
        field.node_tree = stain_field
        coordinates = nodes.new("ShaderNodeTexCoord")
        coordinates.object = stain_frame
        links.new(coordinates.outputs["Object"], field.inputs[0])
        indices = [stain_pass_indices] if isinstance(stain_pass_indices, int) else list(stain_pass_indices)
        stained = None
        for index in indices:  # 1 on the stained objects: a sum of exact index comparisons
            is_target = nodes.new("ShaderNodeMath")
            is_target.operation = "COMPARE"
            links.new(info.outputs["Object Index"], is_target.inputs[0])
            is_target.inputs[1].default_value = float(index)
            is_target.inputs[2].default_value = 0.5
            if stained is None:
                stained = is_target
            else:
                total = nodes.new("ShaderNodeMath")
                total.operation = "ADD"
                links.new(stained.outputs[0], total.inputs[0])
                links.new(is_target.outputs[0], total.inputs[1])
                stained = total
        opacity = nodes.new("ShaderNodeMath")
        opacity.operation = "MULTIPLY"
        links.new(stained.outputs[0], opacity.inputs[0])
        links.new(field.outputs[0], opacity.inputs[1])
        links.new(opacity.outputs[0], combine.inputs["Y"])
    links.new(combine.outputs["Vector"], emission.inputs["Color"])
    links.new(emission.outputs["Emission"], output.inputs["Surface"])
    return material
