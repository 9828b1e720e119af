"""CI regeneration: a reduced dataset (profile ``ci``, 2 categories) must equal the golden hashes.

The golden file ``tests/golden/dataset-ci.json`` holds the sha256 of every image and mask. A
deliberate change to what madgen renders regenerates it with ``make golden``
(``MADGEN_UPDATE_GOLDEN=1 pytest tests/test_dataset_ci.py``); commit the new file with the change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("bpy", reason="the bpy wheel is not installed")

from madgen.pipeline.config import resolve_config  # noqa: E402
from madgen.pipeline.run import build_dataset  # noqa: E402
from madgen.dataset.manifest import read_manifest, verify  # noqa: E402
from madgen.dataset.validate import validate  # noqa: E402

GOLDEN = Path(__file__).resolve().parent / "golden" / "dataset-ci.json"
#: The reduced dataset: what `make dataset-ci` builds.
OPTIONS = {"categories": ("Gorilla", "Bird"), "profile": "ci", "train_views": "0:216:36", "test_good": 3,
           "test_per_defect": 2, "seed": 0}


def dataset_hashes(out: Path) -> dict[str, object]:
    """The Blender version and the sha256 of every image and mask, by category/path."""
    files: dict[str, str] = {}
    versions = set()
    for category in sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")):
        manifest = read_manifest(category)
        versions.add(manifest["blender_version"])
        for record in manifest["files"]:
            files[f"{category.name}/{record['file']}"] = record["sha256"]
            if record.get("mask"):
                files[f"{category.name}/{record['mask']}"] = record["mask_sha256"]
    return {"blender_version": sorted(versions), "options": OPTIONS, "files": files}


def test_reduced_dataset_matches_golden(tmp_path: Path) -> None:
    report = build_dataset(resolve_config(options={**OPTIONS, "out": str(tmp_path)}))
    assert not report.failures and all(report.complete.values())
    assert validate(tmp_path).ok and verify(tmp_path).ok
    current = json.loads(json.dumps(dataset_hashes(tmp_path)))
    if os.environ.get("MADGEN_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"golden file rewritten: {GOLDEN}")
    assert GOLDEN.is_file(), "no golden file: run `make golden` and commit tests/golden/dataset-ci.json"
    golden = json.loads(GOLDEN.read_text())
    assert current["options"] == golden["options"], "the reduced dataset's options changed: run `make golden`"
    if current["blender_version"] != golden["blender_version"]:
        pytest.skip(f"golden hashes were made with Blender {golden['blender_version']}, this is "
                    f"{current['blender_version']}")
    differing = sorted(name for name in set(golden["files"]) | set(current["files"])
                       if golden["files"].get(name) != current["files"].get(name))
    assert not differing, (f"{len(differing)} file(s) differ from the golden hashes, e.g. {differing[:5]}; "
                           "if the change is deliberate run `make golden` and commit the new golden file")
