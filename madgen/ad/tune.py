"""``madgen ad tune``: choose the anomaly map's settings on validation builds only.

For each validation category the field is trained once (``RUN/<category>/``, kept between runs
like ``madgen ad train``'s), every image of the category's validation set (``val/test/<split>``
with masks in ``val/ground_truth``, written by ``madgen build --val-good N --val-per-defect M``)
gets its pose estimated and its references rendered once, and the backbone features of the image
and of every reference are computed once. Every point of the grid is then only arithmetic on
those: the same sums, minimum and blur as :func:`madgen.ad.anomaly.anomaly_map` (the maps are
identical; tested), normalised and scored as ``madgen ad eval`` does.

Nothing here reads a category's ``test/`` or ``ground_truth/``: the validation items and the
training files are listed with those two folders forbidden, links resolved, so a ``val/`` that is
(or links into) the test set is an error before anything in it is read.

The grid (``DEFAULT_GRID``, or ``--grid FILE``) covers first the settings that need neither a new
field nor new poses, the seven by which madgen's map departs from the seed's: stages, blur, extra
reference views, alignment radius, RGB weight, colour matching of the references, and the light
normalisation of both images. Its corners are the seed's map (5 stages, sigma 4, no extra views,
radius 0, weight 1, no matching, no normalisation) and madgen's (3, 2, 2, 1, 30,000, gain,
local); the defaults (3, 2, 2, 1, 1, none, none) are what this sweep chose on validation builds of
Bird and Gorilla (it later preferred normalising on Bird, Gorilla and Zalika, which the README
explains is not the default). A grid may also list pose settings (``POSE_KEYS``:
candidates, iNeRF steps, rays per step, learning rate and its decay, the light model and what the
coarse pose is retrieved from), as lists to combine or as explicit points
(``pose_points``, for sweeps whose product would be too dear); every pose point estimates every
validation pose again (the map points are then arithmetic on it), and records the poses' median
error against the manifest's true poses and the seconds they took. Field settings come from
``--settings`` (or the defaults) and are not swept: each value would cost a training.

The choice: the highest mean validation image AUROC over the categories; ties (within 1e-9) go
to the higher mean pixel AUROC, then to the point with the fewest settings changed from the base,
then to grid order. With more than one pose point, the pose point is the cheapest (candidates x
steps x rays) whose best map point is within ``tolerance`` of the best image AUROC and whose
median pose error is at most ``max_pose_error`` degrees (scoring time is what fewer pose steps
buy; AUROC differences smaller than the tolerance are not resolved by a few hundred images), with
its best map point. The chosen settings (all of them, base included) are written as a settings
file for ``madgen ad train --settings``, with what was tried under ``tuned``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
import yaml

from .. import __version__
from ..dataset.atomic import write_bytes_atomic, write_json_atomic
from ..errors import MadgenError
from .anomaly import MAP_SIZE, _chw, gaussian_smooth, normalised
from .config import (MAX_POSE_ERROR, TOLERANCE, AdConfig, check_setting, config_from_settings,
                     default_settings)
from .data import TestItem, load_mask, test_items
from .device import resolve_device
from .features import FeatureExtractor, aligned_distance
from .metrics import PixelMetrics, auroc
from .pose import rotation_error_deg
from .slices import read_manifest_records
from .run import (References, Stopwatch, category_folder, load_field, matched_references, pose_and_references,
                  train, true_pose)

#: The folder of a category's validation set (``madgen build --val-good/--val-per-defect``).
VAL = "val"
#: The map's swept settings, in the order grid points are enumerated.
GRID_KEYS = ("map_stages", "map_sigma", "map_views", "map_radius", "map_rgb_weight", "map_match", "map_normalise")
#: Pose settings a grid may sweep (each point estimates every validation pose again).
POSE_KEYS = ("candidates", "pose_steps", "pose_rays", "pose_lr", "pose_decay", "pose_light", "pose_retrieval")
SWEPT_KEYS = POSE_KEYS + GRID_KEYS
#: A grid key listing pose points one by one (mappings of some of ``POSE_KEYS``) instead of combining lists.
POSE_POINTS = "pose_points"
DEFAULT_GRID: dict[str, list[Any]] = {
    "map_stages": [3, 5],
    "map_sigma": [2.0, 4.0],
    "map_views": [0, 2],
    "map_radius": [0, 1],
    "map_rgb_weight": [1.0, 30000.0],
    "map_match": ["none", "gain"],
    "map_normalise": ["none", "local"],
}
OBJECTIVE = ("highest mean validation image AUROC over the categories; ties (1e-9): higher mean pixel AUROC, "
             "then fewest settings changed from the base, then grid order. Several pose points: the cheapest "
             "(candidates x steps x rays) whose best image AUROC is within the tolerance of the best and whose "
             "median pose error is within the limit (ties: higher image AUROC), with its best map point")
METRICS = ("image_auroc", "pixel_auroc", "segmentation_pixel_auroc", "aupro")

Progress = Callable[[int, int, float], None]


def read_grid(path: Path | None) -> dict[str, list[Any]]:
    """The grid: ``DEFAULT_GRID``, or a YAML/JSON mapping of some of ``SWEPT_KEYS`` to lists of values
    (map keys left out keep the default list; pose keys left out keep the base settings' value)."""
    if path is None:
        return {key: list(values) for key, values in DEFAULT_GRID.items()}
    from ..yamlfile import read_yaml_mapping

    data = read_yaml_mapping(Path(path))
    grid: dict[str, list[Any]] = {key: list(values) for key, values in DEFAULT_GRID.items()}
    for key, values in data.items():
        name = str(key).replace("-", "_")
        if name == POSE_POINTS:
            grid[name] = _pose_points(path, values)
            continue
        if name not in SWEPT_KEYS:
            raise MadgenError(f"{path}: unknown key '{key}' (a grid sweeps {', '.join(SWEPT_KEYS)}; or lists "
                              f"{POSE_POINTS})")
        if not isinstance(values, list) or not values:
            raise MadgenError(f"{path}: key '{name}': expected a non-empty list of values")
        checked = [check_setting(name, value, str(path)) for value in values]
        grid[name] = list(dict.fromkeys(checked))
    listed = [key for key in POSE_KEYS if key in data or key.replace("_", "-") in data]
    if POSE_POINTS in grid and listed:
        raise MadgenError(f"{path}: key '{POSE_POINTS}' and key '{listed[0]}': give pose points either as a list "
                          "or as lists of values to combine, not both")
    return grid


def _pose_points(path: Path, values: Any) -> list[dict[str, Any]]:
    """A grid file's explicit pose points: a non-empty list of mappings of some of ``POSE_KEYS``."""
    if not isinstance(values, list) or not values:
        raise MadgenError(f"{path}: key '{POSE_POINTS}': expected a non-empty list of mappings of "
                          f"{', '.join(POSE_KEYS)}")
    points = []
    for number, point in enumerate(values):
        where = f"{path}: key '{POSE_POINTS}[{number}]'"
        if not isinstance(point, dict) or not point:
            raise MadgenError(f"{where}: expected a mapping of some of {', '.join(POSE_KEYS)}")
        checked = {}
        for key, value in point.items():
            name = str(key).replace("-", "_")
            if name not in POSE_KEYS:
                raise MadgenError(f"{where}: unknown key '{key}' (a pose point sets {', '.join(POSE_KEYS)})")
            checked[name] = check_setting(name, value, f"{path}: {POSE_POINTS}[{number}]")
        points.append(checked)
    return points


def grid_points(grid: Mapping[str, Sequence[Any]], keys: Sequence[str] = GRID_KEYS) -> list[dict[str, Any]]:
    """Every combination of ``keys``' values, in their order (the last key varies fastest)."""
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def pose_work(settings: Mapping[str, Any]) -> int:
    """What a pose point costs per image, in rays rendered: candidates x steps x rays (the light
    model and the retrieval do not change it; points of equal work go to the higher image AUROC)."""
    return int(settings["candidates"]) * int(settings["pose_steps"]) * int(settings["pose_rays"])


def validation_items(folder: Path) -> list[TestItem]:
    """The validation images of a category folder, with ``test/`` and ``ground_truth/`` forbidden."""
    folder = Path(folder)
    val = folder / VAL
    forbid = (folder / "test", folder / "ground_truth")
    if not (val / "test").is_dir():
        raise MadgenError(f"{val / 'test'}: missing; tuning reads only a validation set "
                          "('madgen build --val-good N --val-per-defect M' writes one)")
    items = test_items(val, forbid=forbid)
    if not any(item.split == "good" for item in items) or all(item.split == "good" for item in items):
        raise MadgenError(f"{val / 'test'}: a validation set needs good and defective images")
    return items


@dataclass
class MatchedParts:
    """An image's :class:`Parts` per ``map_match`` and ``map_normalise`` value of the grid."""

    split: str
    by_match: dict[tuple[str, str], "Parts"]
    image: np.ndarray
    mask: np.ndarray


@dataclass
class Parts:
    """What a validation image's maps are made of, for every grid point: per radius and per
    reference, the squared RGB difference at 224 px and each stage's aligned feature distance at
    its own resolution; the image (uint8, for the object box) and its mask."""

    split: str
    rgb: dict[int, list[torch.Tensor]]
    stages: dict[int, list[list[torch.Tensor]]]
    image: np.ndarray
    mask: np.ndarray


def image_parts(extractor: FeatureExtractor, observed: np.ndarray, references: Sequence[np.ndarray],
                stages: int, radii: Sequence[int], split: str, mask: np.ndarray,
                observed_features: list[torch.Tensor] | None = None) -> Parts:
    """The parts of one image (see :class:`Parts`), each computed as ``anomaly_map`` does
    (``observed_features``: the image's ``stages`` features when already computed)."""
    image = _chw(observed).to(extractor.device)
    if observed_features is None:
        observed_features = extractor(image[None], stages)
    rgb: dict[int, list[torch.Tensor]] = {r: [] for r in radii}
    per_stage: dict[int, list[list[torch.Tensor]]] = {r: [] for r in radii}
    for reference in references:
        other = _chw(reference).to(extractor.device)
        reference_features = extractor(other[None], stages) if observed_features else []
        for radius in radii:
            rgb[radius].append(aligned_distance(image[None], other[None], radius)[0, 0])
            per_stage[radius].append([aligned_distance(a, b, radius)
                                      for a, b in zip(observed_features, reference_features)])
    return Parts(split, rgb, per_stage, (observed * 255).astype(np.uint8), mask)


def combine(parts: "Parts | MatchedParts", point: Mapping[str, Any]) -> np.ndarray:
    """The anomaly map of one grid point from an image's parts (``anomaly_map``'s arithmetic)."""
    if isinstance(parts, MatchedParts):
        parts = parts.by_match[(point.get("map_match", "none"), point.get("map_normalise", "none"))]
    radius, views = int(point["map_radius"]), int(point["map_views"])
    references = parts.rgb[radius][:1 + views]
    best: torch.Tensor | None = None
    for number, rgb in enumerate(references):
        total = point["map_rgb_weight"] * rgb
        stage_maps = parts.stages[radius][number][:int(point["map_stages"])]
        if stage_maps:
            features = torch.zeros(rgb.shape, device=rgb.device)
            for difference in stage_maps:
                features += F.interpolate(difference, size=rgb.shape, mode="bilinear", align_corners=False)[0, 0]
            total = total + features
        best = total if best is None else torch.minimum(best, total)
    assert best is not None
    return gaussian_smooth(best.cpu().numpy(), float(point["map_sigma"]))


def point_metrics(all_parts: Sequence["Parts | MatchedParts"], point: Mapping[str, Any]) -> dict[str, float]:
    """``madgen ad eval``'s four metrics of one grid point on a category's validation images."""
    maps = [combine(parts, point) for parts in all_parts]
    low = float(min(m.min() for m in maps))
    high = float(max(m.max() for m in maps))
    high = high if high > low else low + 1.0
    labels = np.array([parts.split != "good" for parts in all_parts])
    pixels = PixelMetrics()
    for values, parts in zip(maps, all_parts):
        pixels.add((values - low) / (high - low), parts.mask, parts.image)
    scores = np.array([((m - low) / (high - low)).max() for m in maps])
    return {"image_auroc": auroc(scores, labels), "pixel_auroc": pixels.pixel_auroc(),
            "segmentation_pixel_auroc": pixels.segmentation_auroc(), "aupro": pixels.aupro()}


def category_parts(folder: Path, config: AdConfig, run: Path, grid: Mapping[str, Sequence[Any]], device: str,
                   progress: Callable[[], None] | None = None
                   ) -> tuple[list[MatchedParts], dict[str, Any], dict[str, Any]]:
    """Train (or keep) the category's field in ``run`` and compute the parts of every validation
    image; also the poses' errors (where the manifest has the true poses) and seconds."""
    folder = Path(folder)
    forbid = (folder / "test", folder / "ground_truth", folder / VAL)
    items = validation_items(folder)
    stats = train(run, config, device=device, forbid=forbid)
    where = resolve_device(device)
    field_ = load_field(run / "field.pt", where)
    extractor = FeatureExtractor(config.backbone, config.weights, where)
    most_views = max(grid["map_views"])
    refs = References.load(folder, config, bool(most_views), forbid, field_)
    truths = _true_poses(folder, items)
    parts, errors, clock = [], [], Stopwatch()
    for item in items:
        referenced = pose_and_references(field_, item.image, refs, config, most_views, clock)
        estimate, observed = referenced.estimate, referenced.observed
        if item.key in truths:
            errors.append(rotation_error_deg(estimate.pose, truths[item.key]))
        mask = load_mask(item.mask, (MAP_SIZE, MAP_SIZE))
        stages = max(grid["map_stages"])
        radii = sorted(set(grid["map_radius"]))
        by_match = {}
        for normalise in dict.fromkeys(grid["map_normalise"]):
            shown, = normalised([observed], normalise)
            features = extractor(_chw(shown).to(extractor.device)[None], stages)
            for match in dict.fromkeys(grid["map_match"]):
                references = normalised(matched_references(referenced, match), normalise)
                by_match[(match, normalise)] = image_parts(extractor, shown, references, stages, radii, item.split,
                                                           mask, features)
        parts.append(MatchedParts(item.split, by_match, (observed * 255).astype(np.uint8), mask))
        if progress is not None:
            progress()
    summary = {"validation_images": len(items), "good": sum(not i.anomalous for i in items),
               "anomalous": sum(i.anomalous for i in items), "data_sha256": stats["data_sha256"],
               "occupied_voxels": stats["occupied_voxels"], "train_psnr": round(float(stats["train_psnr"]), 3)}
    pose = {"pose_seconds_per_image": clock.seconds.get("pose", 0.0) / max(1, len(items)),
            "median_rotation_deg": float(np.median(errors)) if errors else None,
            "within_5_deg": float(np.mean(np.array(errors) <= 5.0)) if errors else None,
            "rotation_deg": errors}
    return parts, summary, pose


def _true_poses(folder: Path, items: Sequence[TestItem]) -> dict[str, np.ndarray]:
    """The validation images' true camera-to-world poses from the category's manifest (none without one)."""
    records = read_manifest_records(folder).records
    if records is None:
        return {}
    truths = {item.key: true_pose(records, f"{VAL}/test/{item.split}/{item.index}.png", folder) for item in items}
    return {key: pose for key, pose in truths.items() if pose is not None}


def _changes(point: Mapping[str, Any], base: Mapping[str, Any]) -> int:
    return sum(point[key] != base[key] for key in point)


def choose(results: list[dict[str, Any]], base: Mapping[str, Any], tolerance: float = TOLERANCE,
           max_pose_error: float = MAX_POSE_ERROR) -> list[dict[str, Any]]:
    """``results`` (each with ``settings``, ``image_auroc``, ``pixel_auroc``, in grid order; with
    pose points, ``pose`` with ``median_rotation_deg``) ranked by the objective: the chosen first,
    the rest by AUROC."""
    def key(entry: tuple[int, dict[str, Any]]) -> tuple[float, float, int, int]:
        order, result = entry
        return (-round(result["image_auroc"], 9), -round(result["pixel_auroc"], 9),
                _changes(result["settings"], base), order)

    ranked = [result for _, result in sorted(enumerate(results), key=key)]
    tops: dict[tuple[Any, ...], tuple[int, dict[str, Any]]] = {}
    for rank, result in enumerate(ranked):
        pose = tuple(result["settings"].get(k, base.get(k)) for k in POSE_KEYS)
        tops.setdefault(pose, (rank, result))
    if len(tops) <= 1:
        return ranked
    best = ranked[0]["image_auroc"]
    close = [(rank, result) for rank, result in tops.values() if result["image_auroc"] >= best - tolerance - 1e-9]

    def accurate(result: dict[str, Any]) -> bool:
        error = result.get("pose", {}).get("median_rotation_deg")
        return error is None or error <= max_pose_error

    eligible = [entry for entry in close if accurate(entry[1])] or close
    _, pick = min(eligible, key=lambda entry: (pose_work(base | entry[1]["settings"]), entry[0]))
    return [pick] + [result for result in ranked if result is not pick]


def tune(data: Path, categories: Sequence[str], run: Path, out: Path, base: Mapping[str, Any] | None = None,
         grid: Mapping[str, Sequence[Any]] | None = None, device: str = "auto",
         progress: Progress | None = None, tolerance: float = TOLERANCE,
         max_pose_error: float = MAX_POSE_ERROR) -> dict[str, Any]:
    """Sweep ``grid`` on the validation sets of ``categories`` under ``data``; write the chosen
    settings to ``out`` (YAML, or JSON by its suffix) and everything tried to ``RUN/tune.json``."""
    import time

    if not categories:
        raise MadgenError("give at least one --category to tune on")
    base_settings = default_settings() | dict(base or {})
    grid = {key: list(values) for key, values in (grid or DEFAULT_GRID).items()}
    swept_pose = any(key in grid for key in (*POSE_KEYS, POSE_POINTS))
    for key in SWEPT_KEYS:  # a grid that leaves a key out keeps the base's value
        grid.setdefault(key, [base_settings[key]])
    map_points = grid_points(grid)
    if POSE_POINTS in grid:
        pose_points = [{key: point.get(key, base_settings[key]) for key in POSE_KEYS} for point in grid[POSE_POINTS]]
        pose_points = [dict(p) for p in dict.fromkeys(tuple(p.items()) for p in pose_points)]
    else:
        pose_points = grid_points(grid, POSE_KEYS)
    folders: dict[str, tuple[Path, str]] = {}
    for category in categories:
        root, name = category_folder(Path(data), category)
        if name in folders:
            raise MadgenError(f"--category {category}: {name} given twice")
        folders[name] = (root, name)
    totals = {name: len(validation_items(root / name)) for name, (root, _) in folders.items()}
    done, started = 0, time.perf_counter()

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, sum(totals.values()) * len(pose_points), time.perf_counter() - started)

    summaries: dict[str, Any] = {}
    results = []
    for pose_point in pose_points:
        per_category: dict[str, list[dict[str, float]]] = {}
        poses: dict[str, dict[str, Any]] = {}
        for name, (root, _) in folders.items():
            config = config_from_settings(str(root), name, base_settings | pose_point | {"baseline": False})
            parts, summaries[name], poses[name] = category_parts(root / name, config, Path(run) / name, grid, device,
                                                                  tick)
            per_category[name] = [point_metrics(parts, point) for point in map_points]
            del parts
        errors = [error for pose in poses.values() for error in pose["rotation_deg"]]
        images = sum(totals.values())
        pose_summary = {
            "work": pose_work(base_settings | pose_point),
            "pose_seconds_per_image": sum(p["pose_seconds_per_image"] * totals[n] for n, p in poses.items()) / images,
            "median_rotation_deg": float(np.median(errors)) if errors else None,
            "within_5_deg": float(np.mean(np.array(errors) <= 5.0)) if errors else None,
            "per_category": {name: {k: v for k, v in pose.items() if k != "rotation_deg"}
                             for name, pose in poses.items()}}
        for number, point in enumerate(map_points):
            scores = {name: per_category[name][number] for name in folders}
            results.append({"settings": (pose_point if swept_pose else {}) | point,
                            **{metric: float(np.mean([s[metric] for s in scores.values()])) for metric in METRICS},
                            "per_category": scores, "pose": pose_summary})
    ranked = choose(results, base_settings, tolerance, max_pose_error)
    chosen = base_settings | ranked[0]["settings"]
    document = {"by": f"madgen {__version__} ad tune", "data": str(Path(data).expanduser().resolve()),
                "categories": summaries, "split": f"{VAL}/test (never test/)", "objective": OBJECTIVE,
                "tolerance": tolerance, "max_pose_error_deg": max_pose_error,
                "base": base_settings, "grid": grid, "chosen": ranked[0], "results": ranked}
    write_json_atomic(Path(run) / "tune.json", document)
    write_settings(out, chosen, document)
    return document


def _rounded(value: Any) -> Any:
    """Floats to 6 decimals; a mapping's too (its per-category detail left out: tune.json has it)."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items() if key != "per_category"}
    return value


def write_settings(path: Path, settings: Mapping[str, Any], provenance: Mapping[str, Any]) -> None:
    """A settings file for ``madgen ad train --settings``: every setting, then ``tuned``."""
    summary = {key: value for key, value in provenance.items() if key not in ("results", "chosen")}
    summary["results"] = [{key: _rounded(value) for key, value in result.items() if key != "per_category"}
                          for result in provenance.get("results", [])]
    summary["details"] = "every category's metrics per point: tune.json in the tuning run folder"
    body = dict(settings) | {"tuned": summary}
    path = Path(path)
    if path.suffix.lower() == ".json":
        text = json.dumps(body, indent=2) + "\n"
    else:
        text = ("# Written by 'madgen ad tune'; 'madgen ad train --settings THIS_FILE' reads it (the\n"
                "# 'tuned' block is provenance and is ignored).\n"
                + yaml.safe_dump(body, sort_keys=False, default_flow_style=None, width=120))
    write_bytes_atomic(path, text.encode("utf-8"))
