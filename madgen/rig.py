"""The camera rig: MAD-Sim's 15-degree training rings, seeded test poses, and object normalisation.

Pure numpy (no Blender). Conventions, as in ``transforms.json`` and PAD's loaders:

- poses are camera-to-world 4x4 matrices in the Blender/OpenGL convention: the camera looks down
  its -Z axis with +Y up in the image; the world is Z up;
- ``focal = 0.5 * W / tan(0.5 * camera_angle_x)``, principal point at the image centre;
- the object is centred at the origin; cameras sit at distance 4 (PAD's radiance field renders
  between near=2 and far=6), and the object is scaled so that it fills the image as MAD-Sim's
  objects do (``framing: extent``: the median over the training views of the larger side of its
  image bounding box is ``target_extent`` of the image side, 0.67 as measured on MAD-Sim), while
  it stays inside radius ``max_radius`` and ``frame_margin`` away from the image border from every
  view of the elevation band; ``framing: sphere`` is the older fit into the unit sphere.

Training views: one camera every ``azimuth_step`` degrees around world Z on rings every
``elevation_step`` degrees of elevation (default -45..75: 9 rings x 24 = 216 views), ring by ring
from the lowest, azimuth 0 first (azimuth 0 looks along +Y from the -Y side, at the model's front).

Test views (the pose-agnostic setting): seeded, spread uniformly over the elevation band, each at
least ``min_angle_deg`` from every training view direction, optionally with the object rotated
about Z. The relative camera pose (in the object's frame) is what the angle test uses.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .errors import MadgenError
from .ldraw.frames import support_points

#: PAD's/NeRF-synthetic horizontal field of view (radians).
DEFAULT_CAMERA_ANGLE_X = 0.6911112070083618
DEFAULT_DISTANCE = 4.0
#: MAD-Sim's median object extent (larger side of the object's image box / image side), measured
#: on the published sample figures (``../shared/spec/mad-sim-format.md``).
MAD_SIM_EXTENT = 0.67
FRAMINGS = ("extent", "sphere")


@dataclass(frozen=True)
class RigConfig:
    """Where the cameras go: elevation band and steps, distance, field of view."""

    elevation_min_deg: float = -45.0
    elevation_max_deg: float = 75.0
    elevation_step_deg: float = 15.0
    azimuth_step_deg: float = 15.0
    distance: float = DEFAULT_DISTANCE
    camera_angle_x: float = DEFAULT_CAMERA_ANGLE_X
    test_min_angle_deg: float = 5.0
    test_object_rotation: bool = False
    framing: str = "extent"
    target_extent: float = MAD_SIM_EXTENT
    max_radius: float = 1.5
    frame_margin: float = 0.02

    def validate(self) -> None:
        """Raise :class:`MadgenError` naming the first impossible setting."""
        if not -90.0 <= self.elevation_min_deg <= self.elevation_max_deg <= 90.0:
            raise MadgenError("rig: need -90 <= elevation_min_deg <= elevation_max_deg <= 90")
        if self.elevation_step_deg <= 0 or self.azimuth_step_deg <= 0 or self.azimuth_step_deg > 360:
            raise MadgenError("rig: elevation_step_deg and azimuth_step_deg must be in (0, 360]")
        if self.distance <= 1.0:
            raise MadgenError("rig: distance must exceed 1 (the cameras circle the object)")
        if not 0.0 < self.camera_angle_x < math.pi:
            raise MadgenError("rig: camera_angle_x must be between 0 and pi radians")
        if not 0.0 <= self.test_min_angle_deg < 90.0:
            raise MadgenError("rig: test_min_angle_deg must be within [0, 90)")
        if self.framing not in FRAMINGS:
            raise MadgenError(f"rig: framing must be one of {', '.join(FRAMINGS)}, got {self.framing!r}")
        if not 0.05 <= self.target_extent <= 0.95:
            raise MadgenError("rig: target_extent must be within 0.05..0.95 (a share of the image side)")
        if not 0.1 <= self.max_radius < self.distance:
            raise MadgenError("rig: max_radius must be at least 0.1 and less than the camera distance")
        if not 0.0 <= self.frame_margin <= 0.2:
            raise MadgenError("rig: frame_margin must be within 0..0.2 (a share of the image side)")

    def elevations(self) -> list[float]:
        """The ring elevations in degrees, lowest first."""
        count = int(math.floor((self.elevation_max_deg - self.elevation_min_deg) / self.elevation_step_deg + 1e-9))
        return [self.elevation_min_deg + i * self.elevation_step_deg for i in range(count + 1)]

    def azimuths(self) -> list[float]:
        """The camera azimuths of one ring in degrees."""
        count = int(round(360.0 / self.azimuth_step_deg))
        return [i * 360.0 / count for i in range(count)]


@dataclass(frozen=True)
class CameraPose:
    """A view: camera-to-world matrix (OpenGL convention), field of view, spherical coordinates.

    ``object_rotation_deg`` rotates the object about world Z for this view (test views only);
    :meth:`relative_matrix` is then the camera pose in the object's own frame.
    """

    matrix: tuple[tuple[float, ...], ...]
    camera_angle_x: float
    azimuth_deg: float
    elevation_deg: float
    distance: float
    object_rotation_deg: float = 0.0

    @property
    def camera_to_world(self) -> np.ndarray:
        """The 4x4 camera-to-world matrix."""
        return np.array(self.matrix, dtype=np.float64)

    def relative_matrix(self) -> np.ndarray:
        """Camera-to-object: the pose undoing the object's rotation about Z."""
        return rotation_z(-self.object_rotation_deg) @ self.camera_to_world

    def view_direction(self) -> np.ndarray:
        """Unit vector from the object's centre to the camera, in the object's frame."""
        position = self.relative_matrix()[:3, 3]
        return position / np.linalg.norm(position)

    def to_dict(self) -> dict[str, object]:
        """A JSON-serialisable record."""
        data = asdict(self)
        data["matrix"] = [list(row) for row in self.matrix]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> "CameraPose":
        """Rebuild a pose from :meth:`to_dict` output."""
        values = dict(data)
        values["matrix"] = tuple(tuple(float(v) for v in row) for row in values["matrix"])  # type: ignore[union-attr]
        return cls(**values)  # type: ignore[arg-type]


