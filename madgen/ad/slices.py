"""Image AUROC by defect attribute: per defect type, mask-area tercile, contrast tercile and
outline contact, each slice's anomalous images against ALL good images.

The defect type is the test folder, so that slice exists for any MAD-Sim folder. The others
need the per-image ``attributes`` that madgen's ``manifest.json`` records for each anomalous
image (``mask_fraction``, ``contrast_delta_e``, ``touches_outline``; see
``madgen/defects/attributes.py``); a real MAD-Sim download has no manifest, and then only a
one-line note says so. Only the on-disk manifest is read here, never madgen's build code.

Terciles: the anomalous images' values are cut at their 1/3 and 2/3 quantiles (numpy's default
linear interpolation); a value equal to a cut falls in the lower group, so equal values always
share a group (groups can then differ in size, or be empty: AUROC ``None``). Each slice records
the range of values it holds.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import MadgenError
from .metrics import auroc

#: The attributes the slices use, with the kind each must be.
ATTRIBUTE_KINDS = {"mask_fraction": "number", "contrast_delta_e": "number", "touches_outline": "bool"}
TERCILES = {"mask_fraction": ("mask area", ("small", "medium", "large")),
            "contrast_delta_e": ("contrast", ("low", "medium", "high"))}


@dataclass(frozen=True)
class ManifestAttributes:
    """What the manifest says about a category's images: ``records`` (file path -> record), or
    ``None`` with ``note`` saying why there is nothing to read."""

    records: dict[str, Mapping[str, Any]] | None
    note: str | None = None


def read_manifest_records(folder: Path) -> ManifestAttributes:
    """The file records of ``folder/manifest.json`` by path (``test/Burrs/0.png``); ``records`` is
    ``None`` when there is no manifest (a real MAD-Sim download). A manifest that is there but
    malformed is an error naming the file."""
    path = Path(folder) / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ManifestAttributes(None, "no manifest.json (e.g. a real MAD-Sim download)")
    except (OSError, ValueError) as exc:
        raise MadgenError(f"{path}: cannot read the manifest ({exc})") from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        raise MadgenError(f"{path}: key 'files': expected a list of file records")
    records: dict[str, Mapping[str, Any]] = {}
    for number, record in enumerate(files):
        if not isinstance(record, dict) or not isinstance(record.get("file"), str):
            raise MadgenError(f"{path}: files[{number}]: expected a record with a 'file' path")
        records[record["file"]] = record
    return ManifestAttributes(records)


def _checked(path: Path, file: str, attributes: Any) -> dict[str, Any] | None:
    """The attributes the slices use, checked (``None`` when the record has none)."""
    if attributes is None or attributes == {}:
        return None
    if not isinstance(attributes, dict):
        raise MadgenError(f"{path}: {file}: key 'attributes': expected a mapping")
    values = {}
    for key, kind in ATTRIBUTE_KINDS.items():
        value = attributes.get(key)
        if kind == "bool":
            ok = isinstance(value, bool)
        else:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok:
            raise MadgenError(f"{path}: {file}: key 'attributes.{key}': expected a {kind}, got {value!r}")
        values[key] = value
    return values


def image_attributes(folder: Path, files: Sequence[str | None]) -> tuple[list[dict[str, Any] | None], str | None]:
    """Per file (``None`` for good images, or the manifest path of an anomalous one) its checked
    attributes or ``None``; and a one-line note when some or all anomalous images have none."""
    manifest = read_manifest_records(folder)
    wanted = [f for f in files if f is not None]
    if manifest.records is None:
        return [None] * len(files), f"{manifest.note}: no per-image defect attributes, so no area, contrast " \
                                    "or outline slices"
    path = Path(folder) / "manifest.json"
    found = [None if f is None else _checked(path, f, manifest.records.get(f, {}).get("attributes"))
             for f in files]
    missing = sum(1 for f, a in zip(files, found) if f is not None and a is None)
    note = None
    if wanted and missing == len(wanted):
        note = f"{path}: no per-image defect attributes, so no area, contrast or outline slices"
    elif missing:
        note = f"{path}: {missing} of {len(wanted)} anomalous images have no defect attributes; " \
               "the area, contrast and outline slices leave them out"
    return found, note


def tercile_groups(values: Sequence[float]) -> tuple[np.ndarray, tuple[float, float]]:
    """Each value's tercile (0, 1, 2) and the two cuts (see the module docstring)."""
    values = np.asarray(values, dtype=np.float64)
    low, high = (float(q) for q in np.quantile(values, [1 / 3, 2 / 3]))
    return (values > low).astype(np.int64) + (values > high).astype(np.int64), (low, high)


