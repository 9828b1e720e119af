"""Render a defective view with its exact mask, re-drawing until the defect is visible.

For a view: the defect-free ID pass tells which parts are visible (and is the reference for the
Missing mask); the type's injector draws a plan for attempt 0, 1, ...; each plan is applied and
judged on a cheap ID pass at image resolution: its mask must cover the template's
``min_visible_px``. A visible draw is then scored: for kinds with ``wanted_fidelity``, by the IoU
of its mask with what changed between two cheap probe renders (good and defective, same seed);
for kinds with ``wanted_contrast``, by the share of the mask whose surface colour changes (a
burr against its own part barely shows). The first draw that reaches the wanted score, or else
the best of the first ``CONTRAST_CANDIDATES`` visible draws (drawing on while the best scores under
``SCORE_FLOOR``), gets the supersampled ID pass its
exact mask comes from, and the one full colour render. After
``max_attempts`` without a visible draw the view fails with a clear message; no anomalous image
is ever returned with an empty mask.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..categories import Scene
from ..dataset.images import composite_on_white
from ..defects import DefectPlan, DefectType, MaskLayers, PlanContext
from ..defects.attributes import defect_attributes
from ..defects.coverage import coverage_mask
from ..defects.fidelity import mask_iou
from ..errors import MadgenError
from ..realism import finish_image
from ..ldraw import Assembly, Library, load_assembly
from ..ldraw.frames import model_points_m
from ..render import RenderSession
from ..render.defects import BlenderDefectScene
from ..render.session import IdLayers
from ..rig import CameraPose, Normalisation, RigConfig

#: The most visible draws scored before the best of them is taken.
CONTRAST_CANDIDATES = 6
#: ... provided the best reaches this score; otherwise drawing goes on (up to ``max_attempts``).
SCORE_FLOOR = 0.6
#: A pixel's surface colour "changes" when a channel moves by more than this (sRGB, 0..1).
CONTRAST_STEP = 0.12
BACKGROUND_RGB = (1.0, 1.0, 1.0)


@dataclass
class DefectImage:
    """A defective view: the plan kept, its pixels, its mask, and how many draws it took."""

    plan: DefectPlan
    rgba: np.ndarray
    mask: np.ndarray
    attempts: int
    rgb_seconds: float
    mask_seconds: float
    score: float = 1.0
    attributes: dict[str, Any] = field(default_factory=dict)
    #: The defective view's supersampled ID pass (the object silhouette comes from it).
    id_layers: IdLayers | None = None


def visible_pixel_counts(instance_ids: np.ndarray) -> dict[int, int]:
    """Pixels per visible part instance in an ID image."""
    values, counts = np.unique(instance_ids[instance_ids >= 0], return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts)}


def instance_colours(assembly: Assembly) -> np.ndarray:
    """The surface RGB (0..1) of every part instance, with the background's white appended last."""
    rgb = [assembly.colours.resolve(instance.colour).rgb for instance in assembly.instances]
    return np.array([*rgb, BACKGROUND_RGB], dtype=np.float64).reshape(-1, 3)


def colour_contrast(mask: np.ndarray, colours: np.ndarray, good_ids: np.ndarray, layers: MaskLayers,
                    targets: tuple[int, ...]) -> float:
    """The share of ``mask`` pixels whose surface colour differs between the good and defective view.

    Surface colours come from the ID passes: the instance's colour (white for the background),
    and the first target's colour for an added mesh.
    """
    if not mask.any():
        return 0.0
    before = colours[np.where(good_ids[mask] >= 0, good_ids[mask], -1)]
    after_ids = np.where(layers.instance_ids[mask] >= 0, layers.instance_ids[mask], -1)
    if targets:
        after_ids = np.where(layers.added_labels[mask] >= 0, targets[0], after_ids)
    after = colours[after_ids]
    return float((np.abs(before - after).max(axis=1) > CONTRAST_STEP).mean())


def _mask(defect: DefectType, plan: DefectPlan, good: IdLayers, defective: IdLayers,
          coverage: float) -> tuple[np.ndarray, np.ndarray]:
    """The plan's sub-pixel footprint and its image mask at ``coverage``."""
    layers = MaskLayers(good.instance_ids, defective.instance_ids, defective.added_labels, defective.stain_opacity)
    footprint = np.asarray(defect.injector.mask(plan, layers), dtype=bool)
    if footprint.shape != good.instance_ids.shape:
        raise MadgenError(f"defect type {defect.name}: mask has shape {footprint.shape}, expected "
                          f"{good.instance_ids.shape}")
    return footprint, coverage_mask(footprint, good.scale, coverage)


