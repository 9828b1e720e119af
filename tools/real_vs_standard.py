"""Make the README's mad-real picture: the same views of two categories in ``standard`` and ``mad-real``.

    python tools/real_vs_standard.py --out docs/real_vs_standard.png [--categories Sheep,Bird] [--size 400]

For each category, two rows (``standard``, then ``mad-real``) of the same five views: two good
views and one defective view per built-in type (the defect's mask outlined in red, one pixel
wide, so the photograph itself stays visible). Every view has a fixed pose and seed; in the
``mad-real`` row the pose is that view's hand-held jitter of the same pose and the look is drawn
from the same seed, exactly as ``madgen build --profile mad-real`` would make it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from madgen.categories import load_scene, resolve_category
from madgen.dataset.contact_sheet import grid
from madgen.dataset.images import composite_on_white, write_png_atomic
from madgen.usecases.defect_views import render_defect
from madgen.defects.registry import load_registry
from madgen.ldraw import Library, load_assembly
from madgen.profiles import load_profile
from madgen.realism import finish_image, realistic_view
from madgen.render import RenderSession
from madgen.rig import RigConfig, look_at, spherical_position
from madgen.rig import CameraPose
from madgen.seeds import derive_seed

#: (azimuth, elevation) of the five views, and what each shows.
VIEWS = ((35.0, 20.0, None), (200.0, 40.0, None), (320.0, 25.0, "Burrs"), (140.0, 10.0, "Missing"),
         (70.0, 35.0, "Stains"))


def _pose(azimuth: float, elevation: float, rig: RigConfig) -> CameraPose:
    matrix = look_at(spherical_position(azimuth, elevation, rig.distance))
    return CameraPose(tuple(tuple(float(v) for v in row) for row in matrix), rig.camera_angle_x, azimuth,
                      elevation, rig.distance)


def _outline(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    shown = rgb.copy()
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(shown, contours, -1, (255, 30, 30), 1)
    return shown


def row(category: str, profile_name: str, size: int, tile: int, seed: int) -> tuple[list[np.ndarray], list[str]]:
    """The five tiles of one category in one profile, with their labels."""
    profile = load_profile(profile_name, {"resolution": size})
    rig = RigConfig()
    registry = load_registry()
    scene = load_scene(category)
    assembly = load_assembly(scene.model, library=Library())
    tiles, labels = [], []
    with RenderSession(assembly, profile, rig) as session:
        for number, (azimuth, elevation, defect) in enumerate(VIEWS):
            pose = _pose(azimuth, elevation, rig)
            view_seed = derive_seed(seed, category, "readme", number)
            look = None
            if profile.realism is not None:
                pose, look = realistic_view(pose, profile.realism, view_seed)
            session.set_look(look, pose)
            if defect is None:
                rgba = session.render_many([pose], [view_seed], ids=False)[0].rgba
                image = finish_image(composite_on_white(rgba), look)
            else:
                made = render_defect(session, registry.get(defect), pose, view_seed, scene)
                image = _outline(finish_image(composite_on_white(made.rgba), look), made.mask)
            tiles.append(cv2.resize(image, (tile, tile), interpolation=cv2.INTER_AREA))
            labels.append(f"{category} {profile_name}: {defect or 'good'}")
    return tiles, labels


def main() -> None:
    """Render the rows and write the picture."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/real_vs_standard.png"))
    parser.add_argument("--categories", default="Sheep,Bird")
    parser.add_argument("--size", type=int, default=400, help="render resolution")
    parser.add_argument("--tile", type=int, default=220, help="tile size in the picture")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tiles, labels = [], []
    for category in [resolve_category(c) for c in args.categories.split(",")]:
        for profile in ("standard", "mad-real"):
            more, names = row(category, profile, args.size, args.tile, args.seed)
            tiles += more
            labels += names
    write_png_atomic(args.out, grid(tiles, len(VIEWS), labels))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
