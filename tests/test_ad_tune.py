"""``madgen ad tune`` on a ci build with a validation set: it reads val/ only (never test/ or
ground_truth/, checked at the system-call level), its maps are anomaly_map's, and
``madgen ad train --settings`` takes what it writes."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")

from madgen.ad.anomaly import anomaly_map, normalise_light  # noqa: E402
from madgen.ad.config import default_settings, read_settings  # noqa: E402
from madgen.ad.features import FeatureExtractor  # noqa: E402
from madgen.ad.tune import (DEFAULT_GRID, POSE_KEYS, choose, combine, grid_points, image_parts,  # noqa: E402
                            read_grid, tune)
from madgen.cli import main  # noqa: E402
from madgen.errors import MadgenError  # noqa: E402

BASE = {"steps": 60, "resolution": 40, "train_size": 64, "pose_steps": 10, "candidates": 1}
GRID = {"map_stages": [3], "map_sigma": [2.0, 4.0], "map_views": [0, 1], "map_radius": [0, 1],
        "map_rgb_weight": [30000.0]}

_OPENED: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if _OPENED is not None and event in ("open", "os.listdir", "os.scandir") and args:
        path = args[0]
        if isinstance(path, (str, bytes, os.PathLike)):
            _OPENED.append(os.fsdecode(path))


sys.addaudithook(_audit)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("bpy", reason="the bpy wheel is not installed")
    from madgen.pipeline.config import resolve_config
    from madgen.pipeline.run import build_dataset

    out = tmp_path_factory.mktemp("tuneci")
    report = build_dataset(resolve_config(options={
        "categories": ("Bird",), "profile": "ci", "train_views": "0:216:12", "test_good": 2, "test_per_defect": 1,
        "val_good": 3, "val_per_defect": 1, "out": str(out)}))
    assert not report.failures
    return out


@pytest.fixture(scope="module")
def tuned(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, list[str]]:
    global _OPENED
    where = tmp_path_factory.mktemp("tune")
    _OPENED = []
    try:
        document = tune(dataset, ["Bird"], where / "run", where / "chosen.yaml", BASE, GRID, "cpu")
        opened = _OPENED
    finally:
        _OPENED = None
    return where, document, opened


def test_tune_reads_the_validation_set_only(dataset: Path, tuned: tuple[Path, dict, list[str]]) -> None:
    where, document, opened = tuned
    category = (dataset / "06Bird").resolve()
    touched = [Path(p).resolve() for p in opened]
    assert any(p.is_relative_to(category / "val" / "test" / "Burrs") for p in touched)
    assert any(p.is_relative_to(category / "train") for p in touched)
    for forbidden in (category / "test", category / "ground_truth"):
        assert not [p for p in touched if p.is_relative_to(forbidden)]
    # what it chose and why
    assert document["categories"]["06Bird"]["validation_images"] == 6
    assert len(document["results"]) == 8 and document["chosen"] == document["results"][0]
    best = document["results"][0]
    assert all(best["image_auroc"] >= r["image_auroc"] - 1e-9 for r in document["results"])
    chosen = read_settings(where / "chosen.yaml")
    assert {k: chosen[k] for k in best["settings"]} == best["settings"]
    assert chosen["steps"] == 60 and chosen["backbone"] == "lite0"
    assert json.loads((where / "run" / "tune.json").read_text())["results"] == document["results"]


def test_tune_needs_no_test_set_and_gives_the_same_choice(dataset: Path, tuned: tuple[Path, dict, list[str]],
                                                          tmp_path: Path) -> None:
    where, document, _ = tuned
    shutil.copytree(dataset / "06Bird", tmp_path / "data" / "06Bird")
    shutil.rmtree(tmp_path / "data" / "06Bird" / "test")
    shutil.rmtree(tmp_path / "data" / "06Bird" / "ground_truth")
    again = tune(tmp_path / "data", ["06Bird"], where / "run", tmp_path / "chosen.json", BASE, GRID, "cpu")
    assert _untimed(again["results"]) == _untimed(document["results"])  # the field was kept: same training files
    assert read_settings(tmp_path / "chosen.json") == read_settings(where / "chosen.yaml")


def _untimed(results: list[dict]) -> list[dict]:
    """Results without the seconds the poses took (the one thing that differs between runs)."""
    return [r | {"pose": {k: v for k, v in r["pose"].items() if k not in ("pose_seconds_per_image", "per_category")}}
            for r in results]


def test_a_validation_set_that_leads_into_test_is_refused(dataset: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(dataset / "06Bird", tmp_path / "a" / "06Bird")
    val_test = tmp_path / "a" / "06Bird" / "val" / "test"
    shutil.rmtree(val_test)
    val_test.symlink_to(Path("..") / "test")
    with pytest.raises(MadgenError, match="may not be read here"):
        tune(tmp_path / "a", ["Bird"], tmp_path / "run", tmp_path / "x.yaml", BASE, GRID, "cpu")
    # one split linked into test/
    shutil.copytree(dataset / "06Bird", tmp_path / "b" / "06Bird")
    burrs = tmp_path / "b" / "06Bird" / "val" / "test" / "Burrs"
    shutil.rmtree(burrs)
    burrs.symlink_to(Path("..") / ".." / "test" / "Burrs")
    assert main(["ad", "tune", "--data", str(tmp_path / "b"), "--category", "Bird", "--run", str(tmp_path / "run"),
                 "--out", str(tmp_path / "x.yaml")]) == 2
    error = capsys.readouterr().err
    assert "may not be read here" in error and error.count("\n") == 1
    # training frames that point into test/
    shutil.copytree(dataset / "06Bird", tmp_path / "c" / "06Bird")
    transforms = tmp_path / "c" / "06Bird" / "transforms.json"
    data = json.loads(transforms.read_text())
    data["frames"][0]["file_path"] = "./test/good/0.png"
    transforms.write_text(json.dumps(data))
    with pytest.raises(MadgenError, match=r"frames\[0\].*may not be read here"):
        tune(tmp_path / "c", ["Bird"], tmp_path / "run-c", tmp_path / "x.yaml", BASE, GRID, "cpu")
    assert not (tmp_path / "run-c" / "06Bird" / "field.pt").exists() and not (tmp_path / "x.yaml").exists()
    # no validation set at all
    shutil.copytree(dataset / "06Bird", tmp_path / "d" / "06Bird")
    shutil.rmtree(tmp_path / "d" / "06Bird" / "val")
    with pytest.raises(MadgenError, match="--val-good N --val-per-defect M"):
        tune(tmp_path / "d", ["Bird"], tmp_path / "run", tmp_path / "x.yaml", BASE, GRID, "cpu")


def test_train_takes_the_settings_file(dataset: Path, tuned: tuple[Path, dict, list[str]], tmp_path: Path) -> None:
    where, document, _ = tuned
    run = tmp_path / "run"
    run.mkdir()
    for name in ("field.pt", "train.json"):  # the tuning field: same field settings, same data
        shutil.copy(where / "run" / "06Bird" / name, run / name)
    assert main(["ad", "train", "--data", str(dataset), "--category", "Bird", "--run", str(run),
                 "--settings", str(where / "chosen.yaml"), "--map-rgb-weight", "5"]) == 0
    config = json.loads((run / "config.json").read_text())
    best = document["chosen"]["settings"]
    assert config["map_sigma"] == best["map_sigma"] and config["map_views"] == best["map_views"]
    assert config["map_rgb_weight"] == 5.0  # the command line wins over the file
    assert config["field"]["steps"] == 60 and config["pose"]["steps"] == 10
    assert config["pose"]["light"] == "fixed"


@pytest.mark.parametrize("text, message", [
    ("map_sigma: 0\n", "key 'map_sigma': expected a number 0.5..16, got 0"),
    ("mapsigma: 2\n", "unknown key 'mapsigma'"),
    ("backbone: b5\n", "key 'backbone': expected one of lite0, b4, none"),
    ("pose_light: auto\n", "key 'pose_light': expected one of fixed, gain"),
    ("- 1\n", "expected a mapping"),
])
def test_bad_settings_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                                       message: str) -> None:
    settings = tmp_path / "s.yaml"
    settings.write_text(text)
    (tmp_path / "data" / "06Bird").mkdir(parents=True)
    assert main(["ad", "train", "--data", str(tmp_path / "data"), "--category", "Bird", "--run",
                 str(tmp_path / "run"), "--settings", str(settings)]) == 2
    error = capsys.readouterr().err
    assert message in error and str(settings) in error and error.count("\n") == 1
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("text, message", [
    ("map_sigma: []\n", "key 'map_sigma': expected a non-empty list"),
    ("steps: [1, 2]\n", "unknown key 'steps'"),
    ("map_radius: [1, 9]\n", "key 'map_radius': expected an integer 0..4, got 9"),
    ("pose_rays: [8]\n", "key 'pose_rays': expected an integer >= 16, got 8"),
    ("pose_lr: [0]\n", "key 'pose_lr'"),
    ("pose_points: []\n", "key 'pose_points': expected a non-empty list"),
    ("pose_points: [{candidates: 0}]\n", "pose_points[0]: key 'candidates': expected an integer >= 1, got 0"),
    ("pose_points: [{steps: 3}]\n", "key 'pose_points[0]': unknown key 'steps'"),
    ("pose_points: [{candidates: 1}]\npose_steps: [10]\n", "give pose points either as a list"),
])
def test_bad_grid_file(tmp_path: Path, text: str, message: str) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text(text)
    with pytest.raises(MadgenError, match="grid.yaml") as caught:
        read_grid(grid)
    assert message in str(caught.value)


def test_default_grid_is_small_and_holds_the_seed_and_the_defaults() -> None:
    points = grid_points(read_grid(None))
    assert len(points) == 128 and read_grid(None) == DEFAULT_GRID
    assert {"map_stages": 5, "map_sigma": 4.0, "map_views": 0, "map_radius": 0, "map_rgb_weight": 1.0,
            "map_match": "none", "map_normalise": "none"} in points
    assert {"map_stages": 3, "map_sigma": 2.0, "map_views": 2, "map_radius": 1, "map_rgb_weight": 30000.0,
            "map_match": "gain", "map_normalise": "local"} in points


def test_grid_maps_are_anomaly_maps() -> None:
    """The sweep's arithmetic on cached parts gives exactly the map 'madgen ad score' computes."""
    extractor = FeatureExtractor("lite0")
    rng = np.random.default_rng(0)
    observed = rng.random((224, 224, 3), dtype=np.float32)
    references = [np.clip(observed + rng.normal(0, 0.1, observed.shape).astype(np.float32), 0, 1)
                  for _ in range(3)]
    parts = image_parts(extractor, observed, references, 5, [0, 1], "Burrs", np.zeros((224, 224), bool))
    for point in ({"map_stages": 3, "map_sigma": 2.0, "map_views": 2, "map_radius": 1, "map_rgb_weight": 3e4},
                  {"map_stages": 5, "map_sigma": 4.0, "map_views": 0, "map_radius": 0, "map_rgb_weight": 1.0},
                  {"map_stages": 1, "map_sigma": 1.0, "map_views": 1, "map_radius": 0, "map_rgb_weight": 0.0}):
        expected = anomaly_map(extractor, observed, references[:1 + point["map_views"]], point["map_stages"],
                               point["map_sigma"], point["map_radius"], point["map_rgb_weight"])
        assert np.array_equal(combine(parts, point), expected)
    # map_normalise local: the sweep's parts of the normalised images, as category_parts makes them
    shown = normalise_light(observed)
    local = image_parts(extractor, shown, [normalise_light(r) for r in references], 3, [1], "Burrs",
                        np.zeros((224, 224), bool))
    point = {"map_stages": 3, "map_sigma": 2.0, "map_views": 1, "map_radius": 1, "map_rgb_weight": 1.0}
    assert np.array_equal(combine(local, point),
                          anomaly_map(extractor, observed, references[:2], 3, 2.0, 1, 1.0, normalise="local"))