def render_defect(session: RenderSession, defect: DefectType, pose: CameraPose, seed: int,
                  scene: Scene | None = None, good: IdLayers | None = None) -> DefectImage:
    """Render one defective view of ``defect`` at ``pose`` (see the module docstring).

    ``good`` is the defect-free view's ID pass (rendered here when not given). Mask rules run on
    the supersampled ID layers; the image mask is their filter-weighted coverage (see
    :mod:`madgen.defects.coverage`) at the profile's ``mask_coverage``.
    """
    if good is None:
        good = session.render_id_layers(pose)
    # Draws are judged on cheap ID passes at image resolution (point-sampled); the draw taken
    # then gets the supersampled ID pass that its exact mask comes from.
    search_good = good if good.scale == 1 else IdLayers(*good.point_sampled(), 1)
    good_ids = search_good.instance_ids
    size = session.profile.resolution
    eligible = None
    prefer: list[str] = []
    if scene is not None:
        eligible = None if scene.missing.eligible == "auto" else list(scene.missing.eligible)
        prefer = list(scene.missing.prefer_groups)
    kind = defect.template.kind
    context = PlanContext(session.assembly, pose, size, session.normalisation, visible_pixel_counts(good_ids),
                          eligible if kind == "missing" else None, prefer if kind == "missing" else [], good_ids)
    needed = defect.template.min_pixels(size, size)
    coverage = getattr(defect.injector, "mask_coverage", None) or session.profile.mask_coverage
    # a draw's score: its probe fidelity, else its colour contrast, else 1 (any visible draw will do)
    fidelity_wanted = float(getattr(defect.injector, "wanted_fidelity", 0.0) or 0.0)
    contrast_wanted = float(getattr(defect.injector, "wanted_contrast", 0.0) or 0.0)
    wanted = fidelity_wanted or contrast_wanted
    colours = instance_colours(session.assembly) if not fidelity_wanted and contrast_wanted > 0 else None
    good_probe: np.ndarray | None = None
    candidates: list[tuple[float, int, DefectPlan]] = []
    largest = 0
    attempts = 0
    id_seconds = 0.0
    for attempt in range(defect.template.max_attempts):
        attempts = attempt + 1
        plan = defect.injector.plan(defect.template, context, seed, attempt)
        probe = None
        with BlenderDefectScene(session) as applied:
            defect.injector.apply(plan, applied)
            started = time.perf_counter()
            quick = session.render_id_layers(pose, scale=1)
            id_seconds += time.perf_counter() - started
            footprint, mask = _mask(defect, plan, search_good, quick, 1.0)
            visible = mask.sum() >= needed
            if visible and fidelity_wanted > 0:
                probe = composite_on_white(session.render_probe(pose, seed))
        largest = max(largest, int(mask.sum()))
        if not visible:
            continue
        if probe is not None:
            if good_probe is None:
                good_probe = composite_on_white(session.render_probe(pose, seed))
            score = mask_iou(good_probe, probe, mask, despeckle=True)
        elif colours is not None:
            layers = MaskLayers(search_good.instance_ids, quick.instance_ids, quick.added_labels,
                                quick.stain_opacity)
            score = colour_contrast(footprint, colours, search_good.instance_ids, layers, plan.targets)
        else:
            score = 1.0
        candidates.append((score, attempt, plan))
        if score >= wanted:
            break
        # after CONTRAST_CANDIDATES visible draws take the best, unless even that one would hardly show
        # (a removal that reveals its own colour, a flap against its own part): then draw on, up to
        # max_attempts, for one that reaches the floor
        if len(candidates) >= CONTRAST_CANDIDATES and max(c[0] for c in candidates) >= SCORE_FLOOR:
            break
    # the best-scoring draw (the earliest among equals) whose exact mask is large enough
    for score, _, plan in sorted(candidates, key=lambda c: (-c[0], c[1])):
        with BlenderDefectScene(session) as applied:
            defect.injector.apply(plan, applied)
            started = time.perf_counter()
            final = session.render_id_layers(pose)
            id_seconds += time.perf_counter() - started
            _, mask = _mask(defect, plan, good, final, coverage)
            if mask.sum() < needed:
                continue
            view = session.render_many([pose], [seed], ids=False)[0]
        final_ids, final_added, final_stain = final.point_sampled()
        attributes = defect_attributes(plan, mask, search_good.instance_ids, final_ids, final_added, final_stain,
                                       session.assembly)
        return DefectImage(plan, view.rgba, mask, attempts, view.rgb_seconds, id_seconds, score, attributes, final)
    raise MadgenError(f"defect type {defect.name}: no draw of {defect.template.max_attempts} covered "
                      f"min_visible_px ({needed} px) at this pose (best {largest} px); raise max_attempts or "
                      f"lower min_visible_px in {defect.template.source}")


