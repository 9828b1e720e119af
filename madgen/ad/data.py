"""Reading a MAD-Sim category folder for OmniposeAD: posed training views and unposed test images.

Works on any folder in the MAD-Sim layout (madgen's or a real download). Test images are listed
by split (``good`` first, then the defect folders, by name), each with its mask path (``None``
for good images, whose mask is all zero). Nothing here reads madgen's manifest: the test poses
it records are never an input to scoring.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..dataset.digest import file_sha256
from ..errors import MadgenError
from .foreground import MIN_TOLERANCE, BackgroundRule, composite_on_white


@dataclass(frozen=True)
class TestItem:
    """One test image: its split (``good`` or a defect type), index, image path and mask path."""

    split: str
    index: int
    image: Path
    mask: Path | None

    @property
    def key(self) -> str:
        """A stable name (``Burrs/7``)."""
        return f"{self.split}/{self.index}"

    @property
    def anomalous(self) -> bool:
        """True for defect images."""
        return self.split != "good"


def _open_rgba(path: Path, size: int | None) -> np.ndarray:
    try:
        with Image.open(path) as image:
            rgba = image.convert("RGBA")
    except OSError as exc:
        raise MadgenError(f"{path}: unreadable image ({exc})") from None
    if size is not None and rgba.size != (size, size):
        rgba = rgba.resize((size, size), Image.Resampling.BOX)
    return np.asarray(rgba, dtype=np.float32) / 255.0


def load_rgb(path: Path, size: int | None = None) -> np.ndarray:
    """An image as float32 RGB in 0..1 on white (alpha composited), optionally resized square."""
    pixels = _open_rgba(path, size)
    return pixels[..., :3] * pixels[..., 3:] + (1.0 - pixels[..., 3:])


def load_rgb_alpha(path: Path, size: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`load_rgb` and the image's alpha (H, W) in 0..1, or None when it has none (or it is all opaque)."""
    pixels = _open_rgba(path, size)
    alpha = pixels[..., 3]
    rgb = pixels[..., :3] * alpha[..., None] + (1.0 - alpha[..., None])
    return rgb, (alpha if (alpha < 1.0).any() else None)


def load_coverage(path: Path, size: int | None = None) -> np.ndarray:
    """A silhouette file (``object_masks/``) as coverage (H, W) in 0..1, box-filtered to ``size``."""
    try:
        with Image.open(path) as image:
            grey = image.convert("L")
    except OSError as exc:
        raise MadgenError(f"{path}: unreadable object mask ({exc})") from None
    if size is not None and grey.size != (size, size):
        grey = grey.resize((size, size), Image.Resampling.BOX)
    return np.asarray(grey, dtype=np.float32) / 255.0


def load_mask(path: Path | None, shape: tuple[int, int]) -> np.ndarray:
    """A ground-truth mask as bool at ``shape`` (all False for ``None``)."""
    if path is None:
        return np.zeros(shape, bool)
    try:
        with Image.open(path) as image:
            mask = image.convert("L")
    except OSError as exc:
        raise MadgenError(f"{path}: unreadable mask ({exc})") from None
    if mask.size != (shape[1], shape[0]):
        mask = mask.resize((shape[1], shape[0]), Image.Resampling.NEAREST)
    return np.asarray(mask) > 127


#: madgen's object silhouettes: ``object_masks/<image path>`` beside the dataset (profile key ``object_masks``).
OBJECT_MASKS = "object_masks"
#: A learned background colour is white when every channel is at least this.
WHITE = 0.99


@dataclass
class TrainingViews:
    """The posed training views: images (N, H, W, 3) on white, camera-to-world (N, 4, 4), field
    of view, and ``digest``, the sha256 of ``transforms.json``, every training image file and
    every silhouette file read.

    ``masks`` (N, H, W) is the object's coverage in 0..1 and ``mask_source`` where it came from
    (``object_masks``, ``alpha`` or ``background``: learned from a plain background, see
    :mod:`madgen.ad.foreground`); ``raw`` holds the images as they are on disk when their
    background is not plain (``images`` then has it replaced by white through ``masks``), else None.
    """

    images: np.ndarray
    poses: np.ndarray
    camera_angle_x: float
    files: list[str]
    digest: str = ""
    masks: np.ndarray | None = None
    mask_source: str = "background"
    raw: np.ndarray | None = None
    background: BackgroundRule | None = None

    def __post_init__(self) -> None:
        if self.background is None:
            self.background = BackgroundRule.learn(self.images) if self.raw is None else None
        if self.masks is None:
            rule = self.background or BackgroundRule((1.0, 1.0, 1.0), MIN_TOLERANCE)
            self.masks = rule.foreground(self.images).astype(np.float32)

    @property
    def silhouettes(self) -> np.ndarray:
        """Boolean object masks (N, H, W): coverage at least a half."""
        assert self.masks is not None
        return self.masks >= 0.5

    @property
    def as_on_disk(self) -> np.ndarray:
        """The images with their own backgrounds (for a pose-unaware baseline)."""
        return self.images if self.raw is None else self.raw