def focal_length(width: int, camera_angle_x: float = DEFAULT_CAMERA_ANGLE_X) -> float:
    """Focal length in pixels: ``0.5 * W / tan(0.5 * camera_angle_x)``."""
    return 0.5 * width / math.tan(0.5 * camera_angle_x)


def rotation_z(degrees: float) -> np.ndarray:
    """4x4 rotation about world Z."""
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    matrix = np.eye(4)
    matrix[:2, :2] = [[cos, -sin], [sin, cos]]
    return matrix


def spherical_position(azimuth_deg: float, elevation_deg: float, distance: float) -> np.ndarray:
    """Camera position; azimuth 0 is on the -Y side (in front of the model), counter-clockwise."""
    azimuth, elevation = math.radians(azimuth_deg), math.radians(elevation_deg)
    return distance * np.array([
        math.sin(azimuth) * math.cos(elevation),
        -math.cos(azimuth) * math.cos(elevation),
        math.sin(elevation),
    ])


def look_at(eye: np.ndarray, target: np.ndarray | None = None, up: np.ndarray | None = None) -> np.ndarray:
    """Camera-to-world matrix of a camera at ``eye`` looking at ``target`` with ``up`` (OpenGL)."""
    target = np.zeros(3) if target is None else np.asarray(target, dtype=np.float64)
    up = np.array([0.0, 0.0, 1.0]) if up is None else np.asarray(up, dtype=np.float64)
    backward = np.asarray(eye, dtype=np.float64) - target
    backward /= np.linalg.norm(backward)
    right = np.cross(up, backward)
    if np.linalg.norm(right) < 1e-9:  # looking straight up or down: any horizontal right works
        right = np.array([1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    true_up = np.cross(backward, right)
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 2], matrix[:3, 3] = right, true_up, backward, eye
    return matrix


def _pose(azimuth: float, elevation: float, config: RigConfig, object_rotation: float = 0.0) -> CameraPose:
    matrix = look_at(spherical_position(azimuth, elevation, config.distance))
    rounded = tuple(tuple(float(round(v, 12)) + 0.0 for v in row) for row in matrix)
    return CameraPose(rounded, config.camera_angle_x, azimuth, elevation, config.distance, object_rotation)


def training_poses(config: RigConfig | None = None) -> list[CameraPose]:
    """The training rig: every azimuth step on every elevation ring, lowest ring first."""
    config = config or RigConfig()
    config.validate()
    return [_pose(azimuth, elevation, config) for elevation in config.elevations() for azimuth in config.azimuths()]


def angular_distance_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angles in degrees between unit vectors ``a`` (n, 3) and ``b`` (m, 3), as an (n, m) array."""
    return np.degrees(np.arccos(np.clip(np.asarray(a) @ np.asarray(b).T, -1.0, 1.0)))


def sample_test_poses(count: int, seed: int, config: RigConfig | None = None,
               training: list[CameraPose] | None = None, max_draws: int = 100_000) -> list[CameraPose]:
    """``count`` seeded test views, each at least ``config.test_min_angle_deg`` from every training view.

    Directions are uniform over the sphere band between the lowest and highest training ring.
    With ``config.test_object_rotation`` each view also rotates the object about Z by a random
    angle; the distance test then uses the camera direction in the object's frame.
    """
    config = config or RigConfig()
    config.validate()
    training = training_poses(config) if training is None else training
    train_dirs = np.array([pose.view_direction() for pose in training]) if training else np.zeros((0, 3))
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x7E57]))
    low = math.sin(math.radians(config.elevation_min_deg))
    high = math.sin(math.radians(config.elevation_max_deg))
    poses: list[CameraPose] = []
    draws = 0
    while len(poses) < count:
        draws += 1
        if draws > max_draws:
            raise MadgenError(f"rig: could not place {count} test views at least {config.test_min_angle_deg} "
                              "degrees from every training view; lower test_min_angle_deg")
        elevation = math.degrees(math.asin(rng.uniform(low, high)))
        azimuth = float(rng.uniform(0.0, 360.0))
        rotation = float(rng.uniform(0.0, 360.0)) if config.test_object_rotation else 0.0
        pose = _pose(azimuth, elevation, config, rotation)
        if len(train_dirs):
            nearest = angular_distance_deg(pose.view_direction()[None], train_dirs).min()
            if nearest < config.test_min_angle_deg:
                continue
        poses.append(pose)
    return poses


@dataclass(frozen=True)
class Normalisation:
    """How model coordinates (metres, Blender frame) map into the scene around the origin.

    ``normalised = scale * (blender_point - centre)``; LDraw coordinates are recovered with
    :func:`madgen.ldraw.points_to_blender` inverted (1 LDU = 0.4 mm, -Y up). ``radius_m`` is the
    model's radius around ``centre`` in metres, so ``scale * radius_m`` is its radius in the
    scene. :func:`frame_model` also records how it was fitted: ``framing``, the median and
    largest image extent over the training views, and ``limited_by`` (``""``, ``"frame"`` or
    ``"radius"``) when the target extent had to give way to keep the object in frame or inside
    ``max_radius``.
    """

    centre: tuple[float, float, float]
    scale: float
    radius_m: float = field(default=0.0)
    framing: str = "sphere"
    median_extent: float = 0.0
    max_extent: float = 0.0
    limited_by: str = ""

    @property
    def radius(self) -> float:
        """The model's radius in the scene (normalised units)."""
        return self.scale * self.radius_m

    def to_dict(self) -> dict[str, object]:
        """A JSON-serialisable record."""
        data = asdict(self)
        data["centre"] = list(self.centre)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> "Normalisation":
        """Rebuild from :meth:`to_dict` output."""
        values = dict(data)
        values["centre"] = tuple(float(c) for c in values["centre"])  # type: ignore[union-attr]
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def fit(cls, points_m: np.ndarray, radius: float = 1.0) -> "Normalisation":
        """Centre on the bounding-box centre and scale the farthest point to ``radius``."""
        points = np.asarray(points_m, dtype=np.float64).reshape(-1, 3)
        if not len(points):
            raise MadgenError("cannot normalise an empty model")
        centre = (points.min(axis=0) + points.max(axis=0)) / 2.0
        extent = float(np.linalg.norm(points - centre, axis=1).max())
        if extent <= 0:
            raise MadgenError("cannot normalise a model of zero size")
        return cls(tuple(float(c) for c in centre), radius / extent, extent)

    def matrix(self) -> np.ndarray:
        """The 4x4 matrix taking Blender-frame model points into the scene (centred and scaled)."""
        matrix = np.eye(4) * self.scale
        matrix[3, 3] = 1.0
        matrix[:3, 3] = -self.scale * np.array(self.centre)
        return matrix

    def apply(self, points_m: np.ndarray) -> np.ndarray:
        """Normalise (..., 3) Blender-frame points."""
        return (np.asarray(points_m, dtype=np.float64) - np.array(self.centre)) * self.scale


def world_to_camera(poses: list[CameraPose]) -> np.ndarray:
    """(views, 4, 4) world-to-camera matrices of poses (in the object's frame), by the rigid inverse."""
    relative = np.stack([pose.relative_matrix() for pose in poses])
    rotation = np.transpose(relative[:, :3, :3], (0, 2, 1))
    result = np.zeros_like(relative)
    result[:, :3, :3] = rotation
    result[:, :3, 3] = -np.einsum("vij,vj->vi", rotation, relative[:, :3, 3])
    result[:, 3, 3] = 1.0
    return result


def image_boxes(points: np.ndarray, poses: "list[CameraPose] | np.ndarray", camera_angle_x: float) -> np.ndarray:
    """(views, 4) image boxes ``[u_min, v_min, u_max, v_max]`` of scene points, as shares of the image.

    ``poses`` are camera poses or their :func:`world_to_camera` matrices. ``u`` runs right and
    ``v`` down from the top-left corner; a point behind a camera gives inf.
    """
    return _Projection(points, poses, camera_angle_x).boxes(1.0)


class _Projection:
    """Points seen from many views, rotated once so that any scale of them projects cheaply
    (framing bisects on the scale: tens of projections onto thousands of views)."""

    def __init__(self, points: np.ndarray, poses: "list[CameraPose] | np.ndarray", camera_angle_x: float):
        matrices = poses if isinstance(poses, np.ndarray) else world_to_camera(poses)
        self.rotated = np.matmul(matrices[:, :3, :3], np.asarray(points, dtype=np.float64).reshape(-1, 3).T)
        self.shift = matrices[:, :3, 3, None]
        self.scale_uv = 1.0 / (2.0 * math.tan(0.5 * camera_angle_x))

    def boxes(self, scale: float) -> np.ndarray:
        """(views, 4) image boxes of the points times ``scale`` (see :func:`image_boxes`)."""
        camera = scale * self.rotated + self.shift
        depth = -camera[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.where(depth > 1e-9, 0.5 + camera[:, 0] * self.scale_uv / depth, np.inf)
            v = np.where(depth > 1e-9, 0.5 - camera[:, 1] * self.scale_uv / depth, np.inf)
        return np.stack([u.min(axis=1), v.min(axis=1), u.max(axis=1), v.max(axis=1)], axis=1)

    def extents(self, scale: float) -> np.ndarray:
        """Per view, the larger side of the image box (see :func:`image_extents`)."""
        boxes = self.boxes(scale)
        return np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])


