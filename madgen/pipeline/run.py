"""``madgen build``: plan a dataset, skip what is already done, run the rest, write manifests.

1. Resolve the config, the render profile and the defect types; load every model (so a missing
   part fails before any rendering).
2. Plan every job of every category; keep this shard's work units.
3. A job whose image (and mask) are on disk with the hashes its unit record gives, made from the
   same plan, is skipped. The rest runs on the chosen runner.
4. A category whose every job is done gets ``transforms.json`` and ``manifest.json``. Neither
   holds a timing or a date, so a killed and resumed build ends byte-identical to a clean one.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from .. import __version__
from ..categories import CATEGORIES, load_model_scene, load_scene
from ..dataset.atomic import write_json_atomic
from ..dataset.digest import file_sha256
from ..dataset.manifest import make_manifest, write_manifest
from ..dataset.transforms import write_transforms
from ..defects.registry import load_registry
from ..errors import MadgenError
from ..ldraw import Library, load_assembly
from ..ldraw.frames import model_support_points_m
from ..profiles import load_profile
from ..rig import Normalisation, frame_model
from ..runner import Failure, Task, make_runner
from .config import BuildConfig
from .plan import OBJECT_MASKS, TRAIN, CategoryPlan, WorkUnit, plan_category, shard_units, work_units
from .provenance import madgen_provenance
from .worker import STATE_FOLDER, UnitResult, WorkerSettings, read_unit_record, sha256_file, unit_record_path

#: Config keys that decide how a build runs, not what it makes (left out of manifests).
EXECUTION_KEYS = ("out", "executor", "workers", "address", "shard", "chunk_size")
CONFIG_NAME = "madgen_build.json"


@dataclass
class BuildReport:
    """What a build did."""

    out: Path
    categories: list[str]
    planned: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped: int = 0
    rendered: int = 0
    failures: list[Failure] = field(default_factory=list)
    complete: dict[str, bool] = field(default_factory=dict)
    wall_seconds: float = 0.0
    rgb_seconds: float = 0.0
    mask_seconds: float = 0.0
    build_seconds: float = 0.0


def _fingerprint(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _model_sources(config: BuildConfig) -> dict[str, Path]:
    if config.model is not None:
        model = Path(config.model).expanduser()
        if not model.is_file():
            raise MadgenError(f"--model {model}: no such file")
        name = config.name or model.stem
        if not name or any(ch in name for ch in "/\\") or name.startswith("."):
            raise MadgenError(f"--name {name!r}: not a usable folder name")
        return {name: model.resolve()}
    return {category: load_scene(category).model.resolve() for category in config.categories}


def _job_done(folder: Path, job_key: str, record: dict[str, Any] | None, mask_path: str | None) -> bool:
    if record is None or record.get("key") != job_key:
        return False
    if sha256_file(folder / record["file"]) != record.get("sha256"):
        return False
    if mask_path is not None and sha256_file(folder / mask_path) != record.get("mask_sha256"):
        return False
    if record.get("object_mask") and sha256_file(folder / record["object_mask"]) != record.get("object_mask_sha256"):
        return False
    return True


def _remove_stale_temporaries(folder: Path) -> None:
    """Delete temporary files a killed build left (``.<name>.<random>.tmp``)."""
    if folder.is_dir():
        for path in folder.rglob(".*.tmp"):
            path.unlink(missing_ok=True)


def pending_jobs(out: Path, unit: WorkUnit, fingerprint: str) -> tuple[list[int], list[dict[str, Any]]]:
    """The job indexes of ``unit`` still to do, and the valid records of the others."""
    records = read_unit_record(unit_record_path(out, unit.category, unit.unit_id))
    folder = out / unit.category
    pending, done = [], []
    for job in unit.jobs:
        record = records.get(job.image_path)
        if _job_done(folder, job.key(fingerprint), record, job.mask_path):
            done.append(record)
        else:
            pending.append(job.index)
    return pending, done


def build_dataset(config: BuildConfig, progress: Callable[[int, int, float], None] | None = None) -> BuildReport:
    """Build (or resume) the dataset that ``config`` describes; see the module docstring."""
    started = time.perf_counter()
    out = Path(config.out).expanduser().resolve()
    registry = load_registry(list(config.templates), list(config.plugins))
    defect_types = registry.resolve_selection(config.defects)
    profile = load_profile(config.profile, dict(config.overrides))
    ldraw_dirs = tuple(str(Path(d).expanduser().resolve()) for d in config.ldraw_dirs)
    library = Library(list(ldraw_dirs) or None)
    models = _model_sources(config)
    normalisations: dict[str, Normalisation] = {}
    for category, model in models.items():
        assembly = load_assembly(model, library=library)  # fail on a missing part before any rendering
        if category not in CATEGORIES:
            load_model_scene(model, category)  # and on a bad <model>.yaml
        normalisations[category] = frame_model(model_support_points_m(assembly), config.rig)
    templates = {entry.name: entry.template.to_dict() for entry in defect_types}
    provenance = madgen_provenance(library)
    fingerprints = {}
    for category, model in models.items():
        scene_yaml = model.with_suffix(".yaml")
        fingerprints[category] = _fingerprint({
            "madgen": __version__, "profile": profile.to_dict(), "rig": asdict(config.rig), "templates": templates,
            "plugins": list(config.plugins), "model": file_sha256(model),
            "scene": file_sha256(scene_yaml) if scene_yaml.is_file() else None,
            "ldraw": [root["path"] for root in provenance["ldraw_roots"]],
        })
    plans: list[CategoryPlan] = [
        plan_category(category, config.seed, config.rig, config.train_views, config.test_good,
                      [entry.name for entry in defect_types], config.test_per_defect, config.val_good,
                      config.val_per_defect, profile.realism)
        for category in models
    ]
    units = work_units(plans, config.chunk_size)
    mine = shard_units(units, config.shard_spec)

    report = BuildReport(out, list(models))
    for plan in plans:
        counts: dict[str, int] = {}
        for job in plan.jobs:
            counts[job.split] = counts.get(job.split, 0) + 1
        report.planned[plan.category] = counts
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / CONFIG_NAME, config.to_dict() | {"out": str(out)})
    for category in models:
        _remove_stale_temporaries(out / category)
        _remove_stale_temporaries(out / STATE_FOLDER / category)

    tasks: list[Task] = []
    for unit in mine:
        pending, done = pending_jobs(out, unit, fingerprints[unit.category])
        report.skipped += len(done)
        if pending:
            tasks.append((unit, pending))
    total = sum(len(pending) for _, pending in tasks)
    settings = WorkerSettings(str(out), profile.to_dict(), asdict(config.rig), {c: str(m) for c, m in models.items()},
                              fingerprints, tuple(config.templates), tuple(config.plugins), ldraw_dirs,
                              normalisations={c: n.to_dict() for c, n in normalisations.items()})

    def on_result(result: UnitResult) -> None:
        report.rendered += len(result.records)
        report.rgb_seconds += result.rgb_seconds
        report.mask_seconds += result.mask_seconds
        report.build_seconds += result.build_seconds
        if progress is not None:
            progress(report.rendered, total, time.perf_counter() - started)

    if tasks:
        runner = make_runner(config.executor, config.workers, config.address)
        runner.run(settings, tasks, on_result, report.failures.append)
    for plan in plans:
        report.complete[plan.category] = _finalise(out, plan, units, fingerprints[plan.category], config,
                                                   profile.to_dict(), templates, provenance,
                                                   normalisations[plan.category], models[plan.category])
    report.wall_seconds = time.perf_counter() - started
    return report


def _finalise(out: Path, plan: CategoryPlan, units: list[WorkUnit], fingerprint: str, config: BuildConfig,
              profile: dict[str, Any], templates: dict[str, Any], provenance: dict[str, Any],
              normalisation: Normalisation, model: Path) -> bool:
    """Write transforms.json and manifest.json when every job of the category is done."""
    records: list[dict[str, Any]] = []
    for unit in units:
        if unit.category != plan.category:
            continue
        pending, done = pending_jobs(out, unit, fingerprint)
        if pending:
            return False
        records.extend(done)
    folder = out / plan.category
    train = [(job.index, job.pose) for job in plan.jobs if job.split == TRAIN]
    write_transforms(folder, config.rig.camera_angle_x, train, normalisation)
    blender = sorted({str(record.get("blender", "")) for record in records} - {""})
    resolved = {key: value for key, value in config.to_dict().items() if key not in EXECUTION_KEYS}
    document = make_manifest(plan.category, {
        **provenance,
        "blender_version": blender[0] if len(blender) == 1 else blender,
        "seed": config.seed,
        "profile": profile,
        "config": resolved,
        "model": {"file": model.name, "sha256": file_sha256(model)},
        "normalisation": normalisation.to_dict(),
        "defect_templates": templates,
    }, ({k: v for k, v in record.items() if k != "blender"} for record in records))
    write_manifest(folder, document)
    return True


def describe_extra_files(out: Path, plan: CategoryPlan) -> list[str]:
    """Images in the category folder that this build's plan does not make (left in place)."""
    folder = out / plan.category
    planned = {job.image_path for job in plan.jobs} | {job.mask_path for job in plan.jobs if job.mask_path}
    extra = []
    planned |= {job.object_mask_path for job in plan.jobs}
    for top in ("train", "test", "ground_truth", "val", OBJECT_MASKS):
        base = folder / top
        if base.is_dir():
            extra += [str(p.relative_to(folder)) for p in base.rglob("*.png")
                      if str(p.relative_to(folder)) not in planned]
    return sorted(extra)