def _auroc_or_none(scores: np.ndarray, good: np.ndarray, chosen: np.ndarray) -> float | None:
    if not chosen.any() or not good.any():
        return None
    keep = good | chosen
    return auroc(scores[keep], chosen[keep])


def attribute_slices(splits: Sequence[str], scores: Mapping[str, Sequence[float]],
                     attributes: Sequence[Mapping[str, Any] | None], note: str | None = None) -> dict[str, Any]:
    """Image AUROC per slice for each method.

    ``splits``: each test image's folder (``good`` or a defect type); ``scores``: per method, each
    image's score; ``attributes``: each image's checked attributes (``None`` for good images and
    anomalous ones without). Slices: all defects, each defect type (by name), then, over the
    anomalous images with attributes, the mask-area and contrast terciles and interior vs
    touching the outline. Each slice's images are scored against every good image.
    """
    splits = list(splits)
    good = np.array([s == "good" for s in splits])
    arrays = {method: np.asarray(values, dtype=np.float64) for method, values in scores.items()}
    for method, values in arrays.items():
        if len(values) != len(splits):
            raise ValueError(f"{method}: {len(values)} scores for {len(splits)} images")
    slices: list[dict[str, Any]] = []

    def add(attribute: str, name: str, chosen: np.ndarray, value_range: list[float] | None = None) -> None:
        slices.append({"attribute": attribute, "slice": name, "images": int(chosen.sum()), "range": value_range,
                       "image_auroc": {m: _auroc_or_none(v, good, chosen) for m, v in arrays.items()}})

    add("all", "all defects", ~good)
    for split in sorted({s for s in splits if s != "good"}):
        add("defect type", split, np.array([s == split for s in splits]))
    described = np.array([a is not None and not g for a, g in zip(attributes, good)])
    edges: dict[str, list[float]] = {}
    if described.any():
        where = np.nonzero(described)[0]
        for key, (label, names) in TERCILES.items():
            values = np.array([float(attributes[i][key]) for i in where])  # type: ignore[index]
            groups, cuts = tercile_groups(values)
            edges[key] = [cuts[0], cuts[1]]
            for group, name in enumerate(names):
                chosen = np.zeros(len(splits), bool)
                chosen[where[groups == group]] = True
                inside = values[groups == group]
                add(label, name, chosen, [float(inside.min()), float(inside.max())] if len(inside) else None)
        touching = np.array([bool(a["touches_outline"]) if d else False for a, d in zip(attributes, described)])
        add("outline", "interior", described & ~touching)
        add("outline", "touching the outline", described & touching)
    return {"good_images": int(good.sum()), "note": note, "tercile_cuts": edges, "slices": slices}


def _span(low: float, high: float, scale: float = 1.0) -> str:
    first, last = f"{scale * low:.3g}", f"{scale * high:.3g}"
    return first if first == last else f"{first}-{last}"


def _describe(entry: Mapping[str, Any]) -> str:
    name, value_range = entry["slice"], entry["range"]
    if entry["attribute"] == "mask area":
        text = f"mask area {name}"
        if value_range:
            text += f" ({_span(*value_range, scale=100)}% of the image)"
        return text
    if entry["attribute"] == "contrast":
        text = f"contrast {name}"
        if value_range:
            text += f" (dE {_span(*value_range)})"
        return text
    if entry["attribute"] == "defect type":
        return f"type {name}"
    return name


def slices_markdown(category: str, document: Mapping[str, Any]) -> list[str]:
    """The markdown lines of the slice table (and the note, when there is one)."""
    methods = list(document["slices"][0]["image_auroc"]) if document["slices"] else []
    lines = [f"| category | image AUROC by slice (each against all {document['good_images']} good images) | images | "
             + " | ".join(methods) + " |",
             "|---|---|---:|" + "---:|" * len(methods)]
    for entry in document["slices"]:
        values = [entry["image_auroc"][m] for m in methods]
        lines.append(f"| {category} | {_describe(entry)} | {entry['images']} | "
                     + " | ".join("-" if v is None else f"{v:.3f}" for v in values) + " |")
    if document.get("note"):
        lines += ["", f"Note: {document['note']}."]
    return lines
