"""The ``madgen`` command line. It only parses options and calls library functions.

Every user-facing failure is a :class:`~madgen.errors.MadgenError` and is printed as one line
(``madgen: error: ...``) with exit status 2; there is never a traceback for bad input.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections import Counter
from pathlib import Path

import click

from . import __version__
from .ad.config import (APPEARANCES, BACKBONES, LIGHTS, MATCHES, MAX_POSE_ERROR, NORMALISES, RETRIEVALS, TOLERANCE,
                        AdConfig, FieldConfig, PoseConfig, check_setting, config_from_settings, read_settings)
from .pipeline.config import resolve_config
from .pipeline.run import build_dataset
from .pipeline.summary import build_summary
from .categories import CATEGORIES, load_category_assembly, load_scene, resolve_category
from .console import ProgressLine, format_table
from .dataset.contact_sheet import category_sheet
from .dataset.images import write_png_atomic
from .dataset.manifest import verify as verify_dataset
from .dataset.validate import validate as validate_dataset
from .usecases.defect_preview import preview_defect
from .defects import load_registry
from .errors import MadgenError
from .ldraw import RESOLUTIONS, Assembly, Library, load_assembly, points_to_blender
from .profiles import builtin_profiles, load_profile, parse_overrides
from .usecases.render_views import load_model, render_training_views
from .stats import category_image_folder, folder_texture_complexity, shape_complexity

_LDRAW_DIR_HELP = "LDraw library root searched first (then LDRAWDIR, then the embedded ldraw_parts/)."


def _library(ldraw_dir: tuple[str, ...], resolution: str = "standard", lenient: bool = False) -> Library:
    return Library(list(ldraw_dir), resolution=resolution, strict=not lenient)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="madgen")
def cli() -> None:
    """madgen: regenerate the MAD-Sim dataset with Blender and run OmniposeAD on it."""


@cli.command("list")
@click.option("--ldraw-dir", multiple=True, type=click.Path(), help=_LDRAW_DIR_HELP)
def list_categories(ldraw_dir: tuple[str, ...]) -> None:
    """List the 20 MAD categories with their part and triangle counts."""
    library = _library(ldraw_dir)
    rows = []
    for category in CATEGORIES:
        scene, assembly = load_category_assembly(category, library)
        description = scene.description if len(scene.description) <= 70 else scene.description[:67] + "..."
        rows.append((category, len(assembly.instances), len(assembly.meshes), len(assembly.colour_codes()),
                     f"{assembly.triangle_count:,}", description))
    click.echo(format_table(("category", "parts", "distinct", "colours", "triangles", "description"), rows,
                            right_align=(1, 2, 3, 4)))


def _model_path(target: str) -> tuple[Path, str]:
    path = Path(target)
    if path.is_file():
        return path, path.stem
    if path.suffix.lower() in (".ldr", ".dat", ".mpd", ".l3b") or "/" in target:
        raise MadgenError(f"model file not found: {target}")
    scene = load_scene(resolve_category(target))
    return scene.model, scene.category


def _inspect_text(assembly: Assembly, label: str, library: Library) -> str:
    low, high = assembly.bounding_box()
    size = high - low
    corners = points_to_blender(assembly.bounding_box())
    blender_size = corners.max(axis=0) - corners.min(axis=0)
    counts = Counter(instance.part_id for instance in assembly.instances)
    colour_counts = Counter(instance.colour for instance in assembly.instances)
    kinds = assembly.mesh_kinds
    loose = sorted(mesh_id for mesh_id in assembly.meshes if kinds.get(mesh_id) == "geometry")
    embedded = sorted(mesh_id for mesh_id in assembly.meshes if kinds.get(mesh_id) in ("embedded", "override"))
    parts_line = f"parts      {len(assembly.instances)} instances of {len(assembly.meshes)} distinct parts"
    if loose:
        parts_line += f" ({len(loose)} of them geometry drawn in a model or submodel)"
    lines = [
        f"model      {assembly.source} ({label}: {assembly.name})",
        parts_line,
        f"triangles  {assembly.triangle_count:,}",
        f"bbox LDU   min ({low[0]:g}, {low[1]:g}, {low[2]:g})  max ({high[0]:g}, {high[1]:g}, {high[2]:g})  "
        f"size {size[0]:g} x {size[1]:g} x {size[2]:g}",
        f"bbox m     {blender_size[0]:.4f} x {blender_size[1]:.4f} x {blender_size[2]:.4f} "
        "(Blender X x Y x Z, Z up)",
        "roots      " + "; ".join(str(root) for root in library.roots),
        "used       " + ("; ".join(str(root) for root in assembly.roots_used()) or "(none)"),
        "",
        format_table(
            ("part", "title", "count", "triangles"),
            [(part_id, assembly.meshes[part_id].title, count, assembly.meshes[part_id].triangle_count)
             for part_id, count in sorted(counts.items())],
            right_align=(2, 3),
        ),
        "",
        format_table(
            ("colour", "name", "value", "parts"),
            [(code, assembly.colours.resolve(code).name, assembly.colours.resolve(code).to_dict()["rgb"], n)
             for code, n in sorted(colour_counts.items())],
            right_align=(0, 3),
        ),
        "",
    ]
    for mesh_id in loose:
        mesh = assembly.meshes[mesh_id]
        lines.append(f"geometry   {mesh_id}: {mesh.triangle_count:,} triangles drawn directly in "
                     f"{assembly.part_files[mesh_id]} ({counts[mesh_id]} instances)")
    for mesh_id in embedded:
        if kinds[mesh_id] != "override":
            lines.append(f"embedded   {mesh_id}: a part defined inside {assembly.part_files[mesh_id]}")
    for name, library_file in sorted(assembly.overrides.items()):
        drawn = "" if name in assembly.meshes else " (drawn as part of a model's own geometry)"
        lines.append(f"override   {name}: the MPD's own file replaces the library's {library_file}{drawn}")
    if loose or embedded or assembly.overrides:
        lines.append("")
    if assembly.warnings:
        lines.append(f"warnings ({len(assembly.warnings)}):")
        lines.extend(f"  {warning}" for warning in assembly.warnings)
    else:
        lines.append("warnings   none")
    return "\n".join(lines)


@cli.command()
@click.argument("target")
@click.option("--ldraw-dir", multiple=True, type=click.Path(), help=_LDRAW_DIR_HELP)
@click.option("--resolution", type=click.Choice(RESOLUTIONS), default="standard", show_default=True,
              help="Primitive resolution: p/ (standard), p/48 (high) or p/8 (low).")
@click.option("--lenient", is_flag=True, help="Skip malformed lines with a warning instead of failing.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON description instead of text.")
def inspect(target: str, ldraw_dir: tuple[str, ...], resolution: str, lenient: bool, as_json: bool) -> None:
    """Describe a model FILE or a CATEGORY: parts, colours, triangles, bounding box, roots, warnings."""
    path, label = _model_path(target)
    library = _library(ldraw_dir, resolution, lenient)
    assembly = load_assembly(path, library=library)
    if as_json:
        data = assembly.to_dict()
        data["roots_used"] = [str(root.path) for root in assembly.roots_used()]
        click.echo(json.dumps(data, indent=1))
    else:
        click.echo(_inspect_text(assembly, label, library))


@cli.command()
@click.argument("folder", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--images", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A MAD-Sim root (uses <category>/train/good) or one folder of images. "
                   "Defaults to ./MAD-Sim when it exists.")
@click.option("--ldraw-dir", multiple=True, type=click.Path(), help=_LDRAW_DIR_HELP)
def stats(folder: Path | None, images: Path | None, ldraw_dir: tuple[str, ...]) -> None:
    """The seed's section 4 attributes: shape complexity (0-100) and texture complexity.

    FOLDER (or --images) is a MAD-Sim root or one folder of images."""
    library = _library(ldraw_dir)
    images = images or folder
    if images is not None and not any(category_image_folder(images, c) for c in CATEGORIES):
        if (images / "train" / "good").is_dir():
            images = images / "train" / "good"
        folder_value = folder_texture_complexity(images)
        click.echo(f"texture complexity of {images}: {folder_value:.2f}")
        return
    root = images if images is not None else Path("MAD-Sim")
    triangles = {}
    textures: dict[str, str] = {}
    for category in CATEGORIES:
        _, assembly = load_category_assembly(category, library)
        triangles[category] = assembly.triangle_count
        folder = category_image_folder(root, category) if root.is_dir() else None
        textures[category] = f"{folder_texture_complexity(folder):.2f}" if folder else "-"
    shapes = shape_complexity(triangles)
    rows = [(c, f"{triangles[c]:,}", f"{shapes[c]:.1f}", textures[c]) for c in CATEGORIES]
    click.echo(format_table(("category", "triangles", "shape complexity", "texture complexity"), rows,
                            right_align=(1, 2, 3)))
    if all(value == "-" for value in textures.values()):
        click.echo("texture complexity needs renders: pass --images DIR (a MAD-Sim root or an image folder)")


@cli.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--iou", "iou_per_type", default=0, show_default=True, type=click.IntRange(0, 100_000),
              help="Re-render the defect-free twin of this many images per defect type and category to measure "
                   "mask IoU (madgen builds only; needs Blender).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--check", is_flag=True, help="Exit with status 1 when a target is missed.")
@click.option("--ldraw-dir", multiple=True, type=click.Path(), help=_LDRAW_DIR_HELP)
def fidelity(folder: Path, iou_per_type: int, as_json: bool, check: bool, ldraw_dir: tuple[str, ...]) -> None:
    """How much FOLDER looks like MAD-Sim: object extent and coverage, defect mask areas per category and type.

    FOLDER is a dataset root or one category (ours or a MAD-Sim download). The MAD-Sim reference row and
    the targets are printed beside the measurements."""
    from .dataset.fidelity import category_folders, dataset_report, report_misses, report_rows

    ious = None
    if iou_per_type:
        from .usecases.defect_views import twin_mask_ious

        ious = {}
        library = _library(ldraw_dir) if ldraw_dir else None
        for category_folder in category_folders(folder):
            progress = ProgressLine(f"iou {category_folder.name}")
            ious[category_folder.name] = twin_mask_ious(category_folder, iou_per_type, library, progress)
            progress.finish()
    report = dataset_report(folder, ious)
    misses = report_misses(report)
    if as_json:
        click.echo(json.dumps(report, indent=1))
    else:
        header, rows = report_rows(report)
        click.echo(format_table(header, rows, right_align=tuple(range(2, len(header)))))
        click.echo("extent, coverage: medians over test images (object: darkest channel under "
                   f"{report['object_level']}, or the object_masks/ silhouette where there is one); "
                   "mask: share of the image, over anomalous images")
        click.echo("targets: all met" if not misses else "targets missed:\n  " + "\n  ".join(misses))
    if check and misses:
        sys.exit(1)


@cli.command()
@click.option("--category", help="A MAD category (01Gorilla, Gorilla, gorilla or 1).")
@click.option("--model", type=click.Path(path_type=Path), help="Any LDraw model file instead of a category.")
@click.option("--views", default="all", show_default=True, help="Training views: all, N, START:STOP[:STEP].")
@click.option("--profile", default="standard", show_default=True,
              help=f"Render profile: {', '.join(builtin_profiles())}, or a YAML file.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a profile setting.")
@click.option("--seed", default=0, show_default=True, type=int, help="Root seed.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (a MAD-Sim category folder).")
@click.option("--ldraw-dir", multiple=True, type=click.Path(), help=_LDRAW_DIR_HELP)
def render(category: str | None, model: Path | None, views: str, profile: str, overrides: tuple[str, ...],
           seed: int, out: Path, ldraw_dir: tuple[str, ...]) -> None:
    """Render training views (train/good/<i>.png) and transforms.json with Blender."""
    resolved = load_profile(profile, parse_overrides(overrides))
    name, assembly = load_model(category, model, _library(ldraw_dir))
    progress = ProgressLine("render")
    report = render_training_views(assembly, name, out, resolved, views=views, seed=seed, progress=progress)
    progress.finish()
    blender = report.rgb_seconds + report.mask_seconds
    click.echo(f"rendered {len(report.views)} view(s) of {name} into {out} in {report.wall_seconds:.1f} s "
               f"({report.device}, {resolved.resolution}px, {resolved.samples} spp"
               f"{', denoised' if report.denoised else ''}); Blender render time {blender:.1f} s, "
               f"mask pass {100 * report.mask_seconds / max(report.rgb_seconds, 1e-9):.1f}% of RGB")


@cli.command()
@click.option("--category", "categories", multiple=True,
              help="A category (01Gorilla, Gorilla, gorilla or 1); repeat or use commas. Default: 01Gorilla.")
@click.option("--all", "all_categories", is_flag=True, help="Build all 20 categories.")
@click.option("--model", type=click.Path(path_type=Path), help="Any LDraw model file instead of a category.")
@click.option("--name", help="The category folder name for --model (default: the file's stem).")
@click.option("--out", default=None, type=click.Path(file_okay=False), help="Dataset folder [default: MAD-Sim].")
@click.option("--profile", default=None, help="Render profile or YAML file [default: standard].")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a profile setting.")
@click.option("--seed", default=None, type=int, help="Root seed [default: 0].")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML with any of these options (the command line wins).")
@click.option("--defects", "defect_names", default=None,
              help="Comma-separated defect types [default: Burrs,Missing,Stains]; custom ones too.")
@click.option("--template", "templates", multiple=True, type=click.Path(), help="A defect template YAML to add.")
@click.option("--plugin", "plugins", multiple=True, metavar="MODULE:CLASS", help="A Python defect injector.")
@click.option("--train-views", default=None, help="Training views: all, N, START:STOP[:STEP] [default: all].")
@click.option("--test-good", default=None, type=int, help="Good test images [default: 90].")
@click.option("--test-per-defect", default=None, type=int, help="Test images per defect type [default: 80].")
@click.option("--val-good", default=None, type=int,
              help="Good images of a validation set in val/test/good (own seeds, poses apart from the test "
                   "poses; PAD's loaders ignore val/) [default: 0].")
@click.option("--val-per-defect", default=None, type=int,
              help="Validation images per defect type in val/test/<type> with masks in val/ground_truth "
                   "[default: 0].")
@click.option("--executor", default=None, type=click.Choice(["local", "ray"]), help="Runner [default: local].")
@click.option("--workers", default=None, type=int, help="Worker processes (local) or concurrent tasks (Ray); "
              "0 picks for the machine.")
@click.option("--address", default=None, help="Ray address: auto, HOST:PORT, or local [default: auto].")
@click.option("--shard", default=None, metavar="I/N", help="Build only shard I of N (for job arrays).")
@click.option("--chunk-size", default=None, type=int, help="Views per work unit [default: 8].")
@click.option("--ldraw-dir", multiple=True, type=click.Path(), help=_LDRAW_DIR_HELP)
def build(categories: tuple[str, ...], all_categories: bool, model: Path | None, name: str | None, out: str | None,
          profile: str | None, overrides: tuple[str, ...], seed: int | None, config_file: Path | None,
          defect_names: str | None, templates: tuple[str, ...], plugins: tuple[str, ...], train_views: str | None,
          test_good: int | None, test_per_defect: int | None, val_good: int | None, val_per_defect: int | None,
          executor: str | None, workers: int | None,
          address: str | None, shard: str | None, chunk_size: int | None, ldraw_dir: tuple[str, ...]) -> None:
    """Build MAD-Sim-format datasets: train/test splits, masks, transforms.json and manifest.json."""
    names = [piece.strip() for item in categories for piece in item.split(",") if piece.strip()]
    if all_categories:
        names = ["all"]
    options = {
        "categories": tuple(names) or None, "model": str(model) if model else None, "name": name, "out": out,
        "profile": profile, "overrides": parse_overrides(overrides) or None, "seed": seed,
        "defects": tuple(d.strip() for d in defect_names.split(",") if d.strip()) if defect_names else None,
        "templates": templates, "plugins": plugins, "train_views": train_views, "test_good": test_good,
        "test_per_defect": test_per_defect, "val_good": val_good, "val_per_defect": val_per_defect,
        "executor": executor, "workers": workers, "address": address,
        "shard": shard, "chunk_size": chunk_size, "ldraw_dirs": ldraw_dir,
    }
    config = resolve_config(config_file, options)
    progress = ProgressLine("build")
    report = build_dataset(config, progress=progress)
    progress.finish()
    click.echo(build_summary(report))
    if report.failures:
        raise MadgenError(f"{len(report.failures)} work unit(s) failed (listed above); re-run the same command "
                          "to retry them, finished images are kept")


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path))
def verify(folder: Path) -> None:
    """Re-hash a madgen dataset (or one category) against its manifest.json files."""
    report = verify_dataset(folder)
    for problem in report.problems:
        click.echo(problem)
    if not report.ok:
        raise MadgenError(f"{len(report.problems)} of {report.checked} files do not match their manifest")
    click.echo(f"{report.checked} files match their manifest")


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path))
def validate(folder: Path) -> None:
    """Check a folder (ours or a MAD-Sim download) against the MAD-Sim layout; list every problem."""
    report = validate_dataset(folder)
    for problem in report.problems:
        click.echo(problem)
    summary = (f"{len(report.categories)} categor{'y' if len(report.categories) == 1 else 'ies'}, "
               f"{report.images} images, {report.masks} masks")
    if not report.ok:
        raise MadgenError(f"{len(report.problems)} problem(s) in {summary}")
    click.echo(f"{summary}: valid MAD-Sim layout")


@cli.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--category", default=None, help="The category to show (needed when FOLDER is a dataset root).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Output PNG.")
@click.option("--train", "train_count", default=12, show_default=True, help="Training views to show.")
@click.option("--per-split", default=6, show_default=True, help="Images per test folder.")
@click.option("--tile", default=160, show_default=True, help="Tile size in pixels.")
def preview(folder: Path, category: str | None, out: Path, train_count: int, per_split: int, tile: int) -> None:
    """Write a contact sheet: training views, then test images per type with their mask overlays."""
    target = folder
    if category is not None:
        candidates = [folder / category]
        if category not in CATEGORIES and not (folder / category).is_dir():
            candidates.append(folder / resolve_category(category))
        target = next((c for c in candidates if c.is_dir()), candidates[-1])
        if not target.is_dir():
            raise MadgenError(f"{folder}: has no category folder {target.name}")
    if not 1 <= tile <= 2048 or train_count < 0 or per_split < 0:
        raise MadgenError("--tile must be within 1..2048 and --train/--per-split at least 0")
    write_png_atomic(out, category_sheet(target, train_count, per_split, tile))
    click.echo(f"wrote {out}")


@cli.group()
def defects() -> None:
    """Defect types: list them, preview one."""


_DEFECT_OPTIONS = [
    click.option("--defects", "template_files", multiple=True, type=click.Path(path_type=Path),
                 help="A YAML defect template to add (may extend a built-in type)."),
    click.option("--plugin", "plugins", multiple=True, metavar="MODULE:CLASS", help="A Python defect injector."),
]


def _with_defect_options(function):  # type: ignore[no-untyped-def]
    for option in reversed(_DEFECT_OPTIONS):
        function = option(function)
    return function


@defects.command("list")
@_with_defect_options
def defects_list(template_files: tuple[Path, ...], plugins: tuple[str, ...]) -> None:
    """Show the built-in and discovered defect types."""
    registry = load_registry(template_files, plugins)
    rows = [(entry.name, entry.template.kind, entry.origin, entry.template.description)
            for entry in (registry.get(name) for name in registry.names())]
    click.echo(format_table(("type", "kind", "from", "description"), rows))


@defects.command("preview")
@click.option("--category", default=None, help="A MAD category (01Gorilla, Gorilla, gorilla or 1).")
@click.option("--model", type=click.Path(path_type=Path), help="Any LDraw model file instead of a category.")
@click.option("--type", "defect_type", required=True, help="The defect type (see 'madgen defects list').")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the test pose and the defect.")
@click.option("--profile", default="standard", show_default=True, help="Render profile or YAML file.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a profile setting.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Output PNG.")
@click.option("--ldraw-dir", multiple=True, type=click.Path(), help=_LDRAW_DIR_HELP)
@_with_defect_options
def defects_preview(category: str | None, model: Path | None, defect_type: str, seed: int, profile: str,
                    overrides: tuple[str, ...], out: Path, ldraw_dir: tuple[str, ...], template_files: tuple[Path, ...],
                    plugins: tuple[str, ...]) -> None:
    """Write a triptych: the defect-free view, the defective view and the mask overlay."""
    registry = load_registry(template_files, plugins)
    entry = registry.get(defect_type)
    resolved = load_profile(profile, parse_overrides(overrides))
    if category is None and model is None:
        raise MadgenError("give --category or --model")
    name, assembly = load_model(category, model, _library(ldraw_dir))
    result = preview_defect(assembly, name, entry, resolved, seed, out)
    click.echo(f"wrote {out}: {entry.name} on part(s) {', '.join(map(str, result.plan.targets))}, "
               f"mask {int(result.mask.sum())} px, {result.attempts} draw(s)")


@cli.group()
def ad() -> None:
    """OmniposeAD: train a radiance field, score test images pose-agnostically, evaluate."""


DEVICE_HELP = "Torch device: auto (a CUDA GPU when there is one), cpu, cuda or cuda:N."


def _threads() -> None:
    import torch

    from .runner import cpu_count

    torch.set_num_threads(max(1, cpu_count()))


@ad.command("train")
@click.option("--data", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A MAD-Sim folder (or one category folder).")
@click.option("--category", default="", help="The category folder (01Gorilla, Gorilla, ...).")
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Run folder.")
@click.option("--test-data", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Score the same category's test/ from this dataset instead (train on one, test on another: "
                   "e.g. --data MAD-Sim --test-data MAD-Real). Its cameras must match the training views'.")
@click.option("--steps", default=FieldConfig.steps, show_default=True, help="Field training steps.")
@click.option("--resolution", default=FieldConfig.resolution, show_default=True, help="Voxels per side.")
@click.option("--train-size", default=FieldConfig.train_size, show_default=True, help="Training image size (px).")
@click.option("--smoothness", default=FieldConfig.smoothness, show_default=True,
              help="Weight of the field's colour smoothness (total-variation) prior; 0: off.")
@click.option("--appearance", default=FieldConfig.appearance, show_default=True, type=click.Choice(list(APPEARANCES)),
              help="gain: the field learns a per-channel gain for each training view beside its colour, so "
                   "views under different light (photographs) do not blur its colour; renders are neutral.")
@click.option("--pose-steps", default=PoseConfig.steps, show_default=True, help="iNeRF steps per candidate.")
@click.option("--candidates", default=PoseConfig.candidates, show_default=True, help="Retrieved poses refined.")
@click.option("--pose-rays", default=PoseConfig.rays, show_default=True, help="Rays per iNeRF step.")
@click.option("--pose-lr", default=PoseConfig.lr, show_default=True,
              help="iNeRF's learning rate (Adam, on the pose correction's 6 numbers).")
@click.option("--pose-decay", default=PoseConfig.decay, show_default=True,
              help="The learning rate's factor per 100 iNeRF steps (iNeRF's 0.8; smaller for few steps).")
@click.option("--pose-light", default=PoseConfig.light, show_default=True, type=click.Choice(list(LIGHTS)),
              help="gain: pose refinement fits the test image's exposure and white balance (a per-channel "
                   "gain on the object) at every step, for photographs under changing light.")
@click.option("--pose-retrieval", default=PoseConfig.retrieval, show_default=True, type=click.Choice(list(RETRIEVALS)),
              help="What the coarse pose is retrieved from: the training views, or the field's renders from "
                   "those cameras turned about the vertical in 15-degree steps (exposure-normalised, candidates "
                   "over 30 degrees apart); for few training views under changing light.")
@click.option("--backbone", default="lite0", show_default=True, type=click.Choice(list(BACKBONES)),
              help="Feature backbone (lite0: offline ImageNet weights; b4: needs --weights; none: RGB only).")
@click.option("--weights", default=None, type=click.Path(dir_okay=False), help="Backbone weights file.")
@click.option("--baseline/--no-baseline", default=True, show_default=True, help="Also score the PatchCore baseline.")
@click.option("--map-stages", default=AdConfig.map_stages, show_default=True,
              help="How many of the backbone's finest stages the anomaly map sums (the seed: all 5).")
@click.option("--map-sigma", default=AdConfig.map_sigma, show_default=True,
              help="Gaussian blur of the anomaly map in 224-px pixels (the seed: 4).")
@click.option("--map-views", default=AdConfig.map_views, show_default=True,
              help="Training views nearest the estimated pose used as references beside the field's render "
                   "(the seed: 0).")
@click.option("--map-rgb-weight", default=AdConfig.map_rgb_weight, show_default=True,
              help="Weight of the squared RGB difference beside the feature distance (the seed's 1, which "
                   "'madgen ad tune' chose on validation builds; 30,000 weighs colour about as much as lite0's "
                   "features).")
@click.option("--map-match", default=AdConfig.map_match, show_default=True, type=click.Choice(list(MATCHES)),
              help="Give each reference's object the test image's exposure and white balance (gain: a "
                   "per-channel gain and offset, fitted robustly) before comparing; for photographs.")
@click.option("--map-normalise", default=AdConfig.map_normalise, show_default=True,
              type=click.Choice(list(NORMALISES)),
              help="Divide the test image and every reference by their local brightness before comparing "
                   "(local: a blur of 8 px at 224), so shading from a light that moved counts for little; "
                   "for photographs.")
@click.option("--map-radius", default=AdConfig.map_radius, show_default=True,
              help="Each stage's distance is the smallest within this many of its cells (the seed: 0).")
@click.option("--seed", default=0, show_default=True, help="Seed.")
@click.option("--settings", "settings_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A YAML or JSON file of these settings by name (e.g. written by 'madgen ad tune'); "
                   "options given here win over it.")
@click.option("--force", is_flag=True, help="Retrain even when the run already has a field.")
@click.option("--device", default="auto", show_default=True, help=DEVICE_HELP)
@click.pass_context
def ad_train(ctx: click.Context, data: Path, category: str, run_dir: Path, test_data: Path | None,
             settings_file: Path | None, force: bool, device: str, **options: object) -> None:
    """Fit the radiance field to train/good with the poses in transforms.json."""
    _threads()
    from .ad.run import category_folder, check_test_data
    from .ad.run import train as ad_train_run

    root, name = category_folder(data, category)
    test_root = None
    if test_data is not None:
        test_root = str(check_test_data(root / name, test_data, name))
    config = config_from_settings(str(root), name, _ad_settings(ctx, settings_file, options), test_root)
    progress = ProgressLine("train", unit="steps")
    stats = ad_train_run(run_dir, config, lambda step, total, loss, seconds: progress(step, total, seconds), force,
                         device)
    progress.finish()
    verb = "kept the trained field" if stats.get("skipped") else "trained"
    click.echo(f"{verb}: {name}, {stats['views']} views, {stats['occupied_voxels']:,} hull voxels, train PSNR "
               f"{stats['train_psnr']:.1f} dB, {stats['seconds']:.0f} s -> {run_dir}")


def _ad_settings(ctx: click.Context, settings_file: Path | None, options: dict[str, object]) -> dict[str, object]:
    """Settings: the defaults, then ``--settings FILE``, then the options given on the command line."""
    from click.core import ParameterSource

    settings = read_settings(settings_file) if settings_file is not None else {}
    for key, value in options.items():
        if ctx.get_parameter_source(key) not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP):
            settings[key] = check_setting(key, value, "--" + key.replace("_", "-"))
    return settings


@ad.command("tune")
@click.option("--data", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A dataset root holding the validation categories.")
@click.option("--category", "categories", multiple=True, required=True,
              help="A validation category (repeat, or use commas); its val/ set is read, never test/.")
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Tuning folder: a trained field per category (kept between runs) and tune.json.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The chosen settings (YAML; JSON when it ends in .json) for 'madgen ad train --settings'.")
@click.option("--settings", "settings_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Base settings (field, pose, backbone...; as for 'madgen ad train --settings').")
@click.option("--grid", "grid_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML mapping of map_stages, map_sigma, map_views, map_radius, map_rgb_weight, map_match, "
                   "map_normalise to lists of values (default: two values each: 128 points); it may also "
                   "list candidates, pose_steps, pose_rays, pose_lr, pose_decay, pose_light and pose_retrieval "
                   "(each pose point estimates every validation pose again).")
@click.option("--tolerance", default=TOLERANCE, show_default=True, type=click.FloatRange(0.0, 1.0),
              help="With several pose points: the cheapest whose best validation image AUROC is within this "
                   "of the best is chosen.")
@click.option("--max-pose-error", default=MAX_POSE_ERROR, show_default=True, type=click.FloatRange(0.0, 180.0),
              help="With several pose points: the chosen one's median validation pose error (degrees) is at "
                   "most this (where the manifest has the true poses).")
@click.option("--device", default="auto", show_default=True, help=DEVICE_HELP)
def ad_tune(data: Path, categories: tuple[str, ...], run_dir: Path, out: Path, settings_file: Path | None,
            grid_file: Path | None, tolerance: float, max_pose_error: float, device: str) -> None:
    """Choose the anomaly map's (and optionally the pose's) settings on validation sets (val/) only; write
    them as a settings file."""
    _threads()
    from .ad.tune import POSE_KEYS, read_grid
    from .ad.tune import tune as ad_tune_run

    names = [name.strip() for value in categories for name in value.split(",") if name.strip()]
    base = read_settings(settings_file) if settings_file is not None else {}
    progress = ProgressLine("tune")
    document = ad_tune_run(data, names, run_dir, out, base, read_grid(grid_file), device, progress, tolerance,
                           max_pose_error)
    progress.finish()
    results = document["results"]
    keys = [key for key in results[0]["settings"] if len({str(r["settings"][key]) for r in results}) > 1] \
        or list(results[0]["settings"])
    posed = any(key in results[0]["settings"] for key in POSE_KEYS)

    def pose_cells(result: dict[str, object]) -> tuple[str, ...]:
        pose = result["pose"]
        error = pose["median_rotation_deg"]
        return (f"{pose['pose_seconds_per_image']:.2f}", "-" if error is None else f"{error:.2f}")

    rows = [(rank + 1, *(result["settings"][key] for key in keys),
             *(f"{result[m]:.3f}" for m in ("image_auroc", "pixel_auroc")), *(pose_cells(result) if posed else ()))
            for rank, result in enumerate(results[:8])]
    click.echo(format_table(("rank", *(k.replace("map_", "") for k in keys), "image AUROC", "pixel AUROC",
                             *(("pose s/img", "pose err deg") if posed else ())), rows))
    click.echo(f"chose {', '.join(f'{k}={v}' for k, v in document['chosen']['settings'].items())} "
               f"on the val/ sets of {', '.join(document['categories'])}; wrote {out} and {run_dir / 'tune.json'}")


@ad.command("score")
@click.option("--run", "run_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--device", default="auto", show_default=True, help=DEVICE_HELP)
def ad_score(run_dir: Path, device: str) -> None:
    """Estimate every test image's pose, render the reference, write anomaly maps (resumable)."""
    _threads()
    from .ad.run import score as ad_score_run

    progress = ProgressLine("score")
    result = ad_score_run(run_dir, progress, device)
    progress.finish()
    per_image = result["seconds_per_image"]
    click.echo(f"scored {result['scored']} image(s), {result['skipped']} already scored"
               + (f", {per_image:.1f} s per image" if per_image else "") + f" -> {run_dir / 'scores'}")


@ad.command("eval")
@click.option("--run", "run_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
def ad_eval(run_dir: Path) -> None:
    """Image AUROC, pixel AUROC, segmentation pixel AUROC and AUPRO; image AUROC by defect type (and, with a
    manifest, by mask-area and contrast tercile and outline contact, and the pose error)."""
    from .ad.run import evaluate as ad_evaluate_run

    document = ad_evaluate_run(run_dir)
    click.echo((run_dir / "metrics.md").read_text(encoding="utf-8").rstrip())
    pose = document.get("pose_error")
    if pose:
        click.echo(f"pose error: median {pose['median_rotation_deg']:.1f} deg, {100 * pose['within_5_deg']:.0f}% "
                   f"within 5 deg, median translation {pose['median_translation']:.3f}")
    click.echo(f"backbone {document['backbone']['name']}; wrote {run_dir / 'metrics.json'}")


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    click.echo(f"madgen: warning: {message}", err=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning user errors into one line on stderr."""
    warnings.showwarning = _show_warning
    try:
        cli.main(args=argv, prog_name="madgen", standalone_mode=False)
    except MadgenError as exc:
        click.echo(f"madgen: error: {exc}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("madgen: aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("madgen: interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
