"""``madgen validate`` and ``madgen verify`` on small hand-made folders (no Blender)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from madgen.cli import main
from madgen.dataset.manifest import FORMAT, verify
from madgen.dataset.validate import validate
from madgen.errors import MadgenError


def _png(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def make_category(root: Path, name: str = "06Bird", size: int = 16) -> Path:
    """A tiny valid category: 2 training views, 1 good and 2 Stains test images with masks."""
    folder = root / name
    rgb = np.full((size, size, 3), 255, np.uint8)
    frames = []
    for index in range(2):
        _png(folder / "train" / "good" / f"{index}.png", rgb)
        frames.append({"file_path": f"train/good/{index}.png", "transform_matrix": np.eye(4).tolist()})
    (folder / "transforms.json").write_text(json.dumps({"camera_angle_x": 0.69, "frames": frames}))
    _png(folder / "test" / "good" / "0.png", rgb)
    mask = np.zeros((size, size), np.uint8)
    mask[2:5, 2:5] = 255
    for index in range(2):
        _png(folder / "test" / "Stains" / f"{index}.png", rgb)
        _png(folder / "ground_truth" / "Stains" / f"{index}_mask.png", mask)
    return folder


def test_valid_folder_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_category(tmp_path)
    make_category(tmp_path, "01Gorilla")
    report = validate(tmp_path)
    assert report.ok, report.problems
    assert (report.categories, report.images, report.masks) == (["01Gorilla", "06Bird"], 10, 4)
    assert main(["validate", str(tmp_path / "06Bird")]) == 0
    assert "valid MAD-Sim layout" in capsys.readouterr().out


def test_every_problem_is_reported_with_its_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_category(tmp_path)
    (folder / "ground_truth" / "Stains" / "1_mask.png").unlink()
    _png(folder / "ground_truth" / "Stains" / "0_mask.png", np.full((8, 8), 128, np.uint8))
    _png(folder / "ground_truth" / "Stains" / "5_mask.png", np.zeros((16, 16), np.uint8))
    (folder / "test" / "good" / "1.png").write_bytes(b"not a png")
    (folder / "test" / "good" / "image.jpg").write_bytes(b"x")
    (folder / "renders").mkdir()
    (folder / "ground_truth" / "good").mkdir()
    frames = json.loads((folder / "transforms.json").read_text())
    frames["frames"][1]["file_path"] = "train/good/9.png"
    (folder / "transforms.json").write_text(json.dumps(frames))
    problems = validate(tmp_path).problems
    expected = [
        ("renders", "unknown folder"),
        ("ground_truth/Stains/1_mask.png", "missing mask"),
        ("ground_truth/Stains/5_mask.png", "mask without an image"),
        ("ground_truth/Stains/0_mask.png", "size 8x8 differs"),
        ("ground_truth/Stains/0_mask.png", "not binary"),
        ("test/good/1.png", "unreadable image"),
        ("test/good/image.jpg", "unexpected file"),
        ("ground_truth/good", "good images have no masks"),
        ("frames[1]", "points nowhere"),
        ("train/good/1.png", "not listed in transforms.json"),
    ]
    for where, what in expected:
        assert any(where in p and what in p for p in problems), (where, what, problems)
    assert len(problems) == len(expected)
    assert main(["validate", str(tmp_path)]) == 2
    assert "madgen: error: 10 problem(s)" in capsys.readouterr().err


def test_missing_transforms_and_rgba_images(tmp_path: Path) -> None:
    folder = make_category(tmp_path)
    (folder / "transforms.json").unlink()
    _png(folder / "test" / "good" / "0.png", np.zeros((16, 16, 4), np.uint8))  # RGBA is accepted
    _png(folder / "test" / "good" / "1.png", np.zeros((16, 16), np.uint8))  # greyscale is not
    problems = validate(tmp_path).problems
    assert any("transforms.json: missing" in p for p in problems)
    assert any("test/good/1.png: mode L" in p for p in problems)
    assert len(problems) == 2


def test_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(MadgenError, match="no MAD-Sim category folder"):
        validate(tmp_path)


def test_verify_rehashes_against_the_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_category(tmp_path)
    files = []
    for path in sorted((folder / "test" / "Stains").glob("*.png")):
        mask = f"ground_truth/Stains/{path.stem}_mask.png"
        files.append({"file": f"test/Stains/{path.name}", "split": "test/Stains", "index": int(path.stem),
                      "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "mask": mask,
                      "mask_sha256": hashlib.sha256((folder / mask).read_bytes()).hexdigest()})
    (folder / "manifest.json").write_text(json.dumps({"format": FORMAT, "files": files}))
    report = verify(tmp_path)
    assert report.ok and report.checked == 4
    _png(folder / "test" / "Stains" / "1.png", np.zeros((16, 16, 3), np.uint8))
    (folder / "ground_truth" / "Stains" / "0_mask.png").unlink()
    report = verify(folder)
    assert len(report.problems) == 2
    assert any("test/Stains/1.png: sha256" in p for p in report.problems)
    assert any("0_mask.png: missing" in p for p in report.problems)
    assert main(["verify", str(tmp_path)]) == 2
    assert "2 of 4 files do not match" in capsys.readouterr().err


def test_verify_needs_a_manifest(tmp_path: Path) -> None:
    make_category(tmp_path)
    with pytest.raises(MadgenError, match="no manifest.json"):
        verify(tmp_path)
