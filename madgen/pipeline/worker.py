"""Execute one work unit: render its images and masks, write them atomically, record them.

This is what every runner calls, in-process, in a local worker process or on a Ray worker.
A process keeps the last category's Blender scene, so consecutive units of one category build
it once. After every image the unit's record (``<out>/.madgen/<category>/<unit>.json``) is
rewritten atomically with the image's hash, so a killed build resumes image by image.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..categories import CATEGORIES, load_model_scene, load_scene
from ..dataset.atomic import write_bytes_atomic, write_json_atomic
from ..dataset.digest import file_sha256
from ..dataset.images import composite_on_white, mask_pixels, png_bytes
from ..defects.coverage import object_silhouette
from ..realism import finish_image
from ..defects.registry import load_registry
from ..ldraw import Library, load_assembly
from ..profiles import RenderProfile
from ..rig import Normalisation, RigConfig
from .plan import ViewJob, WorkUnit

STATE_FOLDER = ".madgen"


@dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker needs besides the unit; plain data, so it travels to other processes."""

    out: str
    profile: dict[str, Any]
    rig: dict[str, Any]
    models: dict[str, str]
    fingerprints: dict[str, str]
    templates: tuple[str, ...] = ()
    plugins: tuple[str, ...] = ()
    ldraw_dirs: tuple[str, ...] = ()
    threads: int = 0
    normalisations: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class UnitResult:
    """What running a unit produced: one record per image, timings, and the Blender version."""

    category: str
    unit_id: str
    records: list[dict[str, Any]] = field(default_factory=list)
    rgb_seconds: float = 0.0
    mask_seconds: float = 0.0
    build_seconds: float = 0.0
    wall_seconds: float = 0.0
    blender_version: str = ""


def unit_record_path(out: Path, category: str, unit_id: str) -> Path:
    """Where a unit's record lives."""
    return Path(out) / STATE_FOLDER / category / f"{unit_id}.json"


def read_unit_record(path: Path) -> dict[str, dict[str, Any]]:
    """The records of a unit's images by image path ({} when absent or unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(item["file"]): item for item in data["items"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def sha256_file(path: Path) -> str | None:
    """The sha256 of a file, or ``None`` when it cannot be read."""
    try:
        return file_sha256(path)
    except OSError:
        return None


class _SessionCache:
    """The process's current Blender scene: rebuilt only when the category or settings change."""

    def __init__(self) -> None:
        self.key: str | None = None
        self.session: Any = None
        self.registry: Any = None
        self.libraries: dict[tuple[str, ...], Library] = {}

    def get(self, settings: WorkerSettings, category: str) -> tuple[Any, float]:
        from ..render import RenderSession  # deferred: the only bpy import

        normalisation = settings.normalisations.get(category)
        key = json.dumps([category, settings.models[category], settings.profile, settings.rig, settings.threads,
                          list(settings.ldraw_dirs), normalisation], sort_keys=True)
        if key == self.key and self.session.alive:
            return self.session, 0.0
        if self.session is not None:
            self.session.close()
            self.session, self.key = None, None
        library = self.libraries.get(settings.ldraw_dirs)
        if library is None:
            library = self.libraries[settings.ldraw_dirs] = Library(list(settings.ldraw_dirs) or None)
        profile = RenderProfile.from_dict(settings.profile)
        if settings.threads and not profile.threads:
            profile = replace(profile, threads=settings.threads)
        rig = RigConfig(**settings.rig)
        assembly = load_assembly(Path(settings.models[category]), library=library)
        self.session = RenderSession(assembly, profile, rig,
                                     Normalisation.from_dict(normalisation) if normalisation else None)
        self.key = key
        return self.session, self.session.build_seconds


_CACHE = _SessionCache()


def _blender_version() -> str:
    import bpy

    return str(bpy.app.version_string)


