"""``madgen ad train | score | eval``: OmniposeAD under one run directory, each step resumable.

RUN/
  config.json             data folder, category, field/pose/backbone settings (written by train)
  field.pt, train.json    the trained field and its training statistics (kept while the field
                          settings and the training files' content are unchanged)
  scores/<split>/<i>.npz  per test image: raw anomaly map (224 x 224), the baseline's map, the
                          estimated pose and its photometric loss, the reference render and the
                          training views also used as references (kept while the settings, the
                          field file and the image's content are unchanged)
  heatmaps/<split>/<i>.png  the map, min-max normalised over the category's test set
  metrics.json, metrics.csv, metrics.md   (eval)

Scoring never reads ``manifest.json``: it sees what a user of the real MAD-Sim sees (posed
training views, unposed test images). ``eval`` reads the manifest, when there is one, only to
report the pose error and the image AUROC by defect attribute afterwards (``slices``).
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import cv2
import numpy as np
import torch

from ..categories import resolve_category
from ..dataset.atomic import write_bytes_atomic, write_json_atomic
from ..dataset.digest import file_sha256
from ..dataset.images import png_bytes
from ..errors import MadgenError
from .anomaly import MAP_SIZE, anomaly_map, heat_map_rgb, match_colour
from .config import AdConfig
from .data import OBJECT_MASKS, TestItem, TrainingViews, load_mask, load_rgb, load_rgb_alpha, load_training, test_items
from .device import describe, resolve_device
from .features import FeatureExtractor
from .field import VoxelField
from .foreground import composite_on_white, segment
from .metrics import BOOTSTRAP_RESAMPLES, PixelMetrics, auroc, bootstrap_aurocs, interval
from .patchcore import PatchCore
from .pose import (PoseResult, bank_poses, estimate_pose, nearest_views, normalised_colour, refine, rotation_error_deg,
                   thumbnails, translation_error)
from .rays import pixel_directions, world_rays
from .slices import attribute_slices, image_attributes, read_manifest_records, slices_markdown
from .train import fit_field

Progress = Callable[[int, int, float], None]

#: Bumped when the field's training changes in a way its settings do not show (a kept field
#: trained by an older rule is trained again). 2: silhouettes from object_masks/, alpha or a
#: background rule learned from the data instead of a fixed level. 3: transmittance summed in
#: float64 (the field is also stored as its support table, which changes no value).
FIELD_VERSION = 3
#: The same for scores (part of every score's key). 2: test images on a background that is not
#: plain are segmented, and their references laid over their own background.
SCORING_VERSION = 2


def category_folder(data: Path, category: str) -> tuple[Path, str]:
    """(dataset root, category folder name) for ``--data`` and ``--category`` (01Gorilla, Gorilla, ...)."""
    data = Path(data).expanduser().resolve()
    if (data / "transforms.json").is_file() and (category in ("", data.name)):
        return data.parent, data.name
    if (data / category).is_dir():
        return data, category
    try:
        name = resolve_category(category)
    except MadgenError:
        name = category
    if (data / name).is_dir():
        return data, name
    raise MadgenError(f"--data {data}: no category folder {category!r} (known: "
                      f"{', '.join(sorted(p.name for p in data.iterdir() if p.is_dir())) or 'none'})")


def _camera_angle(path: Path) -> float | None:
    try:
        return float(json.loads(path.read_text(encoding="utf-8"))["camera_angle_x"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MadgenError(f"{path}: cannot read camera_angle_x ({exc})") from None


def check_test_data(category: Path, test_data: Path, name: str) -> Path:
    """The dataset root whose ``name`` category's ``test/`` is scored instead of ``category``'s
    (``--test-data``): it must hold that category with a ``test/`` folder, and where it has its
    own ``transforms.json`` the camera (``camera_angle_x``) must be the training views' one, since
    a test pose is estimated with the training camera."""
    root = Path(test_data).expanduser().resolve()
    folder = root / name
    if not (folder / "test").is_dir():
        raise MadgenError(f"--test-data {root}: no {name}/test folder")
    train_angle = _camera_angle(Path(category) / "transforms.json")
    test_angle = _camera_angle(folder / "transforms.json")
    if train_angle is not None and test_angle is not None and abs(train_angle - test_angle) > 1e-6:
        raise MadgenError(f"--test-data {folder / 'transforms.json'}: camera_angle_x {test_angle:.6f} differs "
                          f"from the training views' {train_angle:.6f} ({Path(category) / 'transforms.json'})")
    return root


def _read_config(run: Path) -> AdConfig:
    path = Path(run) / "config.json"
    try:
        return AdConfig.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise MadgenError(f"{path}: missing; run 'madgen ad train --run {run}' first") from None
    except (OSError, ValueError, TypeError) as exc:
        raise MadgenError(f"{path}: cannot read run config ({exc})") from None


def _save_field(path: Path, field_: VoxelField) -> None:
    buffer = io.BytesIO()
    torch.save({"low": field_.low, "high": field_.high, "occupancy": field_.occupancy,
                "state": field_.state_dict()}, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def load_field(path: Path, device: torch.device | str = "cpu") -> VoxelField:
    """A field saved by ``train``, on ``device``."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as exc:
        raise MadgenError(f"{path}: cannot read the field ({exc}); re-run 'madgen ad train'") from None
    field_ = VoxelField(saved["low"].numpy(), saved["high"].numpy(), saved["occupancy"].numpy())
    field_.load_state_dict(saved["state"])
    field_.eval()
    field_.requires_grad_(False)  # a trained field is only read (pose refinement optimises the pose)
    return field_.to(device)


