"""Missing: parts of the assembly are left out, from a single part to a whole named group.

Mask: the pixels where the removed parts are visible in the defect-free render of the same view,
i.e. where the missing parts would have been seen.

Sizes (``size_by: image_area``, the default): the area the mask should cover is drawn from the
template's ``image_area`` distribution (shares of the image, fitted to MAD-Sim's), and a removal
whose visible area is close to it is picked among three kinds of candidates, all of which the
defect-free ID pass measures exactly before anything renders:

- one visible part;
- a part with its nearest visible neighbours (up to ``parts`` parts);
- a whole named group of the scene (an ear, a leg, the beak, a tail, an eye: MLCad/LDCad/LeoCAD
  groups), when it holds at most ``group_share_max`` of the model's parts.

So large removals are part of the distribution, not an accident. Candidates are weighted by how
close their area is to the drawn one (log-normal, ``size_tolerance``), favouring parts on the
view's outline (a removed outline part shows the background: a visible hole) and, with
probability ``prefer_weight``, limited to the scene's ``prefer_groups``. With ``size_by: parts``
the older rule applies: ``parts`` visible parts, neighbours of the first.

Of a view's visible draws, the one whose change stays closest to its mask in a probe render is
kept: removing a part also removes its shadow on the parts around it, which the mask rightly
leaves out, so draws whose removal mostly shows as a shadow change are passed over.
"""

from __future__ import annotations

import math

import numpy as np

from .base import DefectKind, DefectScene, MaskLayers
from .plan import DefectPlan, PlanContext, draw_value, pick_target
from .sizes import AreaSpec
from .templates import Choice, DefectTemplate, Number

#: Parts on the view's outline are favoured: removing them shows the background, a visible hole.
SILHOUETTE_BOOST = 8.0


def removal_candidates(context: PlanContext, most_parts: int, group_share_max: float,
                       ) -> list[tuple[tuple[int, ...], str | None]]:
    """Every removal a view offers: single visible parts, parts with their nearest visible
    neighbours (up to ``most_parts``), and whole named groups of at most ``group_share_max`` of
    the model's parts, each as (sorted instances, group name or None), without repeats."""
    visible = context.in_groups(context.visible_instances(1), context.eligible_groups)
    seen: set[tuple[int, ...]] = set()
    result: list[tuple[tuple[int, ...], str | None]] = []

    def add(members: tuple[int, ...], group: str | None) -> None:
        if members and members not in seen:
            seen.add(members)
            result.append((members, group))

    for index in visible:
        add((index,), None)
    if most_parts > 1 and len(visible) > 1:
        centres = context.instance_centres()[visible]
        for row, index in enumerate(visible):
            order = np.argsort(np.linalg.norm(centres - centres[row], axis=1), kind="stable")
            for count in range(2, min(most_parts, len(visible)) + 1):
                add(tuple(sorted(visible[int(k)] for k in order[:count])), None)
    if group_share_max > 0:
        instances = context.assembly.instances
        limit = group_share_max * len(instances)
        members: dict[str, list[int]] = {}
        for instance in instances:
            if instance.group:
                members.setdefault(instance.group, []).append(instance.index)
        shown = set(visible)
        for group, indexes in sorted(members.items()):
            if len(indexes) <= limit and shown.intersection(indexes) \
                    and len(context.in_groups(indexes, context.eligible_groups)) == len(indexes):
                add(tuple(sorted(indexes)), group)
    return result


