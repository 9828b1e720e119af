"""The build plan: one ``ViewJob`` per image, grouped into ``WorkUnit``s that runners execute.

Pure and seeded: the plan of a config is the same on every machine, in every shard and on every
retry. A job's pose and seed come from the root seed and the job's identity; a defect job
carries the seed its injector draws from (the defect plan itself is drawn at render time,
because re-draws depend on what is visible, and is recorded in the manifest).

With a realism profile (``mad-real``) every job also carries its drawn *look* (bench, backdrop,
clutter, lights, world, camera effects; :func:`madgen.realism.draw_look`) and its pose is the
hand-held, jittered one (:func:`madgen.realism.jitter_pose`): the renderer only applies them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from ..profiles.realism import Realism
from ..realism import realistic_view
from ..usecases.render_views import training_frames
from ..rig import CameraPose, RigConfig, sample_test_poses, training_poses
from ..seeds import derive_seed
from .config import Shard

TRAIN = "train/good"
TEST_GOOD = "test/good"
#: The validation set's folder in a category: ``val/test/<split>`` and ``val/ground_truth/<type>``
#: mirror the test split's layout, in a folder PAD's loaders never read.
VAL = "val"
VAL_GOOD = f"{VAL}/{TEST_GOOD}"
#: Object silhouettes (profile key ``object_masks``): ``object_masks/<image path>``, a folder PAD's
#: loaders never read.
OBJECT_MASKS = "object_masks"


def defect_split(defect: str, validation: bool = False) -> str:
    """The test folder of a defect type (``test/Burrs``, or ``val/test/Burrs`` for the validation set)."""
    return f"{VAL}/test/{defect}" if validation else f"test/{defect}"


@dataclass(frozen=True)
class ViewJob:
    """One image to make: where it goes, its pose, its seed, and its defect type if any."""

    category: str
    split: str
    index: int
    pose: CameraPose
    seed: int
    defect: str | None = None
    #: The drawn look of a realism profile (``None``: the white studio).
    look: dict[str, Any] | None = None

    @property
    def image_path(self) -> str:
        """Path of the image, relative to the category folder."""
        return f"{self.split}/{self.index}.png"

    @property
    def mask_path(self) -> str | None:
        """Path of the mask, relative to the category folder (``None`` for good images)."""
        if self.defect is None:
            return None
        prefix = f"{VAL}/" if self.split.startswith(f"{VAL}/") else ""
        return f"{prefix}ground_truth/{self.defect}/{self.index}_mask.png"

    @property
    def object_mask_path(self) -> str:
        """Path of the object silhouette (``object_masks/`` + the image's path), relative to the category."""
        return f"{OBJECT_MASKS}/{self.image_path}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (``look`` only when there is one)."""
        data = {"category": self.category, "split": self.split, "index": self.index,
                "pose": self.pose.to_dict(), "seed": self.seed, "defect": self.defect}
        if self.look is not None:
            data["look"] = self.look
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ViewJob":
        """Inverse of :meth:`to_dict`."""
        return cls(str(data["category"]), str(data["split"]), int(data["index"]), CameraPose.from_dict(data["pose"]),
                   int(data["seed"]), data.get("defect"), data.get("look"))

    def key(self, fingerprint: str) -> str:
        """A hash of everything that decides this job's bytes (the job and its category's fingerprint)."""
        text = json.dumps([fingerprint, self.to_dict()], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class WorkUnit:
    """Jobs of one category and split that one worker renders with one scene build."""

    category: str
    split: str
    jobs: tuple[ViewJob, ...]

    @property
    def unit_id(self) -> str:
        """A stable name, also the file name of the unit's record (``train-good-0000``)."""
        return f"{self.split.replace('/', '-')}-{self.jobs[0].index:04d}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"category": self.category, "split": self.split, "jobs": [job.to_dict() for job in self.jobs]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "WorkUnit":
        """Inverse of :meth:`to_dict`."""
        return cls(str(data["category"]), str(data["split"]), tuple(ViewJob.from_dict(j) for j in data["jobs"]))


@dataclass(frozen=True)
class CategoryPlan:
    """Every job of one category, in a fixed order: train, test/good, then each defect type."""

    category: str
    jobs: tuple[ViewJob, ...]

    def splits(self) -> list[str]:
        """The splits in plan order."""
        return list(dict.fromkeys(job.split for job in self.jobs))


def plan_category(category: str, seed: int, rig: RigConfig, train_views: str | None, test_good: int,
                  defects: Sequence[str], test_per_defect: int, val_good: int = 0,
                  val_per_defect: int = 0, realism: Realism | None = None) -> CategoryPlan:
    """Every job of ``category``: the selected training views, good test views, defective views, and
    the validation set (``val_good`` good and ``val_per_defect`` defective views per type).

    Validation views come from their own seed streams and keep ``rig.test_min_angle_deg`` from
    every training view and from every test view, so no test pose is ever used for a choice.
    With ``realism``, ``train_views`` ``all`` means ``realism.train_views`` views spread over the
    rig (numbered 0, 1, ...), and every job gets its look and its jittered pose.
    """
    poses = training_poses(rig)
    frames, selected = training_frames(train_views, poses, realism)
    jobs = [ViewJob(category, TRAIN, i, frames[i], derive_seed(seed, category, "train", i)) for i in selected]
    good = sample_test_poses(test_good, derive_seed(seed, category, "test", "good"), rig, poses)
    jobs += [ViewJob(category, TEST_GOOD, i, pose, derive_seed(seed, category, TEST_GOOD, i))
             for i, pose in enumerate(good)]
    test_poses = list(good)
    for defect in defects:
        split = defect_split(defect)
        defect_poses = sample_test_poses(test_per_defect, derive_seed(seed, category, "test", defect), rig, poses)
        test_poses += defect_poses
        jobs += [ViewJob(category, split, i, pose, derive_seed(seed, category, split, i), defect)
                 for i, pose in enumerate(defect_poses)]
    if val_good or val_per_defect:
        avoid = poses + test_poses  # validation poses stay clear of training and test views
        val = sample_test_poses(val_good, derive_seed(seed, category, VAL, "good"), rig, avoid)
        jobs += [ViewJob(category, VAL_GOOD, i, pose, derive_seed(seed, category, VAL_GOOD, i))
                 for i, pose in enumerate(val)]
        for defect in defects if val_per_defect else ():
            split = defect_split(defect, validation=True)
            val = sample_test_poses(val_per_defect, derive_seed(seed, category, VAL, defect), rig, avoid)
            jobs += [ViewJob(category, split, i, pose, derive_seed(seed, category, split, i), defect)
                     for i, pose in enumerate(val)]
    if realism is not None:
        jobs = [_with_look(job, realism) for job in jobs]
    return CategoryPlan(category, tuple(jobs))


def _with_look(job: ViewJob, realism: Realism) -> ViewJob:
    """``job`` with its drawn look and its true, jittered pose (the rig pose it came from is recorded)."""
    pose, look = realistic_view(job.pose, realism, job.seed)
    return ViewJob(job.category, job.split, job.index, pose, job.seed, job.defect, look)


def work_units(plans: Iterable[CategoryPlan], chunk_size: int) -> list[WorkUnit]:
    """Split each category's jobs into units of at most ``chunk_size`` jobs of one split."""
    units = []
    for plan in plans:
        for split in plan.splits():
            jobs = [job for job in plan.jobs if job.split == split]
            for first in range(0, len(jobs), chunk_size):
                units.append(WorkUnit(plan.category, split, tuple(jobs[first:first + chunk_size])))
    return units


def shard_units(units: Sequence[WorkUnit], shard: Shard) -> list[WorkUnit]:
    """The units of one shard: every ``shard.count``-th unit, starting at ``shard.index``."""
    return [unit for number, unit in enumerate(units) if number % shard.count == shard.index]