def train(run: Path, config: AdConfig, progress: Callable[[int, int, float, float], None] | None = None,
          force: bool = False, device: str = "auto", forbid: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Fit the field on ``device`` (``auto``, ``cpu``, ``cuda``...; skipped when RUN already holds
    one trained with the same settings on the same training files: ``transforms.json`` and the
    images, by content). Training images in a ``forbid`` folder are an error (``tune``)."""
    where = resolve_device(device)
    run = Path(run)
    stats_path = run / "train.json"
    views = load_training(config.folder, config.field.train_size, forbid=forbid)
    if not force and stats_path.is_file() and (run / "field.pt").is_file():
        previous = json.loads(stats_path.read_text(encoding="utf-8"))
        if (previous.get("field") == config.field.to_dict() and previous.get("category") == config.category
                and previous.get("data_sha256") == views.digest and previous.get("version") == FIELD_VERSION):
            write_json_atomic(run / "config.json", config.to_dict())
            return previous | {"skipped": True}
    FeatureExtractor(config.backbone, config.weights)  # fail on missing weights before training
    field_, stats = fit_field(views, config.field, progress, where)
    run.mkdir(parents=True, exist_ok=True)
    _save_field(run / "field.pt", field_.cpu())
    stats = {"category": config.category, "field": config.field.to_dict(), "data_sha256": views.digest,
             "version": FIELD_VERSION,
             "views": len(views.images), "device": describe(where), **stats}
    write_json_atomic(stats_path, stats)
    write_json_atomic(run / "config.json", config.to_dict())
    return stats


def render_image(field_: VoxelField, pose: np.ndarray, size: int, camera_angle_x: float,
                 chunk: int = 16384) -> np.ndarray:
    """The field's image (size, size, 3) on white at a camera-to-world ``pose`` (rendered on the field's device)."""
    return render_with_opacity(field_, pose, size, camera_angle_x, chunk)[0]


def render_with_opacity(field_: VoxelField, pose: np.ndarray, size: int, camera_angle_x: float,
                        chunk: int = 16384) -> tuple[np.ndarray, np.ndarray]:
    """The field's image (size, size, 3) on white and its opacity (size, size) at ``pose``."""
    device = field_.low.device
    directions = pixel_directions(size, camera_angle_x, device=device)
    origins, world = world_rays(torch.tensor(pose, dtype=torch.float32, device=device), directions)
    colours, opacities = [], []
    with torch.no_grad():
        for i in range(0, len(world), chunk):
            rgb, opacity = field_.render(origins[i:i + chunk], world[i:i + chunk])
            colours.append(rgb)
            opacities.append(opacity)
    image = torch.cat(colours).reshape(size, size, 3).clamp(0, 1).cpu().numpy()
    return image, torch.cat(opacities).reshape(size, size).clamp(0, 1).cpu().numpy()