def twin_mask_ious(folder: Path, per_type: int, library: Library | None = None,
                   progress: Callable[[int, int, float], None] | None = None) -> dict[str, list[float]]:
    """Mask fidelity of a madgen-built category, measured by re-rendering defect-free twins.

    For the first ``per_type`` images of each defect type (by index), the defect-free view of the
    same pose and seed is rendered with the settings the manifest records; the IoU of the image's
    mask with the pixels that differ (:func:`madgen.defects.fidelity.mask_iou`, specks ignored when
    the profile does not denoise) is the image's fidelity. For a realism build (a look per image)
    the twin gets the image's look and sensor noise, and only pixels on the object (its silhouette
    in the good or the defective view, grown by a pixel) count as changed: the background also
    changes where a removed part's shadow or reflection was, which no mask covers. Needs the
    manifest and the model.
    """
    from ..categories import CATEGORIES, load_scene
    from ..dataset.digest import file_sha256
    from ..dataset.manifest import read_manifest
    from ..profiles import RenderProfile

    folder = Path(folder)
    manifest = read_manifest(folder)
    config = manifest.get("config", {})
    category = str(manifest.get("category", folder.name))
    if category in CATEGORIES and not config.get("model"):
        model = load_scene(category).model
    elif config.get("model"):
        model = Path(str(config["model"])).expanduser()
    else:
        raise MadgenError(f"{folder / 'manifest.json'}: names no model to re-render {category} from")
    if not model.is_file():
        raise MadgenError(f"{folder / 'manifest.json'}: model {model} not found; cannot re-render")
    recorded = (manifest.get("model") or {}).get("sha256")
    if recorded and recorded != file_sha256(model):
        raise MadgenError(f"{model}: differs from the model {category} was built from (sha256 in the manifest); "
                          "re-rendered twins would not match")
    library = library or Library([str(d) for d in config.get("ldraw_dirs", [])] or None)
    assembly = load_assembly(model, library=library)
    profile = RenderProfile.from_dict(manifest["profile"])
    rig = RigConfig(**config.get("rig", {}))
    recorded_norm = manifest.get("normalisation")
    normalisation = Normalisation.from_dict(recorded_norm) if recorded_norm else None
    if normalisation is None:  # a build from before framing: the unit-sphere fit
        normalisation = Normalisation.fit(model_points_m(assembly))
    chosen: dict[str, list[dict]] = {}
    for record in manifest["files"]:
        if record.get("mask") and record.get("defect"):
            split = str(record["split"]).split("/", 1)[1]
            chosen.setdefault(split, []).append(record)
    jobs = [(split, record) for split, records in sorted(chosen.items())
            for record in sorted(records, key=lambda r: int(r["index"]))[:per_type]]
    result: dict[str, list[float]] = {split: [] for split in chosen}
    started = time.perf_counter()
    with RenderSession(assembly, profile, rig, normalisation) as session:
        for number, (split, record) in enumerate(jobs):
            pose = CameraPose.from_dict(record["pose"])
            look = record.get("look")
            if look is not None:
                session.set_look(look, pose)
            good = finish_image(composite_on_white(session.render_many([pose], [int(record["seed"])],
                                                                       ids=False)[0].rgba), look)
            defective = _read_rgb(folder / record["file"])
            mask = _read_rgb(folder / record["mask"])[:, :, 0] > 127
            region = None
            if look is not None and record.get("object_mask"):
                # on a bench, a removed part also takes its shadow and reflection off the bench, which
                # its mask rightly leaves out: only changes on the object (good or defective) count
                import cv2

                from ..defects.coverage import object_silhouette

                good_ids, good_added, _ = session.render_id_layers(pose, scale=1).point_sampled()
                region = object_silhouette(good_ids, good_added)
                region |= _read_rgb(folder / record["object_mask"])[:, :, 0] > 127
                region = cv2.dilate(region.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
            result[split].append(mask_iou(good, defective, mask, despeckle=not profile.denoise, region=region))
            if progress is not None:
                progress(number + 1, len(jobs), time.perf_counter() - started)
    return result


def _read_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except OSError as exc:
        raise MadgenError(f"{path}: unreadable image ({exc})") from None
