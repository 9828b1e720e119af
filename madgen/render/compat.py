"""Every Blender-version-specific call madgen makes, in one place.

The reference is the ``bpy`` 5.0 wheel; Blender 3.4 (Debian's package) and newer work. A new
Blender release that renames something should need changes here only.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from contextlib import contextmanager
from typing import Iterator

import bpy
import numpy as np

from ..errors import MadgenError

MINIMUM_VERSION = (3, 4, 0)
VERSION: tuple[int, int, int] = tuple(bpy.app.version)  # type: ignore[assignment]

#: Principled BSDF socket names by meaning; the first name that exists is used.
_PRINCIPLED_INPUTS = {
    "base_color": ("Base Color",),
    "metallic": ("Metallic",),
    "roughness": ("Roughness",),
    "ior": ("IOR",),
    "alpha": ("Alpha",),
    "specular": ("Specular IOR Level", "Specular"),
    "transmission": ("Transmission Weight", "Transmission"),
    "coat": ("Coat Weight", "Clearcoat"),
    "coat_roughness": ("Coat Roughness", "Clearcoat Roughness"),
    "sheen": ("Sheen Weight", "Sheen"),
    "emission_color": ("Emission Color", "Emission"),
    "emission_strength": ("Emission Strength",),
}


def to_matrix(array: np.ndarray) -> "object":
    """A numpy matrix (3x3 or 4x4) as a ``mathutils.Matrix``."""
    from mathutils import Matrix

    return Matrix([[float(value) for value in row] for row in np.asarray(array)])


def check_version() -> None:
    """Fail clearly on a Blender older than :data:`MINIMUM_VERSION`."""
    if VERSION < MINIMUM_VERSION:
        minimum = ".".join(map(str, MINIMUM_VERSION))
        raise MadgenError(f"Blender {bpy.app.version_string} is too old; madgen needs Blender {minimum} or newer")


def new_node_material(name: str) -> bpy.types.Material:
    """A material with a node tree (``use_nodes`` is implicit from Blender 5.0)."""
    material = bpy.data.materials.new(name)
    if VERSION < (5, 0, 0):
        material.use_nodes = True
    return material


def new_node_world(name: str) -> bpy.types.World:
    """A world with a node tree holding a Background node."""
    world = bpy.data.worlds.new(name)
    if VERSION < (5, 0, 0):
        world.use_nodes = True
    elif world.node_tree is None or world.node_tree.nodes.get("Background") is None:
        world.use_nodes = True
    return world


def add_group_socket(group: bpy.types.NodeTree, name: str, in_out: str, socket_type: str) -> None:
    """Add an input or output socket to a node group (the interface API changed in 4.0)."""
    if VERSION >= (4, 0, 0):
        group.interface.new_socket(name, in_out=in_out, socket_type=socket_type)
    elif in_out == "INPUT":
        group.inputs.new(socket_type, name)
    else:
        group.outputs.new(socket_type, name)


def principled_node(material: bpy.types.Material) -> bpy.types.Node:
    """The Principled BSDF node of a new node material."""
    for node in material.node_tree.nodes:
        if node.type == "BSDF_PRINCIPLED":
            return node
    raise MadgenError(f"material {material.name} has no Principled BSDF")


def set_principled(node: bpy.types.Node, **values: object) -> None:
    """Set Principled BSDF inputs by meaning (``base_color=...``, ``roughness=...``)."""
    for meaning, value in values.items():
        for name in _PRINCIPLED_INPUTS[meaning]:
            socket = node.inputs.get(name)
            if socket is not None:
                socket.default_value = value
                break


def set_mesh_geometry(mesh: bpy.types.Mesh, vertices: np.ndarray, triangles: np.ndarray) -> None:
    """Fill an empty mesh from (V, 3) float vertices and (T, 3) int triangles, in bulk."""
    count = len(triangles)
    mesh.vertices.add(len(vertices))
    mesh.vertices.foreach_set("co", np.ascontiguousarray(vertices, dtype=np.float32).ravel())
    mesh.loops.add(count * 3)
    mesh.loops.foreach_set("vertex_index", np.ascontiguousarray(triangles, dtype=np.int32).ravel())
    mesh.polygons.add(count)
    mesh.polygons.foreach_set("loop_start", np.arange(0, count * 3, 3, dtype=np.int32))
    if VERSION < (4, 0, 0):
        mesh.polygons.foreach_set("loop_total", np.full(count, 3, dtype=np.int32))
    mesh.update(calc_edges=True)


def set_smooth_with_sharp_edges(mesh: bpy.types.Mesh, sharp: np.ndarray) -> None:
    """Smooth-shade every face and keep the flagged edges (bool per mesh edge) sharp."""
    mesh.polygons.foreach_set("use_smooth", np.ones(len(mesh.polygons), dtype=bool))
    if VERSION >= (4, 1, 0):
        attribute = mesh.attributes.get("sharp_edge") or mesh.attributes.new("sharp_edge", "BOOLEAN", "EDGE")
        attribute.data.foreach_set("value", np.ascontiguousarray(sharp, dtype=bool))
    else:
        mesh.edges.foreach_set("use_edge_sharp", np.ascontiguousarray(sharp, dtype=bool))
        mesh.use_auto_smooth = True
        mesh.auto_smooth_angle = math.pi


def denoiser_available() -> bool:
    """True when this Blender build has OpenImageDenoise."""
    try:
        import _cycles  # the Cycles add-on's native module: reports its build options
    except ImportError:
        return False
    return bool(getattr(_cycles, "with_openimagedenoise", False))


def configure_denoiser(scene: bpy.types.Scene, enabled: bool, prefilter: str, quality: str) -> bool:
    """Turn OpenImageDenoise on or off; returns False (with a warning) when it is unavailable."""
    cycles = scene.cycles
    if enabled and not denoiser_available():
        warnings.warn(f"Blender {bpy.app.version_string} has no OpenImageDenoise; rendering without denoising",
                      stacklevel=2)
        enabled = False
    cycles.use_denoising = enabled
    if enabled:
        cycles.denoiser = "OPENIMAGEDENOISE"
        cycles.denoising_prefilter = prefilter
        if hasattr(cycles, "denoising_quality"):
            cycles.denoising_quality = quality
        if hasattr(cycles, "denoising_input_passes"):
            cycles.denoising_input_passes = "RGB_ALBEDO_NORMAL"
    return enabled


def set_output_format(scene: bpy.types.Scene, file_format: str) -> None:
    """Choose the render output format (``PNG`` RGBA 8-bit or ``OPEN_EXR`` RGBA float)."""
    settings = scene.render.image_settings
    if hasattr(settings, "media_type"):
        settings.media_type = "IMAGE"
    settings.file_format = file_format
    settings.color_mode = "RGBA"
    if file_format == "PNG":
        settings.color_depth = "8"
        settings.compression = 0
    else:
        settings.color_depth = "32"
        settings.exr_codec = "NONE"


def use_gpu_if_available(scene: bpy.types.Scene, device: str) -> str:
    """Select a GPU for Cycles when asked or when ``auto`` finds one; returns ``GPU`` or ``CPU``."""
    scene.cycles.device = "CPU"
    if device == "cpu":
        return "CPU"
    try:
        preferences = bpy.context.preferences.addons["cycles"].preferences
    except KeyError:
        return "CPU"
    for backend in ("OPTIX", "CUDA", "HIP", "ONEAPI", "METAL"):
        try:
            preferences.compute_device_type = backend
        except TypeError:
            continue
        if hasattr(preferences, "refresh_devices"):
            preferences.refresh_devices()
        else:
            preferences.get_devices()
        gpus = [d for d in preferences.devices if d.type == backend]
        if gpus:
            for candidate in preferences.devices:
                candidate.use = candidate.type == backend
            scene.cycles.device = "GPU"
            return "GPU"
    preferences.compute_device_type = "NONE"
    if device == "gpu":
        raise MadgenError("profile asks for device 'gpu' but Blender sees no GPU")
    return "CPU"


def read_image_pixels(path: str) -> np.ndarray:
    """Load an image file through Blender and return (H, W, 4) float32 pixels, top row first."""
    image = bpy.data.images.load(path, check_existing=False)
    try:
        width, height = image.size
        pixels = np.empty(width * height * 4, dtype=np.float32)
        image.pixels.foreach_get(pixels)
    finally:
        bpy.data.images.remove(image)
    return pixels.reshape(height, width, 4)[::-1]


@contextmanager
def native_output_silenced() -> Iterator[None]:
    """Silence what Blender's C code prints itself (render logs, GPU library probes).

    Python-level errors still raise; only file descriptors 1 and 2 are redirected meanwhile.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for handle in saved:
            os.close(handle)


