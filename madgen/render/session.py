"""The render loop: build a category's scene once, then render view after view.

Each view is two Cycles renders of the same objects:

1. the RGB pass (the profile's samples, denoiser and bounces; transparent film, so the object's
   alpha is exact and the background is made pure white afterwards);
2. the instance-ID pass: a second scene linking the same collection and camera, whose view layer
   overrides every material with an emission equal to the object's ``pass_index``; 1 sample,
   pixel filter 0.01, no bounces, float EXR output. Every pixel holds exactly the index of the
   instance it sees, so the mask of any subset of instances comes from this one pass.

Both scenes keep Cycles' persistent data, so moving the camera does not rebuild the BVH.
A third scene, made on first use, renders *probes*: the RGB scene's objects, lights and world at
the profile's ``probe_samples``, undenoised, for judging a defect draw's look before the real render.
Seeds are fixed per view, so the same inputs give the same pixels.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import bpy
import numpy as np
from PIL import Image

from ..defects.coverage import point_sample
from ..errors import MadgenError
from ..ldraw import Assembly
from ..profiles import RenderProfile
from ..rig import CameraPose, Normalisation, RigConfig, frame_model
from . import compat
from .lighting import add_studio
from .environment import Environment
from .materials import make_instance_id_material
from ..ldraw.frames import model_support_points_m
from .scene import BlenderScene, build_scene, scene_generation

#: Blender's ``pass_index`` is a 16-bit signed value: 0 is the background, 1..32000 the part
#: instances (index + 1), and from :data:`ADDED_MESH_BASE` the meshes a defect adds.
MAX_INSTANCES = 32000
ADDED_MESH_BASE = 32001


def decode_id_pass(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split an ID-pass image (R: pass index, G: stain opacity, A: coverage) into its layers."""
    covered = pixels[:, :, 3] > 0.5
    index = np.where(covered, np.rint(pixels[:, :, 0]).astype(np.int64), 0)
    instance_ids = np.where((index >= 1) & (index < ADDED_MESH_BASE), index - 1, -1).astype(np.int32)
    added = np.where(index >= ADDED_MESH_BASE, index - ADDED_MESH_BASE, -1).astype(np.int32)
    stain = np.where(covered, pixels[:, :, 1], 0.0).astype(np.float32)
    return instance_ids, added, stain