def image_extents(points: np.ndarray, poses: "list[CameraPose] | np.ndarray", camera_angle_x: float) -> np.ndarray:
    """Per view, the larger side of the points' image box as a share of the image side."""
    boxes = image_boxes(points, poses, camera_angle_x)
    return np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])


def frame_check_poses(config: RigConfig, step_deg: float = 5.0) -> list[CameraPose]:
    """Every view an object must stay in frame from: the training rig plus a dense grid over the
    elevation band at every azimuth (test views, with or without object rotation, lie in it)."""
    count = max(2, int(math.ceil((config.elevation_max_deg - config.elevation_min_deg) / step_deg)) + 1)
    elevations = np.linspace(config.elevation_min_deg, config.elevation_max_deg, count)
    azimuths = np.arange(0.0, 360.0, step_deg)
    grid = [_pose(float(a), float(e), config) for e in elevations for a in azimuths]
    return training_poses(config) + grid


def _orbit_world_to_camera(elevations_deg, azimuths_deg, distance: float) -> np.ndarray:
    """World-to-camera matrices of cameras on a sphere looking at the origin (as :func:`look_at`),
    every azimuth on every elevation, lowest first, built in one go: framing projects onto
    thousands of views, and making a :class:`CameraPose` for each cost most of a small model's
    fit. The same matrices as :func:`world_to_camera` of those poses, to rounding (1e-11)."""
    elevation, azimuth = np.meshgrid(np.radians(np.asarray(elevations_deg, dtype=np.float64)),
                                     np.radians(np.asarray(azimuths_deg, dtype=np.float64)), indexing="ij")
    elevation, azimuth = elevation.ravel(), azimuth.ravel()
    eye = distance * np.stack([np.sin(azimuth) * np.cos(elevation), -np.cos(azimuth) * np.cos(elevation),
                               np.sin(elevation)], axis=1)
    backward = eye / np.linalg.norm(eye, axis=1, keepdims=True)
    right = np.cross(np.array([0.0, 0.0, 1.0]), backward)
    right[np.linalg.norm(right, axis=1) < 1e-9] = [1.0, 0.0, 0.0]  # straight up or down, as look_at
    right /= np.linalg.norm(right, axis=1, keepdims=True)
    rotation = np.stack([right, np.cross(backward, right), backward], axis=1)  # rows: the camera axes
    result = np.zeros((len(eye), 4, 4))
    result[:, :3, :3] = rotation
    result[:, :3, 3] = -np.einsum("vij,vj->vi", rotation, eye)
    result[:, 3, 3] = 1.0
    return result