class Missing(DefectKind):
    """Leave parts out."""

    kind = "missing"
    wanted_fidelity = 0.85
    schema = {
        "size_by": Choice(("image_area", "parts"), description="draw the mask's area (image_area) or a part "
                          "count (parts)"),
        "image_area": AreaSpec(description="the mask areas aimed for, as shares of the image"),
        "size_tolerance": Number(0.05, 3, description="log-normal spread of how closely a removal's area "
                                 "follows the drawn one"),
        "parts": Number(1, 8, integer=True, description="parts removed together (image_area: at most)"),
        "group_share_max": Number(0, 1, description="the largest share of the model's parts a removed "
                                  "named group may hold (0: no whole groups)"),
        "prefer_weight": Number(0, 1, description="probability of taking the removal from prefer_groups"),
    }

    def plan(self, template: DefectTemplate, context: PlanContext, seed: int, attempt: int) -> DefectPlan:
        rng = context.rng(seed, attempt)
        params = template.params
        if params["size_by"] == "parts":
            return self._plan_by_count(template, context, seed, attempt, rng)
        image = context.image_size * context.image_size
        minimum = template.min_pixels(context.image_size, context.image_size)
        aimed = params["image_area"].sample(rng)
        most = int(draw_value(rng, params["parts"], integer=True))
        candidates = removal_candidates(context, most, draw_value(rng, params["group_share_max"]))
        areas = np.array([sum(context.visible_pixels.get(i, 0) for i in members) for members, _ in candidates],
                         dtype=np.float64)
        keep = areas >= minimum
        if not keep.any():  # nothing is large enough: the largest removal (the view will re-draw if needed)
            keep = areas == areas.max()
        candidates = [c for c, k in zip(candidates, keep) if k]
        areas = areas[keep]
        prefer = [g.lower() for g in context.prefer_groups]
        if prefer and rng.uniform() < draw_value(rng, params["prefer_weight"]):
            preferred = [any(g in (context.assembly.instances[i].group or "").lower() for g in prefer
                             for i in members) for members, _ in candidates]
            if any(preferred):
                candidates = [c for c, p in zip(candidates, preferred) if p]
                areas = areas[np.array(preferred)]
        share = context.silhouette_share()
        outline = np.array([sum(share.get(i, 0.0) * context.visible_pixels.get(i, 0) for i in members)
                            for members, _ in candidates]) / np.maximum(areas, 1.0)
        tolerance = draw_value(rng, params["size_tolerance"])
        log_weight = -0.5 * ((np.log(np.maximum(areas, 1.0)) - math.log(aimed * image)) / tolerance) ** 2
        weights = np.exp(log_weight - log_weight.max()) * (1.0 + SILHOUETTE_BOOST * outline)
        chosen = int(rng.choice(len(candidates), p=weights / weights.sum()))
        members, group = candidates[chosen]
        return DefectPlan(template.name, self.kind, members, {
            "parts": len(members), "group": group, "aimed_area": aimed,
            "predicted_area": float(areas[chosen]) / image}, seed, attempt)

    def _plan_by_count(self, template: DefectTemplate, context: PlanContext, seed: int, attempt: int,
                       rng: np.random.Generator) -> DefectPlan:
        count = int(draw_value(rng, template.params["parts"], integer=True))
        minimum = max(1, template.min_pixels(context.image_size, context.image_size) // count)
        groups = context.eligible_groups
        preferred = context.in_groups(context.visible_instances(minimum), context.prefer_groups or None)
        prefer = bool(context.prefer_groups) and preferred and rng.uniform() < draw_value(
            rng, template.params["prefer_weight"])
        first = pick_target(context, rng, minimum, context.prefer_groups if prefer else groups, SILHOUETTE_BOOST)
        targets = [first]
        if count > 1:
            pool = [i for i in context.in_groups(context.visible_instances(1), groups) if i != first]
            centres = np.array([context.assembly.instances[i].transform[:3, 3] for i in pool]).reshape(-1, 3)
            here = context.assembly.instances[first].transform[:3, 3]
            order = np.argsort(np.linalg.norm(centres - here, axis=1), kind="stable")
            targets += [pool[int(i)] for i in order[:count - 1]]
        return DefectPlan(template.name, self.kind, tuple(sorted(targets)), {"parts": len(targets)}, seed, attempt)

    def apply(self, plan: DefectPlan, scene: DefectScene) -> None:
        scene.hide_instances(plan.targets)

    def mask(self, plan: DefectPlan, layers: MaskLayers) -> np.ndarray:
        return np.isin(layers.good_instance_ids, np.array(plan.targets, dtype=np.int64))
