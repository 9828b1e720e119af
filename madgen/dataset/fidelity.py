"""How much a dataset looks like MAD-Sim: framing and defect-size statistics per category and type.

Measured exactly as the MAD-Sim reference values were (``../shared/spec/mad-sim-format.md``, "How
MAD-Sim images look"), per test image:

- object extent: the larger side of the bounding box of the object's pixels (darkest channel under
  :data:`OBJECT_LEVEL`; the image's object silhouette under ``object_masks/`` where madgen wrote one,
  as for a ``mad-real`` build, whose background is not white) over the image side;
- object coverage: object pixels over image pixels;
- defect mask area over image area, for anomalous images (the ground-truth mask's white pixels).

Works on any folder in the MAD-Sim layout (madgen's or a download). With madgen's manifest the
report also summarises the per-image defect attributes (colour contrast, outline contact), and a
caller may add the mask-vs-changed-pixel IoU measured by re-rendering (see
:func:`madgen.usecases.defect_views.twin_mask_ious`). Pure: numpy and Pillow only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
from PIL import Image

from ..errors import MadgenError
from .manifest import MANIFEST_NAME

#: A pixel belongs to the object when its darkest channel is under this (0-255), as measured on MAD-Sim.
OBJECT_LEVEL = 235

#: MAD-Sim's values, measured on the published sample figures (20 strips of test images with masks).
MAD_SIM_REFERENCE: dict[str, float] = {
    "extent_median": 0.67, "coverage_median": 0.19,
    "mask_p10": 0.0012, "mask_p50": 0.0081, "mask_p90": 0.023,
}

#: What madgen aims for (issue #13): per category the median extent within ``extent``; over a
#: category's (or a type's) anomalous images the mask-area median within ``mask_p50``, the 90th
#: percentile at least ``mask_p90_min`` and the 10th at most ``mask_p10_max`` (shares of the image).
TARGETS: dict[str, Any] = {
    "extent": (0.60, 0.74), "mask_p50": (0.005, 0.012), "mask_p90_min": 0.015, "mask_p10_max": 0.002,
}


def object_box_statistics(rgb: np.ndarray, silhouette: np.ndarray | None = None) -> tuple[float, float]:
    """(extent, coverage) of the object in a uint8 RGB image on white (0, 0 when it has none), or of
    ``silhouette`` (a mask of the object's pixels) when given."""
    if silhouette is not None:
        objects = np.asarray(silhouette) > 127
    else:
        pixels = np.asarray(rgb)
        if pixels.ndim == 3 and pixels.shape[2] == 4:
            alpha = pixels[:, :, 3:4].astype(np.float32) / 255.0
            pixels = np.rint(pixels[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
        darkest = pixels[:, :, :3].min(axis=2) if pixels.ndim == 3 else pixels
        objects = darkest < OBJECT_LEVEL
    if not objects.any():
        return 0.0, 0.0
    rows = np.flatnonzero(objects.any(axis=1))
    cols = np.flatnonzero(objects.any(axis=0))
    height, width = objects.shape
    extent = max((rows[-1] - rows[0] + 1) / height, (cols[-1] - cols[0] + 1) / width)
    return float(extent), float(objects.mean())


def mask_fraction(mask: np.ndarray) -> float:
    """The share of the image a mask covers (pixels above 127)."""
    values = np.asarray(mask)
    if values.ndim == 3:
        values = values[:, :, 0]
    return float((values > 127).mean())


def _read(path: Path, mode: str) -> np.ndarray:
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert(mode))
    except (OSError, ValueError) as exc:
        raise MadgenError(f"{path}: unreadable image ({exc})") from None


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


@dataclass
class GroupStatistics:
    """The statistics of one group of test images (a split, a category, or everything pooled)."""

    images: int = 0
    extents: list[float] = field(default_factory=list)
    coverages: list[float] = field(default_factory=list)
    mask_areas: list[float] = field(default_factory=list)
    contrasts: list[float] = field(default_factory=list)
    outline: list[bool] = field(default_factory=list)
    ious: list[float] = field(default_factory=list)

    def add(self, other: "GroupStatistics") -> None:
        """Pool another group into this one."""
        self.images += other.images
        for name in ("extents", "coverages", "mask_areas", "contrasts", "outline", "ious"):
            getattr(self, name).extend(getattr(other, name))

    def summary(self) -> dict[str, Any]:
        """Medians and percentiles (``None`` where a group has no such values)."""
        return {
            "images": self.images,
            "extent_median": _median(self.extents),
            "coverage_median": _median(self.coverages),
            "masks": len(self.mask_areas),
            "mask_p10": _percentile(self.mask_areas, 10),
            "mask_p50": _percentile(self.mask_areas, 50),
            "mask_p90": _percentile(self.mask_areas, 90),
            "mask_min": min(self.mask_areas) if self.mask_areas else None,
            "contrast_delta_e_median": _median(self.contrasts),
            "touches_outline_share": float(np.mean(self.outline)) if self.outline else None,
            "iou_images": len(self.ious),
            "iou_mean": float(np.mean(self.ious)) if self.ious else None,
            "iou_min": float(np.min(self.ious)) if self.ious else None,
        }


def _manifest_attributes(folder: Path) -> dict[str, Mapping[str, Any]]:
    """Per image path, the defect attributes madgen's manifest records ({} without a manifest)."""
    path = folder / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        files = json.loads(path.read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(item["file"]): item["attributes"] for item in files
            if isinstance(item, dict) and isinstance(item.get("attributes"), dict) and "file" in item}


def test_splits(folder: Path) -> list[str]:
    """The test folders of a category (``good`` first, then the defect types by name)."""
    test = folder / "test"
    if not test.is_dir():
        raise MadgenError(f"{folder}: no test/ folder (not a MAD-Sim category)")
    names = sorted(p.name for p in test.iterdir() if p.is_dir())
    return (["good"] if "good" in names else []) + [n for n in names if n != "good"]


def _indexed_pngs(folder: Path) -> list[tuple[int, Path]]:
    items = []
    for path in folder.glob("*.png"):
        if path.stem.isdigit():
            items.append((int(path.stem), path))
    return sorted(items)


def category_statistics(folder: Path, ious: Mapping[str, Iterable[float]] | None = None,
                        ) -> dict[str, GroupStatistics]:
    """Statistics of one category's test images, by split (``good`` and each defect type).

    ``ious`` optionally adds measured mask IoUs per defect type.
    """
    folder = Path(folder)
    attributes = _manifest_attributes(folder)
    result: dict[str, GroupStatistics] = {}
    for split in test_splits(folder):
        group = GroupStatistics()
        for index, image_path in _indexed_pngs(folder / "test" / split):
            silhouette_path = folder / "object_masks" / "test" / split / image_path.name
            if silhouette_path.is_file():
                extent, coverage = object_box_statistics(None, _read(silhouette_path, "L"))
            else:
                extent, coverage = object_box_statistics(_read(image_path, "RGBA"))
            group.images += 1
            group.extents.append(extent)
            group.coverages.append(coverage)
            if split == "good":
                continue
            mask_path = folder / "ground_truth" / split / f"{index}_mask.png"
            if not mask_path.is_file():
                raise MadgenError(f"{mask_path}: missing mask of {image_path}")
            group.mask_areas.append(mask_fraction(_read(mask_path, "L")))
            found = attributes.get(f"test/{split}/{index}.png")
            if found is not None:
                if found.get("contrast_delta_e") is not None:
                    group.contrasts.append(float(found["contrast_delta_e"]))
                if found.get("touches_outline") is not None:
                    group.outline.append(bool(found["touches_outline"]))
        group.ious.extend(float(v) for v in (ious or {}).get(split, []))
        result[split] = group
    return result


def category_folders(root: Path) -> list[Path]:
    """``root`` itself when it is a category (has ``test/``), else its category sub-folders."""
    root = Path(root)
    if not root.is_dir():
        raise MadgenError(f"{root}: no such folder")
    if (root / "test").is_dir():
        return [root]
    folders = sorted(p for p in root.iterdir() if p.is_dir() and (p / "test").is_dir())
    if not folders:
        raise MadgenError(f"{root}: no MAD-Sim category here (a category folder has test/)")
    return folders


def check_targets(summary: Mapping[str, Any], per_category: bool) -> list[str]:
    """The targets a summary misses, as short phrases (empty when it meets them all)."""
    misses = []
    low, high = TARGETS["extent"]
    extent = summary.get("extent_median")
    if per_category and extent is not None and not low <= extent <= high:
        misses.append(f"median extent {extent:.3f} outside {low}..{high}")
    if summary.get("masks"):
        p10, p50, p90 = summary["mask_p10"], summary["mask_p50"], summary["mask_p90"]
        low, high = TARGETS["mask_p50"]
        if not low <= p50 <= high:
            misses.append(f"mask median {100 * p50:.2f}% outside {100 * low:g}..{100 * high:g}%")
        if p90 < TARGETS["mask_p90_min"]:
            misses.append(f"mask p90 {100 * p90:.2f}% under {100 * TARGETS['mask_p90_min']:g}%")
        if p10 > TARGETS["mask_p10_max"]:
            misses.append(f"mask p10 {100 * p10:.2f}% over {100 * TARGETS['mask_p10_max']:g}%")
    return misses


def dataset_report(root: Path, ious: Mapping[str, Mapping[str, Iterable[float]]] | None = None) -> dict[str, Any]:
    """The fidelity report of a dataset (or one category): per category and type, pooled, reference.

    ``ious``: per category, per defect type, measured mask IoUs to include.
    """
    categories: dict[str, Any] = {}
    pooled_all = GroupStatistics()
    pooled_types: dict[str, GroupStatistics] = {}
    for folder in category_folders(root):
        splits = category_statistics(folder, (ious or {}).get(folder.name))
        everything, anomalous = GroupStatistics(), GroupStatistics()
        types = {}
        for split, group in splits.items():
            everything.add(group)
            if split != "good":
                anomalous.add(group)
                pooled_types.setdefault(split, GroupStatistics()).add(group)
            types[split] = group.summary()
        whole = everything.summary()
        defects = anomalous.summary()
        for key in ("masks", "mask_p10", "mask_p50", "mask_p90", "mask_min", "contrast_delta_e_median",
                    "touches_outline_share", "iou_images", "iou_mean", "iou_min"):
            whole[key] = defects[key]
        whole["misses"] = check_targets(whole, per_category=True)
        categories[folder.name] = {"all": whole, "splits": types}
        pooled_all.add(everything)
    pooled = pooled_all.summary()
    pooled["misses"] = check_targets(pooled, per_category=False)
    by_type = {}
    for split, group in sorted(pooled_types.items()):
        by_type[split] = group.summary()
        by_type[split]["misses"] = check_targets(by_type[split], per_category=False)
    return {"format": "madgen-fidelity/1", "object_level": OBJECT_LEVEL, "reference": dict(MAD_SIM_REFERENCE),
            "targets": {k: (list(v) if isinstance(v, tuple) else v) for k, v in TARGETS.items()},
            "categories": categories, "pooled": pooled, "pooled_by_type": by_type}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def report_rows(report: Mapping[str, Any]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The text table of a report: header and rows (categories with their types, pooled, reference)."""
    header = ("category", "split", "images", "extent", "coverage", "mask p10", "mask p50", "mask p90",
              "dE median", "outline", "IoU mean", "IoU min")

    def row(name: str, split: str, s: Mapping[str, Any]) -> tuple[str, ...]:
        iou = s.get("iou_images")
        return (name, split, str(s["images"]), _num(s["extent_median"]), _num(s["coverage_median"]),
                _pct(s["mask_p10"]), _pct(s["mask_p50"]), _pct(s["mask_p90"]),
                _num(s.get("contrast_delta_e_median"), 1),
                "-" if s.get("touches_outline_share") is None else f"{100 * s['touches_outline_share']:.0f}%",
                _num(s.get("iou_mean")) + (f" ({iou})" if iou else ""), _num(s.get("iou_min")))

    rows = []
    for name, data in report["categories"].items():
        rows.append(row(name, "all", data["all"]))
        for split, summary in data["splits"].items():
            if split != "good":
                rows.append(row("", split, summary))
    rows.append(row("pooled", "all", report["pooled"]))
    for split, summary in report["pooled_by_type"].items():
        rows.append(row("pooled", split, summary))
    ref = report["reference"]
    rows.append(("MAD-Sim", "reference", "", _num(ref["extent_median"], 2), _num(ref["coverage_median"], 2),
                 _pct(ref["mask_p10"]), _pct(ref["mask_p50"]), _pct(ref["mask_p90"]), "", "", "", ""))
    return header, rows


def report_misses(report: Mapping[str, Any]) -> list[str]:
    """Every target the report misses, one line each, naming the category or type."""
    lines = []
    for name, data in report["categories"].items():
        lines += [f"{name}: {miss}" for miss in data["all"]["misses"]]
    lines += [f"pooled: {miss}" for miss in report["pooled"]["misses"]]
    for split, summary in report["pooled_by_type"].items():
        lines += [f"pooled/{split}: {miss}" for miss in summary["misses"]]
    return lines