@functools.lru_cache(maxsize=8)
def _framing_views(config: RigConfig, step_deg: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """World-to-camera matrices of the training views and of every :func:`frame_check_poses` view."""
    training = _orbit_world_to_camera(config.elevations(), config.azimuths(), config.distance)
    count = max(2, int(math.ceil((config.elevation_max_deg - config.elevation_min_deg) / step_deg)) + 1)
    grid = _orbit_world_to_camera(np.linspace(config.elevation_min_deg, config.elevation_max_deg, count),
                                  np.arange(0.0, 360.0, step_deg), config.distance)
    training.flags.writeable = False
    checks = np.concatenate([training, grid])
    checks.flags.writeable = False
    return training, checks


def frame_model(points_m: np.ndarray, config: RigConfig | None = None) -> Normalisation:
    """Fit a model into the scene as ``config.framing`` asks (see the module docstring). Pure.

    ``extent``: the scale at which the median image extent over the training views is
    ``target_extent``, or the largest smaller scale at which the model stays inside
    ``max_radius`` and ``frame_margin`` inside the image from every view of the band
    (:func:`frame_check_poses`). ``sphere``: the model's farthest point at radius 1.
    """
    config = config or RigConfig()
    config.validate()
    sphere = Normalisation.fit(points_m)
    centred = support_points(np.asarray(points_m, dtype=np.float64).reshape(-1, 3) - np.array(sphere.centre))
    training_views, check_views = _framing_views(config)
    training = _Projection(centred, training_views, config.camera_angle_x)
    checks = _Projection(centred, check_views, config.camera_angle_x)

    def median_extent(scale: float) -> float:
        return float(np.median(training.extents(scale)))

    def fits(scale: float) -> str:
        if scale * sphere.radius_m > config.max_radius + 1e-12:
            return "radius"
        boxes = checks.boxes(scale)
        low, high = config.frame_margin, 1.0 - config.frame_margin
        return "" if boxes[:, :2].min() >= low and boxes[:, 2:].max() <= high else "frame"

    scale, limited = sphere.scale, ""
    if config.framing == "extent":
        # the extent grows monotonically with the scale (about linearly): a few secant steps, then
        # bisection to a tight bracket
        low, high = 0.0, sphere.scale
        while median_extent(high) < config.target_extent:
            low, high = high, high * 2.0
        for _ in range(60):
            middle = 0.5 * (low + high)
            if median_extent(middle) < config.target_extent:
                low = middle
            else:
                high = middle
            if high - low <= 1e-7 * high:
                break
        scale = 0.5 * (low + high)
        if fits(scale):
            low, high = 0.0, scale
            for _ in range(60):
                middle = 0.5 * (low + high)
                if fits(middle):
                    high = middle
                else:
                    low = middle
                if high - low <= 1e-7 * high:
                    break
            scale, limited = low, fits(high)  # the constraint that binds just above the scale taken
    extents = training.extents(scale)
    return Normalisation(sphere.centre, float(scale), sphere.radius_m, config.framing,
                         round(float(np.median(extents)), 6), round(float(extents.max()), 6), limited)
