"""Missing: one or more visible parts are left out of the assembly.

Mask: the pixels where the removed parts are visible in the defect-free render of the same view,
i.e. where the missing part would have been seen. Parts come from the scene's eligible groups
(``scenes/<NNName>.yaml``; ``auto`` = any part the view shows), preferring the scene's
``prefer_groups`` with probability ``prefer_weight``; further parts are the target's nearest
visible neighbours. Of a view's visible draws, the one whose change stays closest to its mask in a
probe render is kept: removing a part also removes its shadow on the parts around it, which the
mask rightly leaves out, so draws whose removal mostly shows as a shadow change are passed over.
"""

from __future__ import annotations

import numpy as np

from .base import DefectKind, DefectScene, MaskLayers
from .plan import DefectPlan, PlanContext, draw_value, pick_target
from .templates import DefectTemplate, Number

#: Parts on the view's outline are favoured: removing them shows the background, a visible hole.
SILHOUETTE_BOOST = 8.0


class Missing(DefectKind):
    """Leave parts out."""

    kind = "missing"
    wanted_fidelity = 0.85
    schema = {
        "parts": Number(1, 8, integer=True, description="how many parts are removed"),
        "prefer_weight": Number(0, 1, description="probability of taking the first part from prefer_groups"),
    }

    def plan(self, template: DefectTemplate, context: PlanContext, seed: int, attempt: int) -> DefectPlan:
        rng = context.rng(seed, attempt)
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
