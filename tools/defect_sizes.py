"""Make the README's defect-size picture: each defect type at a small, a typical and a large size.

    python tools/defect_sizes.py MAD-Sim/06Bird MAD-Sim/01Gorilla --out docs/defect_sizes.png [--tile 240]

Reads madgen-built categories (any number; the images are pooled per type), ranks each type's test
images by mask area and shows the ones at the 10th, 50th and 90th percentile, with the mask's
outline in red and its share of the image under each tile.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from madgen.dataset.contact_sheet import grid
from madgen.dataset.fidelity import category_folders, test_splits
from madgen.dataset.images import write_png_atomic

PERCENTILES = (10, 50, 90)
NAMES = ("small", "typical", "large")


def outlined(image_path: Path, mask_path: Path, tile: int) -> np.ndarray:
    """The image with its mask's outline in red, resized to ``tile``."""
    with Image.open(image_path) as image:
        rgb = np.asarray(image.convert("RGB")).copy()
    with Image.open(mask_path) as mask:
        binary = (np.asarray(mask.convert("L")) > 127).astype(np.uint8)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    width = max(1, round(rgb.shape[0] / tile))
    cv2.drawContours(rgb, contours, -1, (230, 20, 20), width)
    return np.asarray(Image.fromarray(rgb).resize((tile, tile), Image.Resampling.LANCZOS))


def main() -> None:
    """Pick the images and write the picture."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/defect_sizes.png"))
    parser.add_argument("--tile", type=int, default=240)
    args = parser.parse_args()
    pooled: dict[str, list[tuple[float, Path, Path]]] = {}
    for root in args.folders:
        for folder in category_folders(root):
            for split in test_splits(folder):
                if split == "good":
                    continue
                for image in (folder / "test" / split).glob("*.png"):
                    mask = folder / "ground_truth" / split / f"{image.stem}_mask.png"
                    with Image.open(mask) as opened:
                        area = float((np.asarray(opened.convert("L")) > 127).mean())
                    pooled.setdefault(split, []).append((area, image, mask))
    tiles, labels = [], []
    for split in sorted(pooled):
        ranked = sorted(pooled[split], key=lambda item: (item[0], str(item[1])))
        for percentile, name in zip(PERCENTILES, NAMES):
            area, image, mask = ranked[min(len(ranked) - 1, int(round(percentile / 100 * (len(ranked) - 1))))]
            tiles.append(outlined(image, mask, args.tile))
            labels.append(f"{split}, {name}: {100 * area:.2f}% ({image.parent.parent.parent.name})")
    write_png_atomic(args.out, grid(tiles, len(PERCENTILES), labels))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