def _result(auroc: float, error: float | None, **pose: int) -> dict:
    settings = {"candidates": 2, "pose_steps": 40, "pose_rays": 1024, "pose_lr": 0.01} | pose | {"map_sigma": 2.0}
    return {"settings": settings, "image_auroc": auroc, "pixel_auroc": 0.98,
            "pose": {"median_rotation_deg": error}}


def test_pose_points_choose_the_cheapest_that_is_as_good() -> None:
    base = {"candidates": 2, "pose_steps": 40, "pose_rays": 1024, "pose_lr": 0.01, "map_sigma": 2.0}
    full = _result(0.920, 0.8)
    half = _result(0.915, 1.1, candidates=1)
    quarter = _result(0.905, 1.5, candidates=1, pose_steps=20)  # 0.015 below the best: not as good
    wild = _result(0.919, 3.5, candidates=1, pose_steps=10)  # as good, but its poses are off
    ranked = choose([full, half, quarter, wild], base)
    assert ranked[0] is half and ranked[1:] == [full, wild, quarter]
    assert choose([full, half, quarter, wild], base, tolerance=0.02)[0] is quarter
    assert choose([full, half, quarter, wild], base, max_pose_error=5.0)[0] is wild
    # no true poses (a real MAD-Sim download): AUROC and cost alone
    assert choose([_result(0.92, None), _result(0.915, None, candidates=1)], base)[0]["settings"]["candidates"] == 1
    # one pose point: the plain ranking
    other = {"settings": {"map_sigma": 4.0}, "image_auroc": 0.93, "pixel_auroc": 0.9, "pose": {}}
    assert choose([{"settings": {"map_sigma": 2.0}, "image_auroc": 0.92, "pixel_auroc": 0.99, "pose": {}}, other],
                  base)[0] is other


