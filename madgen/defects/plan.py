"""Defect plans and the context they are drawn in (pure Python, no Blender).

A :class:`DefectPlan` records everything drawn for one defect: type, kind, target instances,
every parameter (positions in the target part's own LDraw frame, sizes in LDU, colours,
opacity), the seed and the attempt number. It round-trips through JSON, and the same plan
always renders the same pixels.

A :class:`PlanContext` is what a planner may look at: the assembly, the view's pose and image
size, and (when a renderer supplies it) how many pixels of each part instance the defect-free
view shows. Targets are drawn among visible parts; :func:`facing_triangles` keeps positions on
faces turned towards the camera.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import MadgenError
from ..ldraw import Assembly, PartMesh
from ..ldraw.frames import LDRAW_TO_BLENDER_ROTATION, LDU_IN_METRES
from ..rig import CameraPose, Normalisation, rotation_z
from ..seeds import derive_seed


@dataclass(frozen=True)
class DefectPlan:
    """One drawn defect: JSON-serialisable, and enough to render it exactly."""

    type: str
    kind: str
    targets: tuple[int, ...]
    params: Mapping[str, Any]
    seed: int
    attempt: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable record."""
        return {"type": self.type, "kind": self.kind, "targets": list(self.targets),
                "params": _jsonable(self.params), "seed": self.seed, "attempt": self.attempt}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "DefectPlan":
        """Rebuild a plan from :meth:`to_dict` output."""
        try:
            return cls(str(data["type"]), str(data["kind"]), tuple(int(t) for t in data["targets"]),
                       dict(data["params"]), int(data["seed"]), int(data.get("attempt", 0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise MadgenError(f"malformed defect plan ({exc})") from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float):
        return round(value, 6) + 0.0
    return value


@dataclass
class PlanContext:
    """What a planner sees for one view."""

    assembly: Assembly
    pose: CameraPose
    image_size: int
    normalisation: Normalisation
    visible_pixels: dict[int, int] = field(default_factory=dict)
    eligible_groups: list[str] | None = None
    prefer_groups: list[str] = field(default_factory=list)
    good_instance_ids: np.ndarray | None = None
    _boxes: np.ndarray | None = field(default=None, repr=False)

    def model_scale(self, reference_radius_ldu: float) -> float:
        """How many times larger than ``reference_radius_ldu`` the model's radius is (at least 1; 0: off).

        Defect sizes given in LDU are multiplied by it, so a defect covers a similar share of
        the image on a large model as on a small one.
        """
        if reference_radius_ldu <= 0:
            return 1.0
        return max(1.0, self.normalisation.radius_m / LDU_IN_METRES / reference_radius_ldu)

    def rng(self, seed: int, attempt: int) -> np.random.Generator:
        """The generator for one attempt of one plan."""
        return np.random.default_rng(derive_seed(seed, "attempt", attempt))

    def camera_in_model(self) -> np.ndarray:
        """The camera position in the model's LDraw frame (LDU)."""
        position = np.append(self.pose.camera_to_world[:3, 3], 1.0)
        in_object = (rotation_z(-self.pose.object_rotation_deg) @ position)[:3]
        blender_m = in_object / self.normalisation.scale + np.array(self.normalisation.centre)
        return LDRAW_TO_BLENDER_ROTATION.T @ blender_m / LDU_IN_METRES

    def camera_in_part(self, instance: int) -> np.ndarray:
        """The camera position in one instance's own part frame (LDU)."""
        transform = self.assembly.instances[instance].transform
        return (np.linalg.inv(transform) @ np.append(self.camera_in_model(), 1.0))[:3]

    def project(self, points_model: np.ndarray) -> np.ndarray:
        """Pixel coordinates (x right, y down) of model-frame LDraw points in this view."""
        points = np.asarray(points_model, dtype=np.float64).reshape(-1, 3)
        world = self.normalisation.apply((points * LDU_IN_METRES) @ LDRAW_TO_BLENDER_ROTATION.T)
        world = world @ rotation_z(self.pose.object_rotation_deg)[:3, :3].T
        camera = (np.c_[world, np.ones(len(world))] @ np.linalg.inv(self.pose.camera_to_world).T)[:, :3]
        focal = 0.5 * self.image_size / np.tan(0.5 * self.pose.camera_angle_x)
        depth = np.maximum(-camera[:, 2], 1e-9)
        return np.c_[focal * camera[:, 0] / depth + self.image_size / 2,
                     -focal * camera[:, 1] / depth + self.image_size / 2]

    def pixels_per_ldu(self, points_model: np.ndarray) -> np.ndarray:
        """How many image pixels one LDU spans at each model-frame point (facing the camera).

        A defect sized in image-area terms is turned into LDU with it, so it covers the same share
        of the image whatever the model's size or framing.
        """
        points = np.asarray(points_model, dtype=np.float64).reshape(-1, 3)
        world = self.normalisation.apply((points * LDU_IN_METRES) @ LDRAW_TO_BLENDER_ROTATION.T)
        world = world @ rotation_z(self.pose.object_rotation_deg)[:3, :3].T
        camera = (np.c_[world, np.ones(len(world))] @ np.linalg.inv(self.pose.camera_to_world).T)[:, :3]
        focal = 0.5 * self.image_size / np.tan(0.5 * self.pose.camera_angle_x)
        return focal * LDU_IN_METRES * self.normalisation.scale / np.maximum(-camera[:, 2], 1e-9)

    def instance_centres(self) -> np.ndarray:
        """(instances, 3) centres of every placed part's box, in model LDU."""
        return self.instance_boxes().mean(axis=1)

    def instances_near(self, point_model: np.ndarray, radius: float) -> list[int]:
        """Instances whose box comes within ``radius`` LDU of a model-frame point."""
        boxes = self.instance_boxes()
        nearest = np.clip(np.asarray(point_model, dtype=np.float64), boxes[:, 0], boxes[:, 1])
        distance = np.linalg.norm(nearest - np.asarray(point_model, dtype=np.float64), axis=1)
        return [int(i) for i in np.flatnonzero(distance <= radius)]

    def good_id_at(self, points_model: np.ndarray) -> np.ndarray:
        """What the defect-free view shows at each point's pixel (-1: background, -2: unknown)."""
        pixels = np.floor(self.project(points_model)).astype(np.int64)
        if self.good_instance_ids is None:
            return np.full(len(pixels), -2)
        height, width = self.good_instance_ids.shape
        inside = (pixels[:, 0] >= 0) & (pixels[:, 0] < width) & (pixels[:, 1] >= 0) & (pixels[:, 1] < height)
        result = np.full(len(pixels), -1)
        result[inside] = self.good_instance_ids[pixels[inside, 1], pixels[inside, 0]]
        return result

    def silhouette_share(self) -> dict[int, float]:
        """Per visible instance, the share of its pixels that touch the background (0..1)."""
        ids = self.good_instance_ids
        if ids is None:
            return {}
        padded = np.pad(ids, 1, constant_values=-1)
        touches = np.zeros(ids.shape, dtype=bool)
        for dy, dx in ((0, 1), (2, 1), (1, 0), (1, 2)):
            touches |= padded[dy:dy + ids.shape[0], dx:dx + ids.shape[1]] == -1
        values, counts = np.unique(ids[ids >= 0], return_counts=True)
        edge_values, edge_counts = np.unique(ids[(ids >= 0) & touches], return_counts=True)
        edges = dict(zip(edge_values.tolist(), edge_counts.tolist()))
        return {int(v): edges.get(int(v), 0) / int(c) for v, c in zip(values, counts)}

    def instance_boxes(self) -> np.ndarray:
        """(instances, 2, 3) axis-aligned boxes of every placed part, in model LDU."""
        if self._boxes is None:
            boxes = np.zeros((len(self.assembly.instances), 2, 3))
            for index, instance in enumerate(self.assembly.instances):
                low, high = self.assembly.meshes[instance.part_id].bounding_box()
                corners = np.array([[x, y, z] for x in (low[0], high[0]) for y in (low[1], high[1])
                                    for z in (low[2], high[2])])
                placed = corners @ instance.transform[:3, :3].T + instance.transform[:3, 3]
                boxes[index] = placed.min(axis=0), placed.max(axis=0)
            self._boxes = boxes
        return self._boxes

    def in_free_space(self, instance: int, points_in_part: np.ndarray, margin: float = 0.5) -> bool:
        """True when none of the points (in ``instance``'s part frame) lies inside another part's box."""
        transform = self.assembly.instances[instance].transform
        points = np.asarray(points_in_part, dtype=np.float64).reshape(-1, 3) @ transform[:3, :3].T + transform[:3, 3]
        boxes = np.delete(self.instance_boxes(), instance, axis=0)
        inside = ((points[:, None, :] > boxes[None, :, 0] + margin) & (points[:, None, :] < boxes[None, :, 1] - margin))
        return not inside.all(axis=2).any()

    def visible_instances(self, minimum_pixels: int = 1) -> list[int]:
        """Instances the defect-free view shows with at least ``minimum_pixels`` pixels.

        Without render information every instance counts as visible.
        """
        if not self.visible_pixels:
            return list(range(len(self.assembly.instances)))
        return sorted(i for i, count in self.visible_pixels.items() if count >= minimum_pixels)

    def in_groups(self, instances: list[int], groups: list[str] | None) -> list[int]:
        """The instances whose group name contains any of ``groups`` (all when None)."""
        if groups is None:
            return instances
        lowered = [g.lower() for g in groups]
        return [i for i in instances if any(g in (self.assembly.instances[i].group or "").lower() for g in lowered)]


def draw_value(rng: np.random.Generator, bounds: tuple[float, float], integer: bool = False) -> float:
    """Draw uniformly within a template range (inclusive for integers)."""
    low, high = bounds
    if integer:
        return float(rng.integers(int(low), int(high) + 1))
    return float(low if low == high else rng.uniform(low, high))


def pick_target(context: PlanContext, rng: np.random.Generator, minimum_pixels: int,
                groups: list[str] | None = None, silhouette_boost: float = 0.0,
                suitability: Callable[[int], float] | None = None) -> int:
    """A visible instance (weighted by visible area), from ``groups`` when given.

    ``silhouette_boost`` favours parts on the outline of the view (next to the background);
    ``suitability`` (instance -> 0..1) further weighs each candidate, e.g. by whether the defect fits on it.
    """
    candidates = context.in_groups(context.visible_instances(minimum_pixels), groups)
    if not candidates:
        candidates = context.in_groups(context.visible_instances(1), groups)
    if not candidates:
        raise MadgenError("no visible part to place the defect on")
    share = context.silhouette_share() if silhouette_boost else {}
    weights = np.array([max(context.visible_pixels.get(i, 1), 1) * (1.0 + silhouette_boost * share.get(i, 0.0))
                        for i in candidates], dtype=np.float64)
    if suitability is not None:
        weights = weights * np.array([suitability(i) for i in candidates], dtype=np.float64) + 1e-12
    return int(candidates[int(rng.choice(len(candidates), p=weights / weights.sum()))])


def facing_triangles(mesh: PartMesh, camera_in_part: np.ndarray, minimum_cosine: float = 0.25) -> np.ndarray:
    """Indices of the part's certified triangles that face the camera."""
    corners = mesh.vertices[mesh.triangles].astype(np.float64)
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    areas = np.linalg.norm(normals, axis=1)
    centroids = corners.mean(axis=1)
    to_camera = camera_in_part - centroids
    cosine = np.einsum("ij,ij->i", normals, to_camera) / np.maximum(areas * np.linalg.norm(to_camera, axis=1), 1e-12)
    return np.nonzero((cosine > minimum_cosine) & (areas > 1e-6) & mesh.triangle_certified)[0]


def sample_surface_point(mesh: PartMesh, triangles: np.ndarray,
                         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """An area-weighted random point on the given triangles, with the unit outward normal there."""
    if not len(triangles):
        raise MadgenError(f"part {mesh.part_id} has no face turned towards the camera")
    corners = mesh.vertices[mesh.triangles[triangles]].astype(np.float64)
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    areas = np.linalg.norm(normals, axis=1)
    chosen = int(rng.choice(len(triangles), p=areas / areas.sum()))
    a, b = rng.uniform(size=2)
    if a + b > 1:
        a, b = 1 - a, 1 - b
    v0, v1, v2 = corners[chosen]
    return v0 + a * (v1 - v0) + b * (v2 - v0), normals[chosen] / areas[chosen]

