"""Make the README's pictures: a contact sheet of one category and one labelled view per category.

    python tools/contact_sheet.py --out docs [--profile standard] [--size 200]

Renders with the same code as ``madgen render`` (one scene build per category) and writes
``docs/contact_sheet.png`` (several views of 01Gorilla) and ``docs/categories.png`` (one view of
each of the 20 categories with its name).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from madgen.categories import CATEGORIES, load_scene
from madgen.dataset.contact_sheet import grid
from madgen.dataset.images import composite_on_white, write_png_atomic
from madgen.ldraw import Library, load_assembly
from madgen.profiles import load_profile
from madgen.render import RenderSession
from madgen.rig import RigConfig, training_poses


def main() -> None:
    """Render and write both pictures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--profile", default="standard")
    parser.add_argument("--size", type=int, default=200)
    args = parser.parse_args()
    profile = load_profile(args.profile, {"resolution": args.size})
    rig = RigConfig()
    poses = training_poses(rig)
    library = Library()
    sheet_views = [24 * ring + azimuth for ring in (1, 3, 5, 7) for azimuth in (0, 4, 8, 12, 16, 20)]
    assembly = load_assembly(load_scene("01Gorilla").model, library=library)
    with RenderSession(assembly, profile, rig) as session:
        views = session.render_many([poses[i] for i in sheet_views], sheet_views)
    write_png_atomic(args.out / "contact_sheet.png", grid([composite_on_white(v.rgba) for v in views], 6))
    tiles, labels = [], []
    for category in CATEGORIES:
        assembly = load_assembly(load_scene(category).model, library=library)
        with RenderSession(assembly, profile, rig) as session:
            view = session.render(poses[24 * 3 + 3], seed=0)
        tiles.append(composite_on_white(view.rgba))
        labels.append(category)
    write_png_atomic(args.out / "categories.png", grid(tiles, 5, labels))


if __name__ == "__main__":
    main()