def set_tone_curve(scene: bpy.types.Scene) -> None:
    """A camera-like tone curve: AgX (Blender 4.0+), else Filmic."""
    # the transforms are a dynamic enum (read from the OCIO config), so bl_rna's enum_items
    # lists none of them: try AgX and fall back
    try:
        scene.view_settings.view_transform = "AgX"
    except TypeError:
        scene.view_settings.view_transform = "Filmic"


def set_white_balance(scene: bpy.types.Scene, temperature_k: float, tint: float) -> None:
    """The view's white balance (Blender 4.3+; older versions render without it, with a warning)."""
    view = scene.view_settings
    if hasattr(view, "use_white_balance"):
        view.use_white_balance = True
        view.white_balance_temperature = temperature_k
        view.white_balance_tint = tint
    else:
        _warn_once("white balance", "4.3")


def set_light_temperature(light: bpy.types.Light, temperature_k: float) -> None:
    """A light's colour temperature (Blender 4.5+; older versions keep the light white, with a
    warning)."""
    if hasattr(light, "use_temperature"):
        light.use_temperature = True
        light.temperature = temperature_k
    else:
        _warn_once("light colour temperature", "4.5")


def _warn_once(setting: str, since: str) -> None:
    """A warning for a look setting this Blender cannot apply (the warnings module's default
    filter shows it once per call site, i.e. once per process)."""
    warnings.warn(f"Blender {bpy.app.version_string} has no {setting} (needs {since}); the looks' "
                  f"{setting} settings are ignored", stacklevel=3)
