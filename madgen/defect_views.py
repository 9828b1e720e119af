"""Render a defective view with its exact mask, re-drawing until the defect is visible.

For a view: the defect-free ID pass tells which parts are visible (and is the reference for the
Missing mask); the type's injector draws a plan for attempt 0, 1, ...; each plan is applied,
rendered and masked, and the first whose mask covers at least the template's
``min_visible_px`` is kept. After ``max_attempts`` the view fails with a clear message; no
anomalous image is ever returned with an empty mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .categories import Scene
from .defects import DefectPlan, DefectType, MaskLayers, PlanContext
from .errors import MadgenError
from .render import RenderSession
from .render.defects import BlenderDefectScene
from .rig import CameraPose


@dataclass
class DefectImage:
    """A defective view: the plan kept, its pixels, its mask, and how many draws it took."""

    plan: DefectPlan
    rgba: np.ndarray
    mask: np.ndarray
    attempts: int
    rgb_seconds: float
    mask_seconds: float


def visible_pixel_counts(instance_ids: np.ndarray) -> dict[int, int]:
    """Pixels per visible part instance in an ID image."""
    values, counts = np.unique(instance_ids[instance_ids >= 0], return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts)}


def render_defect(session: RenderSession, defect: DefectType, pose: CameraPose, seed: int,
                  scene: Scene | None = None, good_ids: np.ndarray | None = None) -> DefectImage:
    """Render one defective view of ``defect`` at ``pose`` (see the module docstring)."""
    if good_ids is None:
        good_ids = session.render_ids(pose)
    size = session.profile.resolution
    eligible = None
    prefer: list[str] = []
    if scene is not None:
        eligible = None if scene.missing.eligible == "auto" else list(scene.missing.eligible)
        prefer = list(scene.missing.prefer_groups)
    context = PlanContext(session.assembly, pose, size, session.normalisation, visible_pixel_counts(good_ids),
                          eligible if defect.template.kind == "missing" else None,
                          prefer if defect.template.kind == "missing" else [], good_ids)
    needed = defect.template.min_pixels(size, size)
    best = 0
    for attempt in range(defect.template.max_attempts):
        plan = defect.injector.plan(defect.template, context, seed, attempt)
        with BlenderDefectScene(session) as applied:
            defect.injector.apply(plan, applied)
            view = session.render(pose, seed)
        layers = MaskLayers(good_ids, view.instance_ids, view.added_labels, view.stain_opacity)
        mask = np.asarray(defect.injector.mask(plan, layers), dtype=bool)
        if mask.shape != good_ids.shape:
            raise MadgenError(f"defect type {defect.name}: mask has shape {mask.shape}, expected {good_ids.shape}")
        best = max(best, int(mask.sum()))
        if mask.sum() >= needed:
            return DefectImage(plan, view.rgba, mask, attempt + 1, view.rgb_seconds, view.mask_seconds)
    raise MadgenError(f"defect type {defect.name}: no draw of {defect.template.max_attempts} covered "
                      f"min_visible_px ({needed} px) at this pose (best {best} px); raise max_attempts or lower "
                      f"min_visible_px in {defect.template.source}")
