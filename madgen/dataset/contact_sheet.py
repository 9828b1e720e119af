"""Contact sheets: a labelled grid of tiles, and ``madgen preview`` of one category folder.

The category sheet shows evenly spaced training views, then for each test folder a few
images; anomalous ones carry their mask as a red overlay. It reads any MAD-Sim folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..errors import MadgenError
from .images import overlay_mask

LABEL_HEIGHT = 16


def grid(tiles: list[np.ndarray], columns: int, labels: list[str] | None = None) -> np.ndarray:
    """Tiles of equal size in rows of ``columns``, each with an optional label below it."""
    if not tiles:
        raise MadgenError("nothing to put on the contact sheet")
    height, width = tiles[0].shape[:2]
    label_height = LABEL_HEIGHT if labels else 0
    rows = (len(tiles) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * width, rows * (height + label_height)), "white")
    draw = ImageDraw.Draw(sheet)
    for number, tile in enumerate(tiles):
        x, y = (number % columns) * width, (number // columns) * (height + label_height)
        sheet.paste(Image.fromarray(tile), (x, y))
        if labels:
            draw.text((x + 4, y + height + 2), labels[number], fill=(40, 40, 40))
    return np.asarray(sheet)


def _numbered(folder: Path, suffix: str = ".png") -> list[Path]:
    files = [p for p in folder.glob(f"*{suffix}") if p.name[: -len(suffix)].isdigit()] if folder.is_dir() else []
    return sorted(files, key=lambda p: int(p.name[: -len(suffix)]))


def _spread(items: list[Path], count: int) -> list[Path]:
    if len(items) <= count:
        return items
    return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)] if count > 1 else items[:1]


def _tile(path: Path, size: int, mask_path: Path | None = None) -> np.ndarray:
    try:
        with Image.open(path) as image:
            rgba = image.convert("RGBA")
    except OSError as exc:
        raise MadgenError(f"{path}: unreadable image ({exc})") from None
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    rgb = np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    if mask_path is not None and mask_path.is_file():
        with Image.open(mask_path) as mask:
            rgb = overlay_mask(rgb, np.asarray(mask.convert("L").resize(rgba.size)) > 127,
                               outline=max(1, round(rgba.size[0] / size)))
    return np.asarray(Image.fromarray(rgb).resize((size, size), Image.Resampling.LANCZOS))


def category_sheet(category: Path, train_count: int = 12, per_split: int = 6, tile: int = 160) -> np.ndarray:
    """The preview sheet of one category folder (see the module docstring)."""
    category = Path(category)
    train = _spread(_numbered(category / "train" / "good"), train_count)
    if not train and not (category / "test").is_dir():
        raise MadgenError(f"{category}: no train/good or test images to preview")
    tiles = [_tile(p, tile) for p in train]
    labels = [f"train {p.stem}" for p in train]
    columns = max(per_split, 6)
    while len(tiles) % columns:
        tiles.append(np.full((tile, tile, 3), 255, np.uint8))
        labels.append("")
    splits = sorted(p.name for p in (category / "test").iterdir() if p.is_dir()) if (category / "test").is_dir() else []
    splits.sort(key=lambda name: (name != "good", name))
    for split in splits:
        images = _spread(_numbered(category / "test" / split), per_split)
        for path in images:
            mask = None if split == "good" else category / "ground_truth" / split / f"{path.stem}_mask.png"
            tiles.append(_tile(path, tile, mask))
            labels.append(f"{split} {path.stem}")
        while len(tiles) % columns:
            tiles.append(np.full((tile, tile, 3), 255, np.uint8))
            labels.append("")
    return grid(tiles, columns, labels)
