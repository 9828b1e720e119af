"""``madgen defects preview``: one defect drawn at a seeded test pose, shown as a triptych."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..categories import CATEGORIES, load_scene
from ..dataset.images import composite_on_white, overlay_mask, write_png_atomic
from ..defects import DefectType
from ..ldraw import Assembly
from ..profiles import RenderProfile
from ..rig import RigConfig, sample_test_poses
from ..seeds import derive_seed


def preview_defect(assembly: Assembly, name: str, defect: DefectType, profile: RenderProfile, seed: int,
                   out: Path, rig: RigConfig | None = None):  # noqa: ANN201 - returns a DefectImage
    """Render the defect-free and defective view of a seeded test pose and write the triptych."""
    from .defect_views import render_defect
    from ..render import RenderSession

    rig = rig or RigConfig()
    pose = sample_test_poses(1, derive_seed(seed, name, "preview"), rig)[0]
    scene = load_scene(name) if name in CATEGORIES else None
    view_seed = derive_seed(seed, name, "preview", defect.name)
    look = None
    if profile.realism is not None:  # a photographed look: a hand-held pose and a drawn bench, lights, camera
        from ..realism import realistic_view

        pose, look = realistic_view(pose, profile.realism, view_seed)
    with RenderSession(assembly, profile, rig) as session:
        session.set_look(look, pose)
        good = session.render(pose, view_seed)
        result = render_defect(session, defect, pose, view_seed, scene, good.id_layers)
    from ..realism import finish_image

    defective = finish_image(composite_on_white(result.rgba), look)
    panels = [finish_image(composite_on_white(good.rgba), look), defective,
              overlay_mask(defective, result.mask, outline=1)]
    write_png_atomic(Path(out), np.concatenate(panels, axis=1))
    return result