def test_pose_light_and_retrieval_are_pose_points_of_equal_work(tmp_path: Path) -> None:
    """The light model and the retrieval are swept like the other pose settings; they cost the
    same rays, so between them the higher image AUROC is chosen."""
    grid = tmp_path / "grid.yaml"
    grid.write_text("pose_retrieval: [views, renders]\npose_light: [fixed, gain]\n")
    read = read_grid(grid)
    assert read["pose_retrieval"] == ["views", "renders"] and read["pose_light"] == ["fixed", "gain"]
    grid.write_text("pose_points:\n  - {pose_retrieval: renders, pose_light: gain}\n")
    assert read_grid(grid)["pose_points"] == [{"pose_retrieval": "renders", "pose_light": "gain"}]
    grid.write_text("pose_retrieval: [views, nearest]\n")
    with pytest.raises(MadgenError, match="key 'pose_retrieval': expected one of views, renders"):
        read_grid(grid)
    base = {"candidates": 1, "pose_steps": 40, "pose_rays": 1024, "pose_lr": 0.01, "pose_decay": 0.8,
            "pose_light": "fixed", "pose_retrieval": "views", "map_sigma": 2.0}
    views = _result(0.700, 3.0, candidates=1) | {}
    views["settings"] = views["settings"] | {"pose_retrieval": "views"}
    renders = _result(0.705, 2.5, candidates=1)
    renders["settings"] = renders["settings"] | {"pose_retrieval": "renders"}
    assert choose([views, renders], base, max_pose_error=5.0)[0] is renders


