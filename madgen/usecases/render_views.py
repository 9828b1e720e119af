"""Render a category's training views: ``train/good/<i>.png`` plus ``transforms.json``.

This is what ``madgen render`` and ``blender -b -P render.py -- ...`` run. The scene is built
once; views render in a loop; every PNG is written atomically with deterministic bytes;
``transforms.json`` lists every training view whose image is present in the folder (so views
rendered in several calls accumulate), and ``madgen_render.json`` records the resolved settings.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from .. import __version__
from ..categories import load_scene, resolve_category
from ..dataset.atomic import write_json_atomic
from ..dataset.images import composite_on_white, mask_pixels, write_png_atomic
from ..dataset.transforms import TRAIN_FOLDER, write_transforms
from ..dataset.validate import OBJECT_MASKS_FOLDER
from ..defects.coverage import object_silhouette
from ..realism import finish_image, realistic_view, spread_views
from ..errors import MadgenError
from ..ldraw import Assembly, Library, load_assembly
from ..profiles import RenderProfile
from ..profiles.realism import Realism
from ..rig import CameraPose, RigConfig, training_poses
from ..seeds import derive_seed


def _selects_all(text: str | None) -> bool:
    return text is None or text.strip().lower() in ("", "all", ":")


def parse_views(text: str | None, total: int) -> list[int]:
    """Parse a view selection: ``all``, ``5``, ``0:8`` or ``0:216:24`` (Python slice rules)."""
    if _selects_all(text):
        return list(range(total))
    pieces = text.split(":")
    try:
        if len(pieces) == 1:
            index = int(pieces[0])
            if not 0 <= index < total:
                raise MadgenError(f"--views {text}: view {index} does not exist (0..{total - 1})")
            return [index]
        if len(pieces) > 3:
            raise ValueError(text)
        numbers = [int(p) if p.strip() else None for p in pieces]
    except ValueError:
        raise MadgenError(f"--views {text!r}: expected N, START:STOP or START:STOP:STEP") from None
    if len(numbers) == 3 and numbers[2] is not None and numbers[2] <= 0:
        raise MadgenError(f"--views {text}: the step must be positive")
    selected = list(range(total))[slice(*numbers)]
    if not selected:
        raise MadgenError(f"--views {text}: selects no view (there are {total})")
    return selected


def training_frames(text: str | None, rig_poses: list[CameraPose],
                    realism: Realism | None) -> tuple[list[CameraPose], list[int]]:
    """The training views' poses by number and the numbers a selection ``text`` picks: the rig's
    poses and :func:`parse_views`, or, with a ``realism`` and ``text`` all, its
    ``realism.train_views`` views spread over the rig, numbered 0, 1, ... (all of them picked)."""
    if realism is not None and realism.train_views and _selects_all(text):
        spread = [rig_poses[i] for i in spread_views(rig_poses, realism.train_views)]
        return spread, list(range(len(spread)))
    return list(rig_poses), parse_views(text, len(rig_poses))


@dataclass
class RenderReport:
    """What a render call did, with its timings."""

    output: Path
    views: list[int]
    build_seconds: float = 0.0
    rgb_seconds: float = 0.0
    mask_seconds: float = 0.0
    wall_seconds: float = 0.0
    device: str = "CPU"
    denoised: bool = False


def load_model(category: str | None, model: Path | None, library: Library) -> tuple[str, Assembly]:
    """The (name, assembly) of a category or of a user's model file."""
    if (category is None) == (model is None):
        raise MadgenError("give exactly one of --category or --model")
    if model is not None:
        return Path(model).stem, load_assembly(model, library=library)
    name = resolve_category(category or "")
    return name, load_assembly(load_scene(name).model, library=library)


def render_training_views(
    assembly: Assembly,
    name: str,
    out: Path,
    profile: RenderProfile,
    *,
    views: str | None = None,
    seed: int = 0,
    rig: RigConfig | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    batch_size: int = 8,
) -> RenderReport:
    """Render the selected training views of ``assembly`` into ``out`` (a category folder).

    As ``madgen build`` does: with a profile's ``realism``, ``views`` all means its
    ``realism.train_views`` views spread over the rig (numbered 0, 1, ...), each with its drawn
    look and hand-held pose (``transforms.json`` gets the true, jittered poses); with the
    profile's ``object_masks``, each view's silhouette is written to
    ``object_masks/train/good/<i>.png``."""
    from ..render import RenderSession  # the only bpy import, deferred until rendering

    started = time.perf_counter()
    rig = rig or RigConfig()
    realism = profile.realism
    poses, selected = training_frames(views, training_poses(rig), realism)
    looks: dict[int, dict] = {}
    if realism is not None:  # every view's pose and look are drawn from its seed, rendered now or not
        for index in range(len(poses)):
            poses[index], looks[index] = realistic_view(poses[index], realism, derive_seed(seed, name, "train", index))
    out = Path(out)
    report = RenderReport(out, selected)
    with RenderSession(assembly, profile, rig) as session:
        report.build_seconds = session.build_seconds
        report.device, report.denoised = session.device, session.denoised
        for first in range(0, len(selected), batch_size):
            batch = selected[first:first + batch_size]
            rendered = session.render_many([poses[i] for i in batch],
                                           [derive_seed(seed, name, "train", i) for i in batch],
                                           looks=[looks[i] for i in batch] if realism is not None else None,
                                           id_scale=1 if profile.object_masks else None)
            for index, view in zip(batch, rendered):
                write_png_atomic(out / TRAIN_FOLDER / f"{index}.png",
                                 finish_image(composite_on_white(view.rgba), looks.get(index)))
                if profile.object_masks and view.instance_ids is not None:
                    write_png_atomic(out / OBJECT_MASKS_FOLDER / TRAIN_FOLDER / f"{index}.png",
                                     mask_pixels(object_silhouette(view.instance_ids, view.added_labels)))
                report.rgb_seconds += view.rgb_seconds
                report.mask_seconds += view.mask_seconds
            if progress is not None:
                progress(first + len(batch), len(selected), time.perf_counter() - started)
        normalisation = session.normalisation
    present = [(i, pose) for i, pose in enumerate(poses) if (out / TRAIN_FOLDER / f"{i}.png").is_file()]
    write_transforms(out, rig.camera_angle_x, present, normalisation)
    write_json_atomic(out / "madgen_render.json", {
        "madgen_version": __version__,
        "blender_version": _blender_version(),
        "model": name,
        "source": Path(assembly.source).name,
        "seed": seed,
        "profile": profile.to_dict(),
        "rig": asdict(rig),
        "normalisation": normalisation.to_dict(),
        "denoised": report.denoised,
    })
    report.wall_seconds = time.perf_counter() - started
    return report


def _blender_version() -> str:
    import bpy

    return bpy.app.version_string
