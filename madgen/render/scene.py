"""Build the Blender scene of an :class:`~madgen.ldraw.Assembly`, once per category.

- One mesh datablock per (part, colour), shared by every instance of that part in that colour;
  vertices are converted to Blender's frame (metres, Z up) with numpy and set in bulk.
- Each part is shrunk by ``part_gap_ldu`` on every side so that neighbouring bricks read as
  separate parts; faces are smooth-shaded with sharp edges from LDraw edge lines and from
  creases sharper than :data:`CREASE_ANGLE_DEG`.
- All instances hang under one root empty that carries the normalisation into the scene (framing)
  (and, for test views, the object's rotation about Z). Each instance's ``pass_index`` is its
  index + 1, which the mask pass renders exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import bpy
import numpy as np

from ..ldraw import Assembly, PartMesh, points_to_blender, transform_to_blender
from ..ldraw.colours import EDGE_COLOUR, MAIN_COLOUR
from ..ldraw.frames import model_points_m  # noqa: F401  (re-exported)
from ..rig import Normalisation
from . import compat
from .materials import make_material

CREASE_ANGLE_DEG = 35.0


def _with_gap(vertices: np.ndarray, gap: float) -> np.ndarray:
    """Shrink a part towards its bounding-box centre by ``gap`` LDU on every side."""
    if gap <= 0 or not len(vertices):
        return vertices.astype(np.float64)
    low, high = vertices.min(axis=0), vertices.max(axis=0)
    centre, size = (low + high) / 2.0, high - low
    factor = np.where(size > 4 * gap, (size - 2 * gap) / np.maximum(size, 1e-9), 1.0)
    return centre + (vertices - centre) * factor


def sharp_edge_flags(mesh_edges: np.ndarray, triangles: np.ndarray, vertices: np.ndarray,
                     line_pairs: np.ndarray, crease_deg: float = CREASE_ANGLE_DEG) -> np.ndarray:
    """Flag each mesh edge (E, 2) that lies on an LDraw edge line, on a crease, or on a border."""
    vertex_count = max(len(vertices), 1)

    def keys(pairs: np.ndarray) -> np.ndarray:
        pairs = np.sort(pairs.astype(np.int64), axis=1)
        return pairs[:, 0] * vertex_count + pairs[:, 1]

    corners = vertices[triangles]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    face_edges = keys(np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]]))
    face_of = np.tile(np.arange(len(triangles)), 3)
    order = np.argsort(face_edges, kind="stable")
    sorted_keys, sorted_faces = face_edges[order], face_of[order]
    unique, starts, counts = np.unique(sorted_keys, return_index=True, return_counts=True)
    crease = counts != 2
    pair = counts == 2
    first, second = sorted_faces[starts[pair]], sorted_faces[starts[pair] + 1]
    cosine = np.einsum("ij,ij->i", normals[first], normals[second])
    crease[pair] = cosine < math.cos(math.radians(crease_deg))
    sharp_keys = unique[crease]
    if len(line_pairs):
        sharp_keys = np.union1d(sharp_keys, keys(line_pairs))
    return np.isin(keys(mesh_edges), sharp_keys)


@dataclass
class BlenderScene:
    """The built scene: the shared model collection, its root, the camera and the instance objects."""

    scene: bpy.types.Scene
    collection: bpy.types.Collection
    root: bpy.types.Object
    camera: bpy.types.Object
    instances: list[bpy.types.Object]
    normalisation: Normalisation
    materials: dict[int, bpy.types.Material]
    object_rotation_deg: float | None = None

    def set_object_rotation(self, degrees: float) -> None:
        """Place the model: normalised (centred and scaled by its framing), then rotated about world Z.

        Unchanged rotations are skipped: moving the root makes Cycles re-sync every object.
        """
        if degrees == self.object_rotation_deg:
            return
        self.object_rotation_deg = degrees
        angle = math.radians(degrees)
        rotation = np.eye(4)
        rotation[:2, :2] = [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
        self.root.matrix_world = compat.to_matrix(rotation @ self.normalisation.matrix())


class _MeshFactory:
    """Makes each (part, colour) mesh once, with its material slots."""

    def __init__(self, assembly: Assembly, gap: float) -> None:
        self.assembly = assembly
        self.gap = gap
        self.materials: dict[int, bpy.types.Material] = {}
        self.meshes: dict[tuple[str, int], bpy.types.Mesh] = {}
        self.geometry: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        #: The first Blender mesh made of each part; other colours start as a copy of it.
        self.shaped: dict[str, bpy.types.Mesh] = {}

    def material(self, code: int) -> bpy.types.Material:
        if code not in self.materials:
            self.materials[code] = make_material(self.assembly.colours.resolve(code))
        return self.materials[code]

    def part_geometry(self, part: PartMesh) -> tuple[np.ndarray, np.ndarray]:
        if part.part_id not in self.geometry:
            vertices = points_to_blender(_with_gap(part.vertices.astype(np.float64), self.gap))
            self.geometry[part.part_id] = (vertices, part.triangles)
        return self.geometry[part.part_id]

    def mesh(self, part_id: str, colour: int) -> bpy.types.Mesh:
        key = (part_id, colour)
        if key in self.meshes:
            return self.meshes[key]
        part = self.assembly.meshes[part_id]
        shaped = self.shaped.get(part_id)
        if shaped is not None:
            # the same part in another colour: same geometry, smoothing and sharp edges (a copy is
            # made in C), only the material slots differ
            mesh = shaped.copy()
            mesh.name = f"{part_id}_c{colour}"
            mesh.materials.clear()
        else:
            vertices, triangles = self.part_geometry(part)
            mesh = bpy.data.meshes.new(f"{part_id}_c{colour}")
            compat.set_mesh_geometry(mesh, vertices, triangles)
        codes = part.triangle_colours.astype(np.int64).copy()
        codes[codes == MAIN_COLOUR] = colour
        codes[codes == EDGE_COLOUR] = self.assembly.colours.edge_code(colour)
        slots, slot_index = np.unique(codes, return_inverse=True)
        for code in slots.tolist():
            mesh.materials.append(self.material(int(code)))
        mesh.polygons.foreach_set("material_index", slot_index.astype(np.int32))
        if shaped is None:
            edges = np.empty(len(mesh.edges) * 2, dtype=np.int32)
            mesh.edges.foreach_get("vertices", edges)
            sharp = sharp_edge_flags(edges.reshape(-1, 2), triangles, vertices, part.sharp_edges)
            compat.set_smooth_with_sharp_edges(mesh, sharp)
            self.shaped[part_id] = mesh
        self.meshes[key] = mesh
        return mesh


_generation = 0


def scene_generation() -> int:
    """How many times :func:`build_scene` has reset Blender in this process.

    A reset removes every earlier scene, so anything built before it (a cached render session)
    is stale once the generation moves on.
    """
    return _generation


def build_scene(assembly: Assembly, normalisation: Normalisation, gap_ldu: float,
                camera_angle_x: float) -> BlenderScene:
    """Reset Blender and build the model, its root and the camera in a fresh scene."""
    global _generation
    compat.check_version()
    # An empty scene from the factory startup file, without re-registering every add-on as
    # read_factory_settings does (a third of a small model's import); the renderer sets the
    # preferences it uses (the Cycles device) itself.
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True, load_ui=False)
    _generation += 1
    scene = bpy.context.scene
    scene.name = "madgen"
    collection = bpy.data.collections.new("model")
    scene.collection.children.link(collection)
    root = bpy.data.objects.new("model_root", None)
    collection.objects.link(root)
    factory = _MeshFactory(assembly, gap_ldu)
    objects = []
    placements = transform_to_blender(np.array([instance.transform for instance in assembly.instances])
                                      .reshape(-1, 4, 4))
    for instance, placement in zip(assembly.instances, placements):
        obj = bpy.data.objects.new(f"{instance.index:05d}_{instance.part_id}",
                                   factory.mesh(instance.part_id, instance.colour))
        obj.parent = root
        obj.matrix_basis = compat.to_matrix(placement)
        obj.pass_index = instance.index + 1
        objects.append(obj)
    for obj in objects:
        collection.objects.link(obj)
    camera_data = bpy.data.cameras.new("camera")
    camera_data.sensor_fit = "HORIZONTAL"
    camera_data.angle = camera_angle_x
    camera_data.clip_start, camera_data.clip_end = 0.05, 100.0
    camera = bpy.data.objects.new("camera", camera_data)
    scene.collection.objects.link(camera)
    scene.camera = camera
    built = BlenderScene(scene, collection, root, camera, objects, normalisation, factory.materials)
    built.set_object_rotation(0.0)
    return built