def test_pose_points_are_read_one_by_one(tmp_path: Path) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text("pose_points:\n  - {candidates: 1, pose_steps: 20, pose_lr: 0.02}\n  - {pose-rays: 512}\n")
    assert read_grid(grid)["pose_points"] == [{"candidates": 1, "pose_steps": 20, "pose_lr": 0.02},
                                              {"pose_rays": 512}]
    # lists combine instead
    grid.write_text("candidates: [1, 2]\npose_steps: [20, 40]\n")
    listed = read_grid(grid) | {"pose_rays": [1024], "pose_lr": [0.01]}
    assert grid_points(listed, ("candidates", "pose_steps", "pose_rays", "pose_lr")) == [
        {"candidates": c, "pose_steps": s, "pose_rays": 1024, "pose_lr": 0.01} for c in (1, 2) for s in (20, 40)]


def test_tune_sweeps_pose_settings_on_the_validation_set(dataset: Path, tuned: tuple[Path, dict, list[str]],
                                                          tmp_path: Path) -> None:
    where, _, _ = tuned
    grid = {"map_stages": [3], "map_sigma": [2.0], "map_views": [0], "map_radius": [0], "map_rgb_weight": [1.0],
            "pose_points": [{"pose_steps": 0}, {"pose_steps": 10}]}
    document = tune(dataset, ["Bird"], where / "run", tmp_path / "chosen.yaml", BASE, grid, "cpu")
    assert len(document["results"]) == 2
    by_steps = {r["settings"]["pose_steps"]: r for r in document["results"]}
    for result in by_steps.values():
        pose = result["pose"]
        assert pose["median_rotation_deg"] is not None and 0 <= pose["median_rotation_deg"] <= 180
        assert pose["pose_seconds_per_image"] > 0 and pose["per_category"]["06Bird"]["within_5_deg"] is not None
    # no refinement: the retrieved training view's pose; refining moves it
    assert by_steps[0]["pose"]["median_rotation_deg"] != by_steps[10]["pose"]["median_rotation_deg"]
    assert by_steps[0]["pose"]["work"] == 0 and by_steps[10]["pose"]["work"] == 10 * 1024
    chosen = read_settings(tmp_path / "chosen.yaml")
    assert chosen["pose_steps"] == document["chosen"]["settings"]["pose_steps"] and chosen["steps"] == 60


def test_the_pose_defaults_are_the_validation_choice():
    """The pose defaults are what 'madgen ad tune' chose on validation builds
    (bench/settings/pose-val.yaml), so they cannot drift from the recorded choice."""
    chosen = read_settings(Path(__file__).parent.parent / "bench" / "settings" / "pose-val.yaml")
    chosen = {"pose_retrieval": "views"} | chosen  # the record predates the setting: retrieval was from views
    defaults = default_settings()
    assert {key: defaults[key] for key in POSE_KEYS} == {key: chosen[key] for key in POSE_KEYS}
