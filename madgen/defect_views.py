"""Render a defective view with its exact mask, re-drawing until the defect is visible.

For a view: the defect-free ID pass tells which parts are visible (and is the reference for the
Missing mask); the type's injector draws a plan for attempt 0, 1, ...; each plan is applied and
judged on a cheap ID pass at image resolution: its mask must cover the template's
``min_visible_px``. A visible draw is then scored: for kinds with ``wanted_fidelity``, by the IoU
of its mask with what changed between two cheap probe renders (good and defective, same seed);
for kinds with ``wanted_contrast``, by the share of the mask whose surface colour changes (a
burr against its own part barely shows). The first draw that reaches the wanted score, or else
the best of the first ``CONTRAST_CANDIDATES`` visible draws, gets the supersampled ID pass its
exact mask comes from, and the one full colour render. After
``max_attempts`` without a visible draw the view fails with a clear message; no anomalous image
is ever returned with an empty mask.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .categories import Scene
from .dataset.images import composite_on_white
from .defects import DefectPlan, DefectType, MaskLayers, PlanContext
from .defects.coverage import coverage_mask
from .defects.fidelity import mask_iou
from .errors import MadgenError
from .ldraw import Assembly
from .render import RenderSession
from .render.defects import BlenderDefectScene
from .render.session import IdLayers
from .rig import CameraPose

#: The most visible draws scored before the best of them is taken.
CONTRAST_CANDIDATES = 6
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
        if score >= wanted or len(candidates) >= CONTRAST_CANDIDATES:
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
        return DefectImage(plan, view.rgba, mask, attempts, view.rgb_seconds, id_seconds, score)
    raise MadgenError(f"defect type {defect.name}: no draw of {defect.template.max_attempts} covered "
                      f"min_visible_px ({needed} px) at this pose (best {largest} px); raise max_attempts or "
                      f"lower min_visible_px in {defect.template.source}")
