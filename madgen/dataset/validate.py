"""``madgen validate``: check any folder against the MAD-Sim layout (ours or a real download).

Every problem is reported with its path: an unknown folder, a file name that is not ``<int>.png``,
an unreadable or non-RGB image, a missing or orphan mask, a mask that is not single-channel
0/255 or not the image's size, and a ``transforms.json`` that is unreadable, malformed, or has a
frame that points nowhere or a training image it does not list. madgen's ``object_masks/`` (object
silhouettes at the image's path, e.g. ``object_masks/train/good/3.png``) is checked the same way
when present: one binary single-channel mask of the image's size for every image.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import MadgenError

IMAGE_NAME = re.compile(r"^(0|[1-9][0-9]*)\.png$")
MASK_NAME = re.compile(r"^(0|[1-9][0-9]*)_mask\.png$")
CATEGORY_FOLDERS = {"train", "test", "ground_truth"}
CATEGORY_FILES = {"transforms.json", "manifest.json"}
#: madgen's validation set (``--val-good``/``--val-per-defect``): ``val/test`` and ``val/ground_truth``
#: laid out like the test split; PAD's loaders never look there.
VAL_FOLDER = "val"
#: madgen's object silhouettes (profile key ``object_masks``): ``object_masks/<image path>``.
OBJECT_MASKS_FOLDER = "object_masks"


@dataclass
class ValidationReport:
    """Categories, images and masks checked, and every problem found."""

    categories: list[str] = field(default_factory=list)
    images: int = 0
    masks: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


def _is_category(folder: Path) -> bool:
    return (folder / "train").is_dir() or (folder / "test").is_dir()


def find_categories(root: Path) -> list[Path]:
    """``root`` when it is a category folder, else its category sub-folders (sorted)."""
    root = Path(root)
    if not root.is_dir():
        raise MadgenError(f"{root}: no such folder")
    if _is_category(root):
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and _is_category(p))


def _open(path: Path, problems: list[str]) -> Image.Image | None:
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy() if image.format == "PNG" else _not_png(path, image.format, problems)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        problems.append(f"{path}: unreadable image ({exc})")
        return None


def _not_png(path: Path, kind: str | None, problems: list[str]) -> None:
    problems.append(f"{path}: not a PNG (it is {kind})")
    return None


def _listing(folder: Path, pattern: re.Pattern[str], problems: list[str]) -> dict[int, Path]:
    found = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        match = pattern.match(path.name)
        if path.is_dir():
            problems.append(f"{path}: unexpected folder")
        elif match is None:
            example = "0.png" if pattern is IMAGE_NAME else "0_mask.png"
            problems.append(f"{path}: unexpected file (expected names like {example})")
        else:
            found[int(match.group(1))] = path
    return found


def _check_images(folder: Path, report: ValidationReport) -> dict[int, tuple[int, int]]:
    sizes = {}
    for index, path in _listing(folder, IMAGE_NAME, report.problems).items():
        report.images += 1
        image = _open(path, report.problems)
        if image is None:
            continue
        if image.mode not in ("RGB", "RGBA"):
            report.problems.append(f"{path}: mode {image.mode}, expected RGB (or RGBA)")
        sizes[index] = image.size
    return sizes


def _check_masks(folder: Path, images: dict[int, tuple[int, int]], image_folder: Path,
                 report: ValidationReport) -> None:
    masks = _listing(folder, MASK_NAME, report.problems) if folder.is_dir() else {}
    for index in sorted(set(images) - set(masks)):
        report.problems.append(f"{folder / f'{index}_mask.png'}: missing mask of {image_folder / f'{index}.png'}")
    for index in sorted(set(masks) - set(images)):
        report.problems.append(f"{masks[index]}: mask without an image ({image_folder / f'{index}.png'} is absent)")
    for index in sorted(set(masks) & set(images)):
        path = masks[index]
        report.masks += 1
        image = _open(path, report.problems)
        if image is None:
            continue
        if image.mode not in ("L", "1"):
            report.problems.append(f"{path}: mode {image.mode}, expected single-channel (L)")
            continue
        if image.size != images[index]:
            report.problems.append(f"{path}: size {image.size[0]}x{image.size[1]} differs from the image's "
                                   f"{images[index][0]}x{images[index][1]}")
        values = np.unique(np.asarray(image.convert("L")))
        if not set(values.tolist()) <= {0, 255}:
            report.problems.append(f"{path}: not binary (values other than 0 and 255, e.g. "
                                   f"{[int(v) for v in values if v not in (0, 255)][:3]})")


def _check_transforms(category: Path, train: dict[int, tuple[int, int]], report: ValidationReport) -> None:
    path = category / "transforms.json"
    if not path.is_file():
        report.problems.append(f"{path}: missing (training poses)")
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        report.problems.append(f"{path}: unreadable ({exc})")
        return
    if not isinstance(data, dict) or not isinstance(data.get("camera_angle_x"), (int, float)):
        report.problems.append(f"{path}: camera_angle_x missing or not a number")
    frames = data.get("frames") if isinstance(data, dict) else None
    if not isinstance(frames, list):
        report.problems.append(f"{path}: frames missing or not a list")
        return
    listed = set()
    for number, frame in enumerate(frames):
        where = f"{path}: frames[{number}]"
        if not isinstance(frame, dict) or not isinstance(frame.get("file_path"), str):
            report.problems.append(f"{where}: file_path missing")
            continue
        matrix = frame.get("transform_matrix")
        try:
            ok = np.asarray(matrix, dtype=np.float64).shape == (4, 4) and np.isfinite(np.asarray(matrix, float)).all()
        except (TypeError, ValueError):
            ok = False
        if not ok:
            report.problems.append(f"{where}: transform_matrix is not a finite 4x4 matrix")
        target = category / frame["file_path"]
        if not target.is_file():
            report.problems.append(f"{where}: file_path {frame['file_path']!r} points nowhere")
        listed.add(frame["file_path"])
    for index in sorted(train):
        if f"train/good/{index}.png" not in listed:
            report.problems.append(f"{category / 'train/good' / f'{index}.png'}: not listed in transforms.json")


def _check_test_tree(test_root: Path, truth_root: Path, report: ValidationReport) -> None:
    """Check a test tree: image folders under ``test_root``, each defect's masks under ``truth_root``."""
    defect_folders: set[str] = set()
    if not test_root.is_dir():
        report.problems.append(f"{test_root}: missing")
    else:
        for entry in sorted(test_root.iterdir()):
            if entry.name.startswith("."):
                continue
            if not entry.is_dir():
                report.problems.append(f"{entry}: unexpected file (test holds folders)")
                continue
            sizes = _check_images(entry, report)
            if not sizes and not any(p.name.endswith(".png") for p in entry.iterdir()):
                report.problems.append(f"{entry}: holds no images")
            if entry.name != "good":
                defect_folders.add(entry.name)
                _check_masks(truth_root / entry.name, sizes, entry, report)
    if truth_root.is_dir():
        for entry in sorted(truth_root.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.name == "good":
                report.problems.append(f"{entry}: unexpected (good images have no masks)")
            elif entry.name not in defect_folders:
                report.problems.append(f"{entry}: no matching test/{entry.name} folder")


def validate_category(category: Path, report: ValidationReport) -> None:
    """Check one category folder, adding its problems to ``report``."""
    report.categories.append(category.name)
    for entry in sorted(category.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and entry.name not in CATEGORY_FOLDERS | {VAL_FOLDER, OBJECT_MASKS_FOLDER}:
            report.problems.append(f"{entry}: unknown folder (expected train, test, ground_truth; val for "
                                   "madgen's validation set, object_masks for its object silhouettes)")
        elif entry.is_file() and entry.name not in CATEGORY_FILES and not entry.name.endswith((".json", ".txt", ".md")):
            report.problems.append(f"{entry}: unexpected file")
    train: dict[int, tuple[int, int]] = {}
    train_root = category / "train"
    if not (train_root / "good").is_dir():
        report.problems.append(f"{train_root / 'good'}: missing")
    if train_root.is_dir():
        for entry in sorted(train_root.iterdir()):
            if entry.name == "good" and entry.is_dir():
                train = _check_images(entry, report)
            elif not entry.name.startswith("."):
                report.problems.append(f"{entry}: unknown entry (train holds only good/)")
    _check_test_tree(category / "test", category / "ground_truth", report)
    validation = category / VAL_FOLDER
    if validation.is_dir():
        for entry in sorted(validation.iterdir()):
            if not entry.name.startswith(".") and entry.name not in ("test", "ground_truth"):
                report.problems.append(f"{entry}: unknown entry (val holds test/ and ground_truth/)")
        _check_test_tree(validation / "test", validation / "ground_truth", report)
    _check_transforms(category, train, report)
    if (category / OBJECT_MASKS_FOLDER).is_dir():
        _check_object_masks(category, report)


def _check_object_masks(category: Path, report: ValidationReport) -> None:
    """Every image has its silhouette under ``object_masks/`` (binary, single channel, same size) and
    every silhouette has its image."""
    root = category / OBJECT_MASKS_FOLDER
    images = {str(p.relative_to(category)) for top in ("train", "test", VAL_FOLDER) if (category / top).is_dir()
              for p in (category / top).rglob("*.png") if IMAGE_NAME.match(p.name) and "ground_truth" not in p.parts}
    masks = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")}
    for name in sorted(images - masks):
        report.problems.append(f"{root / name}: missing object mask of {category / name}")
    for name in sorted(masks - images):
        report.problems.append(f"{root / name}: object mask without an image ({category / name} is absent)")
    for name in sorted(masks & images):
        path = root / name
        report.masks += 1
        mask = _open(path, report.problems)
        image = _open(category / name, [])
        if mask is None:
            continue
        if mask.mode not in ("L", "1"):
            report.problems.append(f"{path}: mode {mask.mode}, expected single-channel (L)")
            continue
        if image is not None and mask.size != image.size:
            report.problems.append(f"{path}: size {mask.size[0]}x{mask.size[1]} differs from the image's "
                                   f"{image.size[0]}x{image.size[1]}")
        values = np.unique(np.asarray(mask.convert("L")))
        if not set(values.tolist()) <= {0, 255}:
            report.problems.append(f"{path}: not binary (values other than 0 and 255)")


def validate(root: Path) -> ValidationReport:
    """Validate a category folder or every category folder under a dataset root."""
    categories = find_categories(Path(root))
    if not categories:
        raise MadgenError(f"{root}: no MAD-Sim category folder here (expected train/ and test/ in it or in "
                          "its sub-folders)")
    report = ValidationReport()
    for category in categories:
        validate_category(category, report)
    return report
