"""A ``ci``-profile build of one category looks like MAD-Sim: framing, defect sizes, attributes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("bpy", reason="the bpy wheel is not installed")

from madgen.pipeline.config import resolve_config  # noqa: E402
from madgen.pipeline.run import build_dataset  # noqa: E402
from madgen.dataset.fidelity import dataset_report  # noqa: E402


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fidelity")
    report = build_dataset(resolve_config(options={
        "categories": ("Bird",), "profile": "ci", "train_views": "0", "test_good": 6, "test_per_defect": 10,
        "seed": 3, "out": str(out)}))
    assert not report.failures and report.complete == {"06Bird": True}
    return out


def test_framing_and_defect_sizes_at_the_ci_profile(built: Path) -> None:
    report = dataset_report(built)
    bird = report["categories"]["06Bird"]["all"]
    assert 0.60 <= bird["extent_median"] <= 0.74, bird
    assert bird["masks"] == 30 and bird["mask_min"] > 0
    # 30 masks: the MAD-Sim targets with a little room for so small a sample
    assert 0.004 <= bird["mask_p50"] <= 0.014, bird
    assert bird["mask_p90"] >= 0.012 and bird["mask_p10"] <= 0.003, bird
    for split in ("Burrs", "Missing", "Stains"):
        sizes = report["categories"]["06Bird"]["splits"][split]
        assert sizes["mask_p90"] > 3 * sizes["mask_p10"], (split, sizes)  # small and large ones, not one size


def test_every_anomalous_image_has_its_attributes(built: Path) -> None:
    manifest = json.loads((built / "06Bird" / "manifest.json").read_text())
    anomalous = [f for f in manifest["files"] if f.get("mask")]
    assert len(anomalous) == 30
    groups = set()
    for record in anomalous:
        attributes = record["attributes"]
        with Image.open(built / "06Bird" / record["mask"]) as mask:
            pixels = int((np.asarray(mask) > 127).sum())
        assert attributes["mask_px"] == pixels > 0
        assert attributes["contrast_delta_e"] > 0 and attributes["instances"] and attributes["parts"]
        groups.update(attributes["groups"])
    assert groups  # the Bird's named groups (beak, wings, tail, ...) show up among the parts involved
