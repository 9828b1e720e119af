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


def load_rgb(path: Path, size: int | None = None) -> np.ndarray:
    """An image as float32 RGB in 0..1 on white (alpha composited), optionally resized square."""
    try:
        with Image.open(path) as image:
            rgba = image.convert("RGBA")
    except OSError as exc:
        raise MadgenError(f"{path}: unreadable image ({exc})") from None
    if size is not None and rgba.size != (size, size):
        rgba = rgba.resize((size, size), Image.Resampling.BOX)
    pixels = np.asarray(rgba, dtype=np.float32) / 255.0
    return pixels[..., :3] * pixels[..., 3:] + (1.0 - pixels[..., 3:])


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


@dataclass
class TrainingViews:
    """The posed training views: images (N, H, W, 3), camera-to-world (N, 4, 4), field of view,
    and ``digest``, the sha256 of ``transforms.json`` and every training image file."""

    images: np.ndarray
    poses: np.ndarray
    camera_angle_x: float
    files: list[str]
    digest: str = ""


def _inside(path: Path, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


def load_training(category: Path, size: int, digest: bool = True, forbid: tuple[Path, ...] = ()) -> TrainingViews:
    """Read ``transforms.json`` and its training images at ``size`` x ``size`` (and hash them
    into ``digest`` unless told not to: scoring does not need it). A frame whose image lies in
    one of the ``forbid`` folders (links resolved) is an error, before any image is read."""
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
    images, poses, files, paths = [], [], [], []
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
    for image_path in paths:
        images.append(load_rgb(image_path, size))
        if digest:
            hashed.update(file_sha256(image_path).encode())
    stacked = np.stack(images)
    _require_white_background(stacked, path)
    return TrainingViews(stacked, np.stack(poses).astype(np.float32), angle, files,
                         hashed.hexdigest() if digest else "")


#: Share of the training views' border pixels that must be near white (MAD-Sim's background).
WHITE_BORDER_SHARE = 0.5


def _require_white_background(images: np.ndarray, path: Path) -> None:
    """OmniposeAD's field carves the object out of a white background; views on a bench and a
    backdrop (a realism build) would give a field of the whole frustum and meaningless scores,
    so they are refused by what is on disk: the views' borders."""
    border = np.concatenate([images[:, :2].reshape(-1, 3), images[:, -2:].reshape(-1, 3),
                             images[:, :, :2].reshape(-1, 3), images[:, :, -2:].reshape(-1, 3)])
    share = float((border.min(axis=1) >= 0.92).mean())
    if share < WHITE_BORDER_SHARE:
        raise MadgenError(f"{path}: the training views are not on a white background (only {share:.0%} of their "
                          "border is white): madgen ad needs MAD-Sim-style renders on white; realism builds "
                          "(e.g. --profile mad-real) are not supported by the detector yet")


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
