"""Image AUROC by defect attribute (``madgen ad eval``): exact numbers on hand-made scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from madgen.ad.slices import attribute_slices, image_attributes, slices_markdown, tercile_groups
from madgen.errors import MadgenError

SPLITS = ["good"] * 4 + ["Burrs"] * 3 + ["Missing"] * 3
SCORES = [0.1, 0.2, 0.3, 0.4, 0.35, 0.5, 0.05, 0.25, 0.45, 0.4]
#              (mask_fraction, contrast_delta_e, touches_outline) per anomalous image
ATTRIBUTES = [None] * 4 + [
    {"mask_fraction": 0.001, "contrast_delta_e": 10.0, "touches_outline": True},
    {"mask_fraction": 0.004, "contrast_delta_e": 30.0, "touches_outline": False},
    {"mask_fraction": 0.002, "contrast_delta_e": 50.0, "touches_outline": True},
    {"mask_fraction": 0.003, "contrast_delta_e": 20.0, "touches_outline": True},
    {"mask_fraction": 0.006, "contrast_delta_e": 40.0, "touches_outline": False},
    {"mask_fraction": 0.005, "contrast_delta_e": 60.0, "touches_outline": True},
]


def _table(document: dict) -> dict[tuple[str, str], tuple[int, float | None]]:
    return {(s["attribute"], s["slice"]): (s["images"], s["image_auroc"]["A"]) for s in document["slices"]}


def test_slices_hand_worked() -> None:
    document = attribute_slices(SPLITS, {"A": SCORES, "B": [-s for s in SCORES]}, ATTRIBUTES)
    table = _table(document)
    # each slice against all 4 good images (0.1 .. 0.4); a tie counts half
    assert table == {
        ("all", "all defects"): (6, 16.5 / 24),
        ("defect type", "Burrs"): (3, 7 / 12),          # 0.35 > 3 goods, 0.5 > 4, 0.05 > 0
        ("defect type", "Missing"): (3, 9.5 / 12),      # 0.25 > 2, 0.45 > 4, 0.4 > 3 and ties 1
        ("mask area", "small"): (2, 3 / 8),             # 0.001, 0.002: scores 0.35, 0.05
        ("mask area", "medium"): (2, 6 / 8),            # 0.003, 0.004: 0.25, 0.5
        ("mask area", "large"): (2, 7.5 / 8),           # 0.005, 0.006: 0.4, 0.45
        ("contrast", "low"): (2, 5 / 8),                # 10, 20: 0.35, 0.25
        ("contrast", "medium"): (2, 1.0),               # 30, 40: 0.5, 0.45
        ("contrast", "high"): (2, 3.5 / 8),             # 50, 60: 0.05, 0.4
        ("outline", "interior"): (2, 1.0),
        ("outline", "touching the outline"): (4, 8.5 / 16),
    }
    # the other method's scores are the negatives: every AUROC is one minus
    for entry in document["slices"]:
        assert entry["image_auroc"]["B"] == pytest.approx(1 - entry["image_auroc"]["A"])
    assert document["good_images"] == 4 and document["note"] is None
    assert document["tercile_cuts"]["mask_fraction"] == pytest.approx([0.002 + 0.001 * 2 / 3, 0.004 + 0.001 / 3])
    ranges = {(s["attribute"], s["slice"]): s["range"] for s in document["slices"]}
    assert ranges[("mask area", "small")] == [0.001, 0.002] and ranges[("contrast", "high")] == [50.0, 60.0]
    json.dumps(document, allow_nan=False)  # plain JSON


def test_ties_share_a_tercile_and_empty_slices_have_no_auroc() -> None:
    groups, cuts = tercile_groups([1.0, 1.0, 1.0, 2.0])
    assert groups.tolist() == [0, 0, 0, 2] and cuts == (1.0, 1.0)
    attributes = [None, None] + [{"mask_fraction": v, "contrast_delta_e": 5.0, "touches_outline": True}
                                 for v in (0.01, 0.01, 0.01, 0.02)]
    document = attribute_slices(["good"] * 2 + ["Stains"] * 4, {"A": [0, 1, 2, 3, 4, 5]}, attributes)
    table = _table(document)
    assert table[("mask area", "small")] == (3, 1.0) and table[("mask area", "medium")] == (0, None)
    assert table[("contrast", "low")] == (4, 1.0) and table[("contrast", "high")] == (0, None)
    assert table[("outline", "interior")] == (0, None)
    lines = slices_markdown("06Bird", document)
    assert "| 06Bird | mask area medium | 0 | - |" in lines
    assert "| 06Bird | mask area small (1% of the image) | 3 | 1.000 |" in lines


def test_without_attributes_only_types_and_a_note() -> None:
    document = attribute_slices(SPLITS, {"A": SCORES}, [None] * len(SPLITS), "no manifest.json: no slices")
    assert [(s["attribute"], s["slice"]) for s in document["slices"]] == [
        ("all", "all defects"), ("defect type", "Burrs"), ("defect type", "Missing")]
    lines = slices_markdown("01Gorilla", document)
    assert lines[-1] == "Note: no manifest.json: no slices."


def _manifest(folder: Path, files: list) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"format": "madgen-manifest/1", "files": files}))


def test_reading_attributes_from_the_manifest(tmp_path: Path) -> None:
    files = ["test/Burrs/0.png", None, "test/Burrs/1.png"]
    found, note = image_attributes(tmp_path / "bare", files)
    assert found == [None, None, None] and note.startswith("no manifest.json")
    attributes = {"mask_px": 3, "mask_fraction": 0.5, "contrast_delta_e": 7, "parts": [], "instances": [],
                  "groups": [], "touches_outline": False}
    _manifest(tmp_path / "full", [{"file": "test/Burrs/0.png", "attributes": attributes},
                                  {"file": "test/Burrs/1.png", "attributes": attributes}])
    found, note = image_attributes(tmp_path / "full", files)
    assert note is None and found[0] == {"mask_fraction": 0.5, "contrast_delta_e": 7, "touches_outline": False}
    _manifest(tmp_path / "part", [{"file": "test/Burrs/0.png", "attributes": attributes},
                                  {"file": "test/Burrs/1.png", "attributes": {}}])
    found, note = image_attributes(tmp_path / "part", files)
    assert found[2] is None and "1 of 2 anomalous images have no defect attributes" in note
    _manifest(tmp_path / "none", [{"file": "test/Burrs/0.png"}])
    assert "no per-image defect attributes" in image_attributes(tmp_path / "none", files)[1]


@pytest.mark.parametrize("manifest, message", [
    ("{not json", "cannot read the manifest"),
    (json.dumps({"files": {}}), "key 'files'"),
    (json.dumps({"files": [{"file": "test/Burrs/0.png", "attributes": {"mask_fraction": "big"}}]}),
     "test/Burrs/0.png: key 'attributes.mask_fraction': expected a number"),
    (json.dumps({"files": [{"file": "test/Burrs/0.png", "attributes": {
        "mask_fraction": 0.1, "contrast_delta_e": 1.0, "touches_outline": 1}}]}),
     "key 'attributes.touches_outline': expected a bool"),
])
def test_malformed_manifest_is_one_clear_error(tmp_path: Path, manifest: str, message: str) -> None:
    (tmp_path / "manifest.json").write_text(manifest)
    with pytest.raises(MadgenError, match="manifest.json") as caught:
        image_attributes(tmp_path, ["test/Burrs/0.png"])
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_scores_must_match_images() -> None:
    with pytest.raises(ValueError):
        attribute_slices(["good", "Burrs"], {"A": np.zeros(3)}, [None, None])
