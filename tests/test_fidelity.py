"""``madgen fidelity``: framing and defect-size statistics, measured as on MAD-Sim (pure, no render)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from madgen.cli import main
from madgen.dataset.fidelity import check_targets, dataset_report, object_box_statistics


def _image(path: Path, box: tuple[int, int, int, int], size: int = 100, value: int = 120) -> None:
    pixels = np.full((size, size, 3), 255, np.uint8)
    top, left, bottom, right = box
    pixels[top:bottom, left:right] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def _mask(path: Path, pixels: int, size: int = 100) -> None:
    mask = np.zeros(size * size, np.uint8)
    mask[:pixels] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(mask.reshape(size, size)).save(path)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """Two categories: good images and two defect types with masks of known area."""
    root = tmp_path / "data"
    for category, width in (("01Gorilla", 70), ("06Bird", 50)):
        folder = root / category
        for index in range(3):
            _image(folder / "test" / "good" / f"{index}.png", (10, 10, 10 + width - 20 * index, 10 + width))
        for split, areas in (("Burrs", [5, 40, 90, 200]), ("Stains", [10, 80, 150, 300])):
            for index, area in enumerate(areas):
                _image(folder / "test" / split / f"{index}.png", (0, 0, width, width))
                _mask(folder / "ground_truth" / split / f"{index}_mask.png", area)
    return root


def test_object_statistics_use_the_darkest_channel() -> None:
    pixels = np.full((100, 100, 3), 255, np.uint8)
    pixels[20:40, 10:70] = (240, 240, 200)  # one channel under 235: object
    pixels[60:90, 10:20] = (240, 240, 240)  # near white: background, as on MAD-Sim
    extent, coverage = object_box_statistics(pixels)
    assert extent == pytest.approx(0.6) and coverage == pytest.approx(0.12)
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[2:5, 2:4] = (10, 10, 10, 255)
    assert object_box_statistics(rgba) == (pytest.approx(0.3), pytest.approx(0.06))
    assert object_box_statistics(np.full((5, 5, 3), 255, np.uint8)) == (0.0, 0.0)


def test_dataset_report_per_category_type_and_pooled(dataset: Path) -> None:
    report = dataset_report(dataset)
    gorilla = report["categories"]["01Gorilla"]
    assert gorilla["splits"]["good"]["images"] == 3
    assert gorilla["splits"]["good"]["extent_median"] == pytest.approx(0.7)  # widths 70, 50, 30: height 70
    assert gorilla["splits"]["Burrs"]["mask_p50"] == pytest.approx(np.percentile([5, 40, 90, 200], 50) / 1e4)
    assert gorilla["all"]["masks"] == 8 and gorilla["all"]["images"] == 11
    assert report["pooled"]["masks"] == 16
    assert report["pooled_by_type"]["Stains"]["mask_p90"] == pytest.approx(np.percentile([10, 80, 150, 300] * 2, 90)
                                                                           / 1e4)
    assert report["reference"]["mask_p50"] == 0.0081 and report["reference"]["extent_median"] == 0.67
    assert any("median extent" in m for m in report["categories"]["06Bird"]["all"]["misses"])


def test_targets() -> None:
    good = {"extent_median": 0.67, "masks": 10, "mask_p10": 0.0015, "mask_p50": 0.008, "mask_p90": 0.02}
    assert check_targets(good, per_category=True) == []
    bad = dict(good, extent_median=0.5, mask_p10=0.003, mask_p50=0.002, mask_p90=0.01)
    assert len(check_targets(bad, per_category=True)) == 4
    assert len(check_targets(bad, per_category=False)) == 3  # pooled: extent is checked per category


def test_fidelity_command_table_json_and_check(dataset: Path, capsys) -> None:
    assert main(["fidelity", str(dataset)]) == 0
    out = capsys.readouterr().out
    assert "MAD-Sim" in out and "reference" in out and "01Gorilla" in out and "targets missed" in out
    assert main(["fidelity", str(dataset / "06Bird"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data["categories"]) == ["06Bird"] and data["format"] == "madgen-fidelity/1"
    with pytest.raises(SystemExit) as exited:
        main(["fidelity", str(dataset), "--check"])
    assert exited.value.code == 1


def test_fidelity_bad_folder_is_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["fidelity", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "no MAD-Sim category" in err and err.count("\n") == 1
    folder = tmp_path / "broken" / "01Gorilla"
    _image(folder / "test" / "Burrs" / "0.png", (0, 0, 10, 10))
    assert main(["fidelity", str(tmp_path / "broken")]) == 2
    assert "missing mask" in capsys.readouterr().err