def _inside(path: Path, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


def load_training(category: Path, size: int, digest: bool = True, forbid: tuple[Path, ...] = ()) -> TrainingViews:
    """Read ``transforms.json``, its training images at ``size`` x ``size`` and the object's
    silhouettes (hashed into ``digest`` unless told not to: scoring does not need it). A frame
    whose image lies in one of the ``forbid`` folders (links resolved) is an error, before any
    image is read.

    Silhouettes: ``object_masks/<file_path>`` for every frame when madgen wrote them, else the
    images' alpha, else a background rule learned from the views' borders. Views whose
    background is not plain need one of the first two (madgen's realism builds write
    ``object_masks/``); their backgrounds are replaced by white for the field, as on MAD-Sim."""
    path = Path(category) / "transforms.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        frames = data["frames"]
        angle = float(data["camera_angle_x"])
    except FileNotFoundError:
        raise MadgenError(f"{path}: missing; OmniposeAD trains on posed views (transforms.json)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MadgenError(f"{path}: cannot read training poses ({exc})") from None
    if not frames:
        raise MadgenError(f"{path}: no frames")
    images, alphas, poses, files, paths = [], [], [], [], []
    hashed = hashlib.sha256(path.read_bytes())
    for number, frame in enumerate(frames):
        try:
            file_path = str(frame["file_path"])
            matrix = np.asarray(frame["transform_matrix"], dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            raise MadgenError(f"{path}: frames[{number}] lacks file_path or transform_matrix") from None
        image_path = Path(category) / file_path
        if not image_path.suffix:
            image_path = image_path.with_suffix(".png")
        if matrix.shape != (4, 4):
            raise MadgenError(f"{path}: frames[{number}]: transform_matrix is not 4x4")
        for folder in forbid:
            if _inside(image_path, folder):
                raise MadgenError(f"{path}: frames[{number}]: {file_path} lies in {folder}, which may not be read here")
        paths.append(image_path)
        poses.append(matrix)
        files.append(file_path)
    mask_paths = [Path(category) / OBJECT_MASKS / p.relative_to(Path(category)) for p in paths] \
        if all(p.resolve().is_relative_to(Path(category).resolve()) for p in paths) else []
    present = [m.is_file() for m in mask_paths]
    if any(present) and not all(present):
        missing = mask_paths[present.index(False)]
        raise MadgenError(f"{missing}: missing, while other training views have their silhouette in "
                          f"{OBJECT_MASKS}/; rebuild the category or remove {OBJECT_MASKS}/")
    use_masks = bool(mask_paths) and all(present)
    for image_path in paths:
        rgb, alpha = load_rgb_alpha(image_path, size)
        images.append(rgb)
        alphas.append(alpha)
        if digest:
            hashed.update(file_sha256(image_path).encode())
    stacked = np.stack(images)
    if use_masks:
        coverage = []
        for mask_path in mask_paths:
            coverage.append(load_coverage(mask_path, size))
            if digest:
                hashed.update(file_sha256(mask_path).encode())
        masks, source = np.stack(coverage), OBJECT_MASKS
    elif all(alpha is not None for alpha in alphas):
        masks, source = np.stack(alphas), "alpha"  # the images are already composited onto white
    else:
        masks, source = None, "background"
    rule = BackgroundRule.learn(stacked)
    raw = None
    if masks is None and rule is None:
        raise MadgenError(f"{path}: the training views are not on a plain background (their borders vary) "
                          f"and have no silhouettes ({OBJECT_MASKS}/ or alpha): madgen ad cannot tell the object "
                          "from its background; build with --set object_masks=true")
    if rule is None or min(rule.colour) < WHITE:
        # the field composites onto white, as MAD-Sim's renders are: put the views there too
        if masks is None:
            assert rule is not None
            masks = rule.foreground(stacked).astype(np.float32)
        raw, stacked = stacked, composite_on_white(stacked, masks)
        rule = BackgroundRule.learn(stacked)
    return TrainingViews(stacked, np.stack(poses).astype(np.float32), angle, files,
                         hashed.hexdigest() if digest else "", masks, source, raw, rule)


def _refuse(path: Path, forbid: tuple[Path, ...]) -> None:
    for folder in forbid:
        if _inside(path, folder):
            raise MadgenError(f"{path}: lies in {folder} (links resolved), which may not be read here")


def test_items(category: Path, forbid: tuple[Path, ...] = ()) -> list[TestItem]:
    """Every test image of a category: ``good`` first, then defect folders by name. With
    ``forbid``, a folder, image or mask that lies in one of those folders (links resolved) is an
    error before it is listed or read (``madgen ad tune`` reads ``val/`` and never ``test/``)."""
    test = Path(category) / "test"
    _refuse(test, forbid)
    if not test.is_dir():
        raise MadgenError(f"{test}: missing")
    splits = sorted((p.name for p in test.iterdir() if p.is_dir()), key=lambda n: (n != "good", n))
    items = []
    for split in splits:
        _refuse(test / split, forbid)
        files = [p for p in (test / split).glob("*.png") if p.stem.isdigit()]
        for image in sorted(files, key=lambda p: int(p.stem)):
            _refuse(image, forbid)
            mask = None
            if split != "good":
                mask = Path(category) / "ground_truth" / split / f"{image.stem}_mask.png"
                _refuse(mask, forbid)
                if not mask.is_file():
                    raise MadgenError(f"{mask}: missing mask of {image}")
            items.append(TestItem(split, int(image.stem), image, mask))
    if not items:
        raise MadgenError(f"{test}: no test images")
    return items