@dataclass
class IdLayers:
    """An ID pass at ``scale`` times the image resolution (see :func:`decode_id_pass`)."""

    instance_ids: np.ndarray
    added_labels: np.ndarray
    stain_opacity: np.ndarray
    scale: int

    def point_sampled(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The layers at image resolution: the sub-pixel at each pixel's centre."""
        return tuple(point_sample(layer, self.scale)  # type: ignore[return-value]
                     for layer in (self.instance_ids, self.added_labels, self.stain_opacity))


@dataclass
class RenderedView:
    """The pixels of one view: RGBA (straight alpha) and what each pixel sees.

    ``instance_ids``: the part instance (-1: none); ``added_labels``: the label of a mesh a
    defect added (-1: none); ``stain_opacity``: a stain's opacity (0: none).
    """

    rgba: np.ndarray
    instance_ids: np.ndarray | None
    added_labels: np.ndarray | None
    stain_opacity: np.ndarray | None
    rgb_seconds: float
    mask_seconds: float
    id_layers: IdLayers | None = None

    def mask(self, instances: "np.ndarray | list[int] | None" = None) -> np.ndarray:
        """Boolean mask of the pixels that see any of ``instances`` (all parts when None)."""
        if self.instance_ids is None:
            raise ValueError("this view was rendered without its ID pass")
        if instances is None:
            return self.instance_ids >= 0
        return np.isin(self.instance_ids, np.asarray(list(instances), dtype=np.int64))


def _configure_common(scene: bpy.types.Scene, profile: RenderProfile) -> None:
    scene.render.engine = "CYCLES"
    scene.render.resolution_x = scene.render.resolution_y = profile.resolution
    scene.render.resolution_percentage = 100
    scene.render.film_transparent = True
    scene.render.dither_intensity = 0.0
    scene.render.use_persistent_data = True
    scene.render.threads_mode = "FIXED" if profile.threads else "AUTO"
    if profile.threads:
        scene.render.threads = profile.threads
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.view_settings.exposure = 0.0
    scene.view_settings.gamma = 1.0
    scene.cycles.use_animated_seed = False
    scene.cycles.use_adaptive_sampling = False


def _read_rgba(path: Path) -> np.ndarray:
    """A rendered PNG as an RGBA uint8 array (read fully, so the file may be overwritten)."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGBA")).copy()


class RenderSession:
    """Holds one category's Blender scene and renders views of it."""

    def __init__(self, assembly: Assembly, profile: RenderProfile, rig: RigConfig | None = None,
                 normalisation: Normalisation | None = None) -> None:
        if len(assembly.instances) > MAX_INSTANCES:
            raise MadgenError(f"{assembly.source}: {len(assembly.instances)} parts; the mask pass supports "
                              f"at most {MAX_INSTANCES}")
        self.profile = profile
        self.assembly = assembly
        rig = rig or RigConfig()
        self.normalisation = normalisation or frame_model(model_support_points_m(assembly), rig)
        started = time.perf_counter()
        self.built: BlenderScene = build_scene(assembly, self.normalisation, profile.part_gap_ldu, rig.camera_angle_x)
        self.rgb_scene = self.built.scene
        _configure_common(self.rgb_scene, profile)
        self.environment: Environment | None = None
        self._dressed = False
        self.id_camera = self.built.camera
        if profile.realism is None:
            add_studio(self.rgb_scene)
        else:
            self.environment = Environment(self.rgb_scene)
            # the mask pass's own camera: same pose, no depth of field, so masks stay exact
            self.id_camera = bpy.data.objects.new("camera_ids", self.built.camera.data.copy())
            self._toy_points = model_support_points_m(assembly)
        with compat.native_output_silenced():
            self.device = compat.use_gpu_if_available(self.rgb_scene, profile.device)
        cycles = self.rgb_scene.cycles
        cycles.samples = profile.samples
        cycles.max_bounces = profile.max_bounces
        cycles.diffuse_bounces = min(profile.max_bounces, 4)
        cycles.glossy_bounces = min(profile.max_bounces, 4)
        cycles.transmission_bounces = profile.max_bounces
        cycles.transparent_max_bounces = max(profile.max_bounces, 8)
        cycles.filter_width = 1.5
        self.denoised = compat.configure_denoiser(self.rgb_scene, profile.denoise, profile.denoise_prefilter,
                                                  profile.denoise_quality)
        compat.set_output_format(self.rgb_scene, "PNG")
        self.id_scale = profile.mask_supersample
        self.id_scene = self._make_id_scene()
        self._probe_scene: bpy.types.Scene | None = None
        self.build_seconds = time.perf_counter() - started
        self.generation = scene_generation()
        self._folder = Path(tempfile.mkdtemp(prefix="madgen-render-"))

    def _linked_scene(self, name: str, objects: Sequence[bpy.types.Object]) -> bpy.types.Scene:
        """A new scene rendering the model collection and ``objects`` (the camera among them) with
        the common settings and the RGB scene's device."""
        scene = bpy.data.scenes.new(name)
        scene.collection.children.link(self.built.collection)
        for obj in objects:
            scene.collection.objects.link(obj)
        scene.camera = objects[0] if objects and objects[0].type == "CAMERA" else self.built.camera
        _configure_common(scene, self.profile)
        scene.cycles.device = self.rgb_scene.cycles.device
        return scene

    def _make_id_scene(self) -> bpy.types.Scene:
        scene = self._linked_scene("madgen_ids", [self.id_camera])
        scene.cycles.samples = 1
        scene.cycles.max_bounces = 0
        for name in ("diffuse_bounces", "glossy_bounces", "transmission_bounces", "volume_bounces",
                     "transparent_max_bounces"):
            setattr(scene.cycles, name, 0)
        scene.cycles.filter_width = self.profile.mask_filter_width
        scene.render.resolution_x = scene.render.resolution_y = self.profile.resolution * self.id_scale
        scene.cycles.use_denoising = False
        self.id_material = make_instance_id_material()
        scene.view_layers[0].material_override = self.id_material
        if self.environment is not None:
            # the bench is the one part of the environment that can hide some of the toy (a flap
            # or a part below its plane): in the ID pass it is "no instance" (pass index 0), so
            # masks and silhouettes leave out what the colour pass shows covered by it
            self.environment.bench.pass_index = 0
            scene.collection.objects.link(self.environment.bench)
        compat.set_output_format(scene, "OPEN_EXR")
        return scene

    def _make_probe_scene(self) -> bpy.types.Scene:
        scene = self._linked_scene("madgen_probe", list(self.rgb_scene.collection.objects))  # camera, lights
        scene.world = self.rgb_scene.world
        source, cycles = self.rgb_scene.cycles, scene.cycles
        for name in ("max_bounces", "diffuse_bounces", "glossy_bounces", "transmission_bounces",
                     "transparent_max_bounces", "filter_width"):
            setattr(cycles, name, getattr(source, name))
        cycles.samples = self.profile.probe_samples
        cycles.use_denoising = False
        compat.set_output_format(scene, "PNG")
        return scene

    def render_probe(self, pose: CameraPose, seed: int) -> np.ndarray:
        """A cheap, noisy RGBA render of a view (``probe_samples``, no denoising) for judging a draw.

        Two probes with the same seed differ only where the scene differs (their noise cancels
        elsewhere), so comparing probes of a good and a defective scene shows what a defect changes.
        """
        self._check_dressed()
        if self._probe_scene is None:
            self._probe_scene = self._make_probe_scene()
        self._place(pose)
        self._probe_scene.cycles.seed = seed % (2**31)
        path, _ = self._render(self._probe_scene, "probe.png")
        return _read_rgba(path)

    @property
    def alive(self) -> bool:
        """False once a later scene build has reset Blender (this session's objects are gone)."""
        return self.generation == scene_generation()

    def close(self) -> None:
        """Remove the temporary render folder."""
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> "RenderSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _render(self, scene: bpy.types.Scene, filename: str) -> tuple[Path, float]:
        path = self._folder / filename
        scene.render.filepath = str(path)
        with compat.native_output_silenced():
            started = time.perf_counter()
            bpy.ops.render.render(write_still=True, scene=scene.name)
            seconds = time.perf_counter() - started
        return path, seconds

    def _place(self, pose: CameraPose) -> None:
        self.built.camera.matrix_world = compat.to_matrix(pose.camera_to_world)
        if self.id_camera is not self.built.camera:
            self.id_camera.matrix_world = self.built.camera.matrix_world
        self.built.set_object_rotation(pose.object_rotation_deg)

    def set_look(self, look: dict | None, pose: CameraPose) -> None:
        """Dress the colour pass for a view: its drawn ``look`` (a realism profile's; see
        :mod:`madgen.realism`) laid out around the toy as seen from ``pose``. Studio profiles take
        ``None``; the look stays until the next call."""
        if look is None:
            if self.environment is not None:
                raise MadgenError("a realism profile renders every view with its drawn look")
            return
        if self.environment is None:
            raise MadgenError("a drawn look needs a profile with a realism block")
        from ..realism import layout
        from ..rig import rotation_z

        placement = rotation_z(pose.object_rotation_deg) @ self.normalisation.matrix()
        points = self._toy_points @ placement[:3, :3].T + placement[:3, 3]
        placed = layout(look, pose.camera_to_world, points, pose.camera_angle_x)
        self.environment.apply(look, placed, self.built.camera)
        self._dressed = True

    def _check_dressed(self) -> None:
        if self.environment is not None and not self._dressed:
            raise MadgenError("a realism profile's views render only with their drawn look "
                              "(this tool does not draw looks; use madgen build, render or preview)")

    def render_many(self, poses: Sequence[CameraPose], seeds: Sequence[int], ids: bool = True,
                    looks: Sequence[dict | None] | None = None, id_scale: int | None = None) -> list[RenderedView]:
        """Render several views: all their RGB passes, then (with ``ids``) all their ID passes.

        Cycles keeps one persistent session per scene only while the same scene renders again,
        so grouping the passes avoids re-synchronising the scene on every view. Without ``ids``
        the views carry no ID layers (``None``), which saves the mask pass for defect-free images.
        ``looks`` dresses each view (:meth:`set_look`); without it the current look stays.
        ``id_scale`` renders the ID passes at that supersampling (default: the profile's).
        """
        if len(poses) != len(seeds) or (looks is not None and len(looks) != len(poses)):
            raise ValueError("one seed (and look) per pose")
        colour: list[tuple[np.ndarray, float]] = []
        benches: list[Any] = []  # the bench is placed per view and can hide part of the toy in the ID pass
        for number, (pose, seed) in enumerate(zip(poses, seeds)):
            if looks is not None:
                self.set_look(looks[number], pose)
            self._check_dressed()
            if self.environment is not None:
                benches.append(self.environment.bench.matrix_world.copy())
            self._place(pose)
            self.rgb_scene.cycles.seed = seed % (2**31)
            path, seconds = self._render(self.rgb_scene, "rgb.png")
            colour.append((_read_rgba(path), seconds))
        if not ids:
            return [RenderedView(rgba, None, None, None, seconds, 0.0) for rgba, seconds in colour]
        id_renders = []
        scale = self.id_scale if id_scale is None else id_scale
        self._set_id_scale(scale)
        for number, pose in enumerate(poses):
            if benches:
                self.environment.bench.matrix_world = benches[number]
            self._place(pose)
            id_renders.append(self._render(self.id_scene, f"ids{number}.exr"))
        # Read the ID images only now: loading images into Blender between renders would make
        # Cycles re-synchronise the scene.
        views = []
        for (rgba, rgb_seconds), (path, mask_seconds) in zip(colour, id_renders):
            layers = IdLayers(*decode_id_pass(compat.read_image_pixels(str(path))), scale)
            views.append(RenderedView(rgba, *layers.point_sampled(), rgb_seconds, mask_seconds, layers))
        return views

    def render_ids(self, pose: CameraPose) -> np.ndarray:
        """Only the ID pass of a view, at image resolution: the part instance each pixel sees (-1: none)."""
        return self.render_id_layers(pose).point_sampled()[0]

    def render_id_layers(self, pose: CameraPose, scale: int | None = None) -> IdLayers:
        """Only the ID pass of a view, all layers, at ``scale`` (default: the profile's supersampling)."""
        self._check_dressed()
        scale = self.id_scale if scale is None else scale
        self._set_id_scale(scale)
        self._place(pose)
        path, _ = self._render(self.id_scene, "ids_only.exr")
        return IdLayers(*decode_id_pass(compat.read_image_pixels(str(path))), scale)

    def _set_id_scale(self, scale: int) -> None:
        size = self.profile.resolution * scale
        if self.id_scene.render.resolution_x != size:
            self.id_scene.render.resolution_x = self.id_scene.render.resolution_y = size

    def render(self, pose: CameraPose, seed: int) -> RenderedView:
        """Render one view: RGB pass then instance-ID pass."""
        return self.render_many([pose], [seed])[0]