def _npz_bytes(**arrays: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _score_path(run: Path, item: TestItem) -> Path:
    return Path(run) / "scores" / item.split / f"{item.index}.npz"


@dataclass
class References:
    """What scoring needs from the training views, read once: the views at the pose size, their
    colour and silhouette thumbnails, and (when references or the baseline need them) the views
    at 224 px."""

    views: TrainingViews
    thumbs: np.ndarray
    shapes: np.ndarray
    views_224: TrainingViews | None
    #: the poses of ``thumbs``: the training views', or with ``pose.retrieval`` renders a render
    #: bank's (whose ``thumbs`` are then normalised, :func:`pose.normalised_colour`)
    poses: np.ndarray

    @classmethod
    def load(cls, folder: Path, config: AdConfig, with_224: bool, forbid: tuple[Path, ...] = (),
             field_: VoxelField | None = None) -> "References":
        """Read ``folder``'s training views for scoring with ``config`` (and, with
        ``pose.retrieval`` renders, render ``field_``'s retrieval bank)."""
        views = load_training(folder, config.pose.size, digest=False, forbid=forbid)
        assert views.masks is not None
        views_224 = load_training(folder, MAP_SIZE, digest=False, forbid=forbid) if with_224 else None
        if config.pose.retrieval == "renders":
            if field_ is None:
                raise ValueError("pose retrieval from renders needs the field")
            poses = bank_poses(views.poses)
            rendered = [render_with_opacity(field_, pose, config.pose.size, views.camera_angle_x) for pose in poses]
            shapes = thumbnails(np.stack([r[1] for r in rendered]), config.pose.thumbnail)
            colour = normalised_colour(thumbnails(np.stack([r[0] for r in rendered]), config.pose.thumbnail), shapes)
            return cls(views, colour, shapes, views_224, poses)
        return cls(views, thumbnails(views.images, config.pose.thumbnail),
                   thumbnails(views.masks, config.pose.thumbnail), views_224, views.poses)


def _resize(array: np.ndarray, size: int) -> np.ndarray:
    return cv2.resize(np.ascontiguousarray(array, np.float32), (size, size), interpolation=cv2.INTER_AREA)


class Stopwatch:
    """Seconds spent per phase of scoring (what ``score`` records per image, to profile it)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        """Charge the time since the previous lap (or the start) to ``phase``."""
        now = time.perf_counter()
        self.seconds[phase] = self.seconds.get(phase, 0.0) + now - self._last
        self._last = now


@dataclass
class Referenced:
    """A test image with what its anomaly map compares it to: the estimated pose, the image at
    224 px, the references (the field's render at that pose, then the nearest training views),
    those views' indexes, and each reference's object opacity (for :func:`matched_references`)."""

    estimate: PoseResult
    observed: np.ndarray
    references: list[np.ndarray]
    neighbours: np.ndarray
    opacities: list[np.ndarray]


def pose_and_references(field_: VoxelField, image: Path, refs: References, config: AdConfig,
                        view_count: int, clock: Stopwatch | None = None) -> Referenced:
    """A test image's estimated pose and its references, with ``view_count`` training views
    nearest to the pose (see :class:`Referenced`).

    A test image on the training views' plain background (MAD-Sim's white) is used as it is. On
    any other background (a bench, a backdrop) the object is segmented (GrabCut, then again
    around the field's render at the estimated pose, which is refined once more), the pose is
    estimated on the object laid on white, and every reference is laid over the test image's own
    background, so a background that differs from the training views' is never read as anomaly."""
    clock = clock or Stopwatch()
    views = refs.views
    rule = views.background
    observed, alpha = load_rgb_alpha(image, MAP_SIZE)
    small, small_alpha = load_rgb_alpha(image, config.pose.size)
    clock.lap("read")
    plain = alpha is not None or (rule is not None and rule.plain(observed))
    if plain:
        if small_alpha is not None:
            foreground = small_alpha
        else:
            foreground = (rule.foreground(small) if rule is not None else np.ones(small.shape[:2], bool))
        foreground = foreground.astype(np.float32)
        estimate = estimate_pose(field_, small, foreground, refs.thumbs, refs.shapes, refs.poses,
                                 views.camera_angle_x, config.pose)
    else:
        coverage = _resize(segment(observed).astype(np.float32), config.pose.size)
        estimate = estimate_pose(field_, composite_on_white(small, coverage), coverage, refs.thumbs, refs.shapes,
                                 refs.poses, views.camera_angle_x, config.pose)
        _, opacity = render_with_opacity(field_, estimate.pose, MAP_SIZE, views.camera_angle_x)
        coverage = _resize(segment(observed, opacity >= 0.5).astype(np.float32), config.pose.size)
        pose, loss = refine(field_, composite_on_white(small, coverage), estimate.pose, views.camera_angle_x,
                            config.pose, coverage >= 0.5)
        estimate = PoseResult(pose, loss, estimate.start_index)
    clock.lap("pose")
    reference, opacity = render_with_opacity(field_, estimate.pose, MAP_SIZE, views.camera_angle_x)
    clock.lap("render")
    neighbours = nearest_views(estimate.pose, views.poses, view_count)
    others = [refs.views_224.images[i] for i in neighbours] if refs.views_224 is not None else []
    opacities = [opacity] + ([refs.views_224.masks[i] for i in neighbours]  # type: ignore[index]
                             if refs.views_224 is not None and refs.views_224.masks is not None
                             else [np.ones(opacity.shape, np.float32)] * len(others))
    if not plain:
        assert refs.views_224 is None or refs.views_224.masks is not None
        behind = observed - 1.0  # the test image's background, as a change from white
        reference = reference + (1.0 - opacity)[..., None] * behind
        others = [view + (1.0 - refs.views_224.masks[i])[..., None] * behind  # type: ignore[union-attr]
                  for view, i in zip(others, neighbours)]
    return Referenced(estimate, observed, [reference] + others, neighbours, opacities)


def matched_references(referenced: Referenced, match: str) -> list[np.ndarray]:
    """The references the map compares the test image with: as they are (``match`` none), or each
    object given the test image's exposure and white balance (gain; :func:`anomaly.match_colour`)."""
    if match == "none":
        return referenced.references
    return [match_colour(reference, opacity, referenced.observed)
            for reference, opacity in zip(referenced.references, referenced.opacities)]


def score(run: Path, progress: Progress | None = None, device: str = "auto") -> dict[str, Any]:
    """Score on ``device`` every test image not yet scored with the run's settings, field and
    that image's content (a test image or field that changed is scored again); then write heat maps."""
    run = Path(run)
    where = resolve_device(device)
    config = _read_config(run)
    field_ = load_field(run / "field.pt", where)
    items = test_items(config.test_folder)
    setting = f"{config.scoring_key()}:v{SCORING_VERSION}:{file_sha256(run / 'field.pt')[:16]}"
    keys = {item.key: f"{setting}:{file_sha256(item.image)[:16]}" for item in items}
    todo = []
    for item in items:
        path = _score_path(run, item)
        try:
            with np.load(path) as saved:
                if str(saved["key"]) == keys[item.key]:
                    continue
        except (OSError, KeyError, ValueError):
            pass
        todo.append(item)
    started = time.perf_counter()
    seconds: list[float] = []
    if todo:
        extractor = FeatureExtractor(config.backbone, config.weights, where)
        refs = References.load(config.folder, config, bool(config.map_views or config.baseline), field_=field_)
        baseline = None
        if config.baseline and extractor.model is not None:
            assert refs.views_224 is not None  # the baseline learns the views as they are on disk
            baseline = PatchCore(extractor, refs.views_224.as_on_disk, config.bank_size, seed=config.field.seed)
        for number, item in enumerate(todo):
            began = time.perf_counter()
            clock = Stopwatch()
            referenced = pose_and_references(field_, item.image, refs, config, config.map_views, clock)
            estimate, observed, neighbours = referenced.estimate, referenced.observed, referenced.neighbours
            references = matched_references(referenced, config.map_match)
            reference = references[0]
            values = anomaly_map(extractor, observed, references, config.map_stages, config.map_sigma,
                                 config.map_radius, config.map_rgb_weight, config.map_normalise)
            clock.lap("map")
            arrays: dict[str, Any] = {
                "key": np.array(keys[item.key]), "map": values.astype(np.float32),
                "pose": estimate.pose, "pose_loss": np.array(estimate.loss),
                "start_index": np.array(estimate.start_index), "reference": (reference * 255).astype(np.uint8),
                "reference_views": neighbours.astype(np.int64),
            }
            if baseline is not None:
                arrays["baseline"] = baseline.anomaly_map(observed).astype(np.float32)
                clock.lap("baseline")
            elapsed = time.perf_counter() - began
            arrays["seconds"] = np.array(elapsed)
            arrays["phases"] = np.array(json.dumps(clock.seconds, sort_keys=True))
            arrays["device"] = np.array(describe(where))
            write_bytes_atomic(_score_path(run, item), _npz_bytes(**arrays))
            seconds.append(elapsed)
            if progress is not None:
                progress(number + 1, len(todo), time.perf_counter() - started)
    _write_heat_maps(run, items)
    return {"scored": len(todo), "skipped": len(items) - len(todo),
            "seconds_per_image": float(np.mean(seconds)) if seconds else None}


def _load_scores(run: Path, items: list[TestItem]) -> list[dict[str, np.ndarray]]:
    loaded = []
    for item in items:
        path = _score_path(run, item)
        try:
            with np.load(path) as saved:
                loaded.append({name: saved[name] for name in saved.files})
        except (OSError, ValueError):
            raise MadgenError(f"{path}: missing; run 'madgen ad score --run {run}'") from None
    return loaded


def _bounds(maps: list[np.ndarray]) -> tuple[float, float]:
    low = float(min(m.min() for m in maps))
    high = float(max(m.max() for m in maps))
    return low, high if high > low else low + 1.0


def _write_heat_maps(run: Path, items: list[TestItem]) -> None:
    scores = _load_scores(run, items)
    low, high = _bounds([s["map"] for s in scores])
    for item, saved in zip(items, scores):
        normalised = (saved["map"] - low) / (high - low)
        write_bytes_atomic(Path(run) / "heatmaps" / item.split / f"{item.index}.png",
                           png_bytes(heat_map_rgb(normalised)))


def true_pose(records: Mapping[str, Mapping[str, Any]], name: str, folder: Path) -> np.ndarray | None:
    """The true camera-to-world pose (4, 4) the manifest ``records`` (of ``folder``) give image
    ``name``, or None where it has none; a malformed one is an error naming the file and image."""
    record = records.get(name)
    if record is None or "pose" not in record:
        return None
    try:
        return np.asarray(record["pose"]["matrix"], dtype=np.float64).reshape(4, 4)
    except (KeyError, TypeError, ValueError):
        raise MadgenError(f"{Path(folder) / 'manifest.json'}: {name}: key 'pose.matrix': expected a 4x4 matrix") from None


def _pose_errors(config: AdConfig, items: list[TestItem], scores: list[dict[str, np.ndarray]]) -> dict[str, Any] | None:
    files = read_manifest_records(config.test_folder).records
    if files is None:
        return None
    rotations, translations, per_image = [], [], {}
    for item, saved in zip(items, scores):
        truth = true_pose(files, f"test/{item.split}/{item.index}.png", config.test_folder)
        if truth is None:
            continue
        rotation, translation = rotation_error_deg(saved["pose"], truth), translation_error(saved["pose"], truth)
        rotations.append(rotation)
        translations.append(translation)
        per_image[item.key] = {"rotation_deg": rotation, "translation": translation}
    if not rotations:
        return None
    return {"median_rotation_deg": float(np.median(rotations)), "mean_rotation_deg": float(np.mean(rotations)),
            "median_translation": float(np.median(translations)),
            "within_5_deg": float(np.mean(np.array(rotations) <= 5.0)), "per_image": per_image}


def _image_scores(maps: list[np.ndarray]) -> np.ndarray:
    """Each image's score: the maximum of its map, min-max normalised over the test set."""
    low, high = _bounds(maps)
    return np.array([((m - low) / (high - low)).max() for m in maps])


def _method_metrics(items: list[TestItem], maps: list[np.ndarray], image_scores: np.ndarray,
                    images: list[np.ndarray], masks: list[np.ndarray]) -> dict[str, float]:
    low, high = _bounds(maps)
    normalised = [(m - low) / (high - low) for m in maps]
    labels = np.array([item.anomalous for item in items])
    pixels = PixelMetrics()
    for anomaly, image, mask in zip(normalised, images, masks):
        pixels.add(anomaly, mask, (image * 255).astype(np.uint8))
    result = {"image_auroc": auroc(image_scores, labels) if labels.any() and not labels.all() else float("nan"),
              "pixel_auroc": pixels.pixel_auroc(), "segmentation_pixel_auroc": pixels.segmentation_auroc(),
              "aupro": pixels.aupro()}
    return result


def _image_auroc_intervals(items: list[TestItem], image_scores: dict[str, np.ndarray]) -> dict[str, Any]:
    """How far each method's image AUROC could move by chance on this many test images: its 95%
    interval over stratified bootstrap resamples (:func:`metrics.bootstrap_aurocs`), and with two
    methods the paired interval of their difference (the first minus the second). Empty when the
    test set lacks good or anomalous images."""
    labels = np.array([item.anomalous for item in items])
    if not labels.any() or labels.all():
        return {}
    names = list(image_scores)
    resampled = bootstrap_aurocs([image_scores[name] for name in names], labels)
    differences = ({f"{names[0]} - {names[1]}": list(interval(resampled[:, 0] - resampled[:, 1]))}
                   if len(names) == 2 else {})
    return {"image_auroc_ci95": {name: list(interval(resampled[:, k])) for k, name in enumerate(names)},
            "image_auroc_difference_ci95": differences}


def _box_image(folder: Path, item: TestItem) -> np.ndarray:
    """What the segmentation metric's object box is found in: the test image at 224 px, or, where
    madgen wrote the image's silhouette (``object_masks/``), that silhouette as black on white
    (exact on any background; on a bench the image's own non-white pixels are everywhere)."""
    silhouette = Path(folder) / OBJECT_MASKS / "test" / item.split / item.image.name
    if silhouette.is_file():
        covered = load_mask(silhouette, (MAP_SIZE, MAP_SIZE))
        return np.where(covered[..., None], 0.0, 1.0) * np.ones(3, np.float32)
    return load_rgb(item.image, MAP_SIZE)


def evaluate(run: Path) -> dict[str, Any]:
    """Compute the metrics of a scored run and write metrics.json, metrics.csv and metrics.md."""
    run = Path(run)
    config = _read_config(run)
    items = test_items(config.test_folder)
    scores = _load_scores(run, items)
    images = [_box_image(config.test_folder, item) for item in items]
    masks = [load_mask(item.mask, (MAP_SIZE, MAP_SIZE)) for item in items]
    if not any(mask.any() for mask in masks):
        raise MadgenError(f"{config.test_folder}: no anomalous pixels in the test set; cannot evaluate")
    extractor = FeatureExtractor(config.backbone, config.weights)
    method_maps = {"OmniposeAD": [s["map"] for s in scores]}
    if all("baseline" in s for s in scores):
        method_maps["PatchCore (pose-unaware)"] = [s["baseline"] for s in scores]
    image_scores = {name: _image_scores(maps) for name, maps in method_maps.items()}
    methods = {name: _method_metrics(items, maps, image_scores[name], images, masks)
               for name, maps in method_maps.items()}
    spread = _image_auroc_intervals(items, image_scores)
    attributes, note = image_attributes(
        config.test_folder, [f"test/{item.split}/{item.index}.png" if item.anomalous else None for item in items])
    by_attribute = attribute_slices([item.split for item in items], image_scores, attributes, note)
    seconds = [float(s["seconds"]) for s in scores if "seconds" in s]
    devices = sorted({str(s["device"]) for s in scores if "device" in s})
    phases: dict[str, list[float]] = {}
    for saved in scores:
        if "phases" in saved:
            for phase, value in json.loads(str(saved["phases"])).items():
                phases.setdefault(phase, []).append(float(value))
    stats_path = run / "train.json"
    train_stats = json.loads(stats_path.read_text(encoding="utf-8")) if stats_path.is_file() else {}
    document = {
        "category": config.category, "data": config.data, "test_data": config.test_data or config.data,
        "test_images": len(items),
        "anomalous_images": int(sum(item.anomalous for item in items)),
        "backbone": asdict(extractor.info), "methods": methods, **spread,
        "image_auroc_by_attribute": by_attribute,
        "pose_error": _pose_errors(config, items, scores),
        "train_seconds": train_stats.get("seconds"), "train_device": train_stats.get("device"),
        "score_seconds_per_image": float(np.mean(seconds)) if seconds else None, "score_devices": devices,
        "score_seconds_by_phase": {phase: float(np.mean(values)) for phase, values in sorted(phases.items())} or None,
        "config": config.to_dict(),
    }
    write_json_atomic(run / "metrics.json", document)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = ["image_auroc", "pixel_auroc", "segmentation_pixel_auroc", "aupro"]
    writer.writerow(["category", "method", *names])
    for method, values in methods.items():
        writer.writerow([config.category, method, *(f"{values[n]:.4f}" for n in names)])
    write_bytes_atomic(run / "metrics.csv", buffer.getvalue().encode("utf-8"))
    lines = ["| category | method | image AUROC | pixel AUROC | seg. pixel AUROC | AUPRO@0.3 |",
             "|---|---|---:|---:|---:|---:|"]
    for method, values in methods.items():
        lines.append(f"| {config.category} | {method} | " + " | ".join(f"{values[n]:.3f}" for n in names) + " |")
    if spread:
        lines += ["", f"Image AUROC, 95% interval over {BOOTSTRAP_RESAMPLES:,} stratified bootstrap resamples of "
                      "these test images: " + "; ".join(f"{name} {low:.3f}-{high:.3f}" for name, (low, high)
                                                          in spread["image_auroc_ci95"].items())
                  + "".join(f"; {name}: {low:+.3f} to {high:+.3f}" for name, (low, high)
                            in spread["image_auroc_difference_ci95"].items()) + "."]
    lines += ["", *slices_markdown(config.category, by_attribute)]
    write_bytes_atomic(run / "metrics.md", ("\n".join(lines) + "\n").encode("utf-8"))
    return document