def run_unit(settings: WorkerSettings, unit: WorkUnit, pending: list[int] | None = None) -> UnitResult:
    """Render the jobs of ``unit`` (only indexes in ``pending`` when given) and record them."""
    from ..usecases.defect_views import render_defect  # deferred: needs bpy

    started = time.perf_counter()
    out = Path(settings.out)
    folder = out / unit.category
    jobs = [job for job in unit.jobs if pending is None or job.index in pending]
    result = UnitResult(unit.category, unit.unit_id, blender_version=_blender_version())
    if not jobs:
        return result
    session, result.build_seconds = _CACHE.get(settings, unit.category)
    record_path = unit_record_path(out, unit.category, unit.unit_id)
    records = read_unit_record(record_path)
    fingerprint = settings.fingerprints[unit.category]

    object_masks = bool(settings.profile.get("object_masks"))

    def keep(job: ViewJob, image: np.ndarray, mask: np.ndarray | None, plan: dict[str, Any] | None,
             attempts: int, attributes: dict[str, Any] | None = None, silhouette: np.ndarray | None = None) -> None:
        data = png_bytes(finish_image(image, job.look))
        write_bytes_atomic(folder / job.image_path, data)
        record: dict[str, Any] = {"file": job.image_path, "split": job.split, "index": job.index,
                                  "key": job.key(fingerprint), "sha256": hashlib.sha256(data).hexdigest(),
                                  "pose": job.pose.to_dict(), "seed": job.seed, "blender": result.blender_version}
        if job.look is not None:
            record["look"] = job.look
        if mask is not None and job.mask_path is not None:
            mask_data = png_bytes(mask_pixels(mask))
            write_bytes_atomic(folder / job.mask_path, mask_data)
            record.update({"mask": job.mask_path, "mask_sha256": hashlib.sha256(mask_data).hexdigest(),
                           "defect": plan, "attempts": attempts, "attributes": attributes or {}})
        if object_masks and silhouette is not None:
            silhouette_data = png_bytes(mask_pixels(silhouette))
            write_bytes_atomic(folder / job.object_mask_path, silhouette_data)
            record.update({"object_mask": job.object_mask_path,
                           "object_mask_sha256": hashlib.sha256(silhouette_data).hexdigest()})
        records[job.image_path] = record
        write_json_atomic(record_path, {"unit": unit.unit_id, "category": unit.category,
                                        "items": [records[k] for k in sorted(records)]})
        result.records.append(record)

    looks = [job.look for job in jobs] if any(job.look is not None for job in jobs) else None
    if unit.jobs[0].defect is None:
        # silhouettes need only the ID pass at image resolution (the pixel centres), a ninth of the mask pass
        views = session.render_many([job.pose for job in jobs], [job.seed for job in jobs], ids=object_masks,
                                    looks=looks, id_scale=1)
        for job, view in zip(jobs, views):
            result.rgb_seconds += view.rgb_seconds
            result.mask_seconds += view.mask_seconds
            silhouette = None
            if view.instance_ids is not None:
                silhouette = object_silhouette(view.instance_ids, view.added_labels)
            keep(job, composite_on_white(view.rgba), None, None, 0, silhouette=silhouette)
    else:
        if _CACHE.registry is None or _CACHE.registry[0] != (settings.templates, settings.plugins):
            _CACHE.registry = ((settings.templates, settings.plugins),
                               load_registry(list(settings.templates), list(settings.plugins)))
        defect = _CACHE.registry[1].get(unit.jobs[0].defect)
        scene = (load_scene(unit.category) if unit.category in CATEGORIES
                 else load_model_scene(Path(settings.models[unit.category]), unit.category))
        for job in jobs:
            made = time.perf_counter()
            if job.look is not None:
                session.set_look(job.look, job.pose)
            good = session.render_id_layers(job.pose)
            result.mask_seconds += time.perf_counter() - made
            image = render_defect(session, defect, job.pose, job.seed, scene, good)
            result.rgb_seconds += image.rgb_seconds
            result.mask_seconds += image.mask_seconds
            silhouette = None
            if image.id_layers is not None:
                final_ids, final_added, _ = image.id_layers.point_sampled()
                silhouette = object_silhouette(final_ids, final_added)
            keep(job, composite_on_white(image.rgba), image.mask, image.plan.to_dict(), image.attempts,
                 image.attributes, silhouette)
    result.wall_seconds = time.perf_counter() - started
    return result
