"""The command line: list, inspect and stats, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from madgen.categories import CATEGORIES
from madgen.cli import main

from .conftest import REPO


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_20_categories(capsys) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0
    for category in CATEGORIES:
        assert f"\n{category} " in out
    assert len([line for line in out.splitlines() if line[:2].isdigit()]) == 20


@pytest.mark.parametrize("category", CATEGORIES)
def test_inspect_every_category_with_both_libraries(capsys, category, official_ldraw) -> None:
    code, out, err = run(capsys, "inspect", category)
    assert code == 0, err
    assert "(embedded)" in out.split("used", 1)[1].splitlines()[0]
    code, out, err = run(capsys, "inspect", category, "--ldraw-dir", str(official_ldraw), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["roots_used"] == [str(official_ldraw.resolve())]
    assert len(data["instances"]) >= 60 and data["warnings"] == []


def test_inspect_accepts_short_names_and_files(capsys, mini_library) -> None:
    code, out, _ = run(capsys, "inspect", "gorilla")
    assert code == 0 and "01Gorilla" in out and "bbox m" in out
    code, out, _ = run(capsys, "inspect", str(mini_library / "parts" / "box.dat"), "--ldraw-dir", str(mini_library))
    assert code == 0 and "1 instances of 1 distinct parts" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["inspect", "Dragon"], "unknown category 'Dragon'"),
        (["inspect", "nothere.ldr"], "model file not found: nothere.ldr"),
        (["inspect", "Gorilla", "--ldraw-dir", "/no/such/dir"], "LDraw library folder not found"),
    ],
)
def test_bad_input_is_one_line_without_traceback(capsys, args, message) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("madgen: error: ") and message in err
    assert "Traceback" not in err


def test_malformed_model_via_installed_console_script(write, tmp_path) -> None:
    model = write("broken.ldr", "0 Broken\n1 4 0 0 0 1 0 0 0 1 0 0 0 1\n")
    result = subprocess.run([sys.executable, "-m", "madgen.cli", "inspect", str(model)], capture_output=True,
                            text=True, cwd=REPO)
    assert result.returncode == 2
    assert result.stderr.strip() == f"madgen: error: {model}:2: line type 1 needs 14 fields, found 13"


def test_stats_prints_shape_complexity_and_uses_images(capsys, tmp_path, monkeypatch) -> None:
    import numpy as np
    from PIL import Image
    monkeypatch.chdir(tmp_path)  # no ./MAD-Sim here, whatever the checkout has built
    code, out, _ = run(capsys, "stats")
    assert code == 0 and "100.0" in out and "0.0" in out and "needs renders" in out
    image = np.full((8, 8, 3), 255, np.uint8)
    image[2:6, 2:6] = (200, 30, 30)
    image[2:6, 4:6] = (30, 30, 200)
    folder = tmp_path / "MAD-Sim" / "01Gorilla" / "train" / "good"
    folder.mkdir(parents=True)
    Image.fromarray(image).save(folder / "0.png")
    code, out, _ = run(capsys, "stats", "--images", str(tmp_path / "MAD-Sim"))
    gorilla = [line for line in out.splitlines() if line.startswith("01Gorilla")][0]
    assert code == 0 and gorilla.split()[-1] != "-"


@pytest.mark.parametrize(
    "args, message",
    [
        (["render", "--category", "Gorilla", "--views", "999", "--out", "x"], "--views 999: view 999 does not exist"),
        (["render", "--category", "Gorilla", "--profile", "fast", "--out", "x"], "unknown render profile 'fast'"),
        (["render", "--category", "Gorilla", "--set", "samples=lots", "--out", "x"],
         "override: key 'samples': expected int, got 'lots'"),
        (["render", "--out", "x"], "give exactly one of --category or --model"),
        (["defects", "list", "--plugin", "nowhere:Thing"], "cannot import nowhere"),
    ],
)
def test_render_and_defect_bad_input_is_one_line(capsys, tmp_path, monkeypatch, args, message) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *args)
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "x").exists()  # nothing written
