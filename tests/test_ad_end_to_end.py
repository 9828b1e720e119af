"""OmniposeAD end to end on a tiny ci build: train, score, eval; and scoring never uses the manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("bpy", reason="the bpy wheel is not installed")
pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")

from madgen.ad.config import AdConfig, FieldConfig, PoseConfig  # noqa: E402
from madgen.ad.device import describe, resolve_device  # noqa: E402
from madgen.ad.run import evaluate, score, train  # noqa: E402
from madgen.pipeline.config import resolve_config  # noqa: E402
from madgen.pipeline.run import build_dataset  # noqa: E402
from madgen.cli import main  # noqa: E402

TINY_FIELD = FieldConfig(resolution=40, train_size=64, steps=60, batch_rays=2048)
TINY_POSE = PoseConfig(candidates=1, steps=10, rays=512)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("adci")
    report = build_dataset(resolve_config(options={
        "categories": ("Bird",), "profile": "ci", "train_views": "0:216:3", "test_good": 3, "test_per_defect": 1,
        "out": str(out)}))
    assert not report.failures
    return out


def test_train_score_eval(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    config = AdConfig(str(dataset), "06Bird", TINY_FIELD, TINY_POSE, bank_size=256)
    stats = train(run, config)
    assert stats["views"] == 72 and (run / "field.pt").is_file()
    assert train(run, config)["skipped"]  # resumable: the trained field is kept
    first = score(run)
    assert first["scored"] == 6 and score(run)["scored"] == 0
    assert len(list((run / "heatmaps").rglob("*.png"))) == 6
    document = evaluate(run)
    for method in ("OmniposeAD", "PatchCore (pose-unaware)"):
        values = document["methods"][method]
        assert set(values) == {"image_auroc", "pixel_auroc", "segmentation_pixel_auroc", "aupro"}
        assert all(0.0 <= v <= 1.0 for v in values.values())
    assert document["backbone"]["name"] == "lite0" and len(document["backbone"]["weights_sha256"]) == 64
    assert document["train_device"] == describe(resolve_device("auto")) and document["score_devices"] == [
        document["train_device"]]
    assert document["pose_error"]["median_rotation_deg"] >= 0  # the manifest is read after scoring, only here
    phases = document["score_seconds_by_phase"]  # where scoring's time goes, per image
    assert set(phases) == {"read", "pose", "render", "map", "baseline"} and all(v >= 0 for v in phases.values())
    assert sum(phases.values()) <= document["score_seconds_per_image"] + 1e-6
    sliced = document["image_auroc_by_attribute"]
    assert sliced["note"] is None and sliced["good_images"] == 3
    assert {s["attribute"] for s in sliced["slices"]} == {"all", "defect type", "mask area", "contrast", "outline"}
    assert sum(s["images"] for s in sliced["slices"] if s["attribute"] == "mask area") == 3
    assert "image AUROC by slice" in (run / "metrics.md").read_text()
    # how far each image AUROC could move by chance on these few images, and the paired difference
    spread = document["image_auroc_ci95"]
    assert set(spread) == {"OmniposeAD", "PatchCore (pose-unaware)"}
    assert all(0.0 <= low <= high <= 1.0 for low, high in spread.values())
    (low, high), = document["image_auroc_difference_ci95"].values()
    assert -1.0 <= low <= high <= 1.0 and "95% interval" in (run / "metrics.md").read_text()
    assert (run / "metrics.csv").read_text().count("06Bird") == 2
    assert main(["ad", "eval", "--run", str(run)]) == 0
    assert "OmniposeAD" in capsys.readouterr().out

    # resumption goes by content: a test image that changed is scored again, alone
    changed = dataset / "06Bird" / "test" / "good" / "0.png"
    original = changed.read_bytes()
    try:
        shutil.copy(dataset / "06Bird" / "test" / "good" / "1.png", changed)
        assert score(run)["scored"] == 1
    finally:
        changed.write_bytes(original)
    assert score(run)["scored"] == 1

    # the same scoring on a copy without madgen's manifest gives the same maps
    bare = tmp_path / "bare"
    shutil.copytree(dataset / "06Bird", bare / "06Bird")
    (bare / "06Bird" / "manifest.json").unlink()
    other = tmp_path / "run-bare"
    other.mkdir()
    shutil.copy(run / "field.pt", other / "field.pt")
    (other / "config.json").write_text(json.dumps(config.to_dict() | {"data": str(bare)}))
    score(other)
    for path in sorted((run / "scores").rglob("*.npz")):
        twin = other / path.relative_to(run)
        with np.load(path) as a, np.load(twin) as b:
            assert np.array_equal(a["map"], b["map"]) and np.array_equal(a["pose"], b["pose"])
    bare_document = evaluate(other)
    assert bare_document["pose_error"] is None
    assert bare_document["image_auroc_by_attribute"]["note"].startswith("no manifest.json")
    assert {s["attribute"] for s in bare_document["image_auroc_by_attribute"]["slices"]} == {"all", "defect type"}

    # a training image that changed means a new field (the same settings are not enough)
    trained_on = dataset / "06Bird" / "train" / "good" / "0.png"
    original = trained_on.read_bytes()
    try:
        shutil.copy(dataset / "06Bird" / "train" / "good" / "3.png", trained_on)
        again = train(run, config)
        assert not again.get("skipped") and again["data_sha256"] != stats["data_sha256"]
    finally:
        trained_on.write_bytes(original)


def test_cli_errors(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ad", "train", "--data", str(dataset), "--category", "Dragon", "--run", str(tmp_path / "r")]) == 2
    assert "no category folder 'Dragon'" in capsys.readouterr().err
    assert main(["ad", "train", "--data", str(dataset), "--category", "Bird", "--run", str(tmp_path / "r"),
                 "--backbone", "b4", "--weights", str(tmp_path / "missing.pth")]) == 2
    assert "needs ImageNet weights" in capsys.readouterr().err
    for option, value in (("--map-stages", "0"), ("--map-sigma", "0"), ("--smoothness", "-1"),
                          ("--map-views", "-1"), ("--map-radius", "9"), ("--map-rgb-weight", "-1")):
        assert main(["ad", "train", "--data", str(dataset), "--category", "Bird", "--run", str(tmp_path / "r"),
                     option, value]) == 2
        assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "r").exists()
    (tmp_path / "empty").mkdir()
    assert main(["ad", "score", "--run", str(tmp_path / "empty")]) == 2
    assert "run 'madgen ad train" in capsys.readouterr().err


def test_test_data_scores_another_dataset(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--test-data: the field learns one dataset's training views, the test images come from another
    (here a copy with one good test image fewer), and the copy's manifest is the one eval reads."""
    other = tmp_path / "other"
    shutil.copytree(dataset / "06Bird", other / "06Bird")
    (other / "06Bird" / "test" / "good" / "2.png").unlink()
    run = tmp_path / "cross"
    config = AdConfig(str(dataset), "06Bird", TINY_FIELD, TINY_POSE, bank_size=256, test_data=str(other))
    assert config.test_folder == other / "06Bird" and config.folder == dataset / "06Bird"
    assert config.scoring_key() == AdConfig(str(dataset), "06Bird", TINY_FIELD, TINY_POSE, bank_size=256).scoring_key()
    assert "test_data" not in AdConfig(str(dataset), "06Bird").to_dict()
    assert AdConfig.from_dict(config.to_dict()) == config
    train(run, config)
    assert score(run)["scored"] == 5
    document = evaluate(run)
    assert document["test_images"] == 5 and document["test_data"] == str(other)
    assert document["pose_error"]["median_rotation_deg"] >= 0

    # through the CLI: the option is recorded in config.json; a test root without the category or
    # with another camera is a one-line error, and nothing is written
    cli_run = tmp_path / "cli"
    args = ["ad", "train", "--data", str(dataset), "--category", "Bird", "--run", str(cli_run), "--steps", "5",
            "--train-size", "32", "--resolution", "24"]
    assert main(args + ["--test-data", str(tmp_path / "other")]) == 0
    assert json.loads((cli_run / "config.json").read_text())["test_data"] == str(other.resolve())
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(args + ["--run", str(tmp_path / "r2"), "--test-data", str(empty)]) == 2
    assert "no 06Bird/test folder" in capsys.readouterr().err
    transforms = other / "06Bird" / "transforms.json"
    document = json.loads(transforms.read_text())
    transforms.write_text(json.dumps(document | {"camera_angle_x": document["camera_angle_x"] * 1.1}))
    assert main(args + ["--run", str(tmp_path / "r3"), "--test-data", str(other)]) == 2
    error = capsys.readouterr().err
    assert "camera_angle_x" in error and error.count("\n") == 1
    assert not (tmp_path / "r2").exists() and not (tmp_path / "r3").exists()


def test_pose_retrieval_from_renders_through_the_cli(dataset: Path, tmp_path: Path) -> None:
    """--pose-retrieval renders: recorded in config.json, scored with the render bank (a
    retrieved pose indexes the bank, not the training views), and a run without it keeps the
    config it always had."""
    run = tmp_path / "bank"
    args = ["ad", "train", "--data", str(dataset), "--category", "Bird", "--run", str(run), "--steps", "40",
            "--train-size", "32", "--resolution", "24", "--pose-steps", "5", "--candidates", "2", "--no-baseline"]
    assert main(args + ["--pose-retrieval", "renders"]) == 0
    assert json.loads((run / "config.json").read_text())["pose"]["retrieval"] == "renders"
    assert main(["ad", "score", "--run", str(run)]) == 0
    views = len(json.loads((dataset / "06Bird" / "transforms.json").read_text())["frames"])
    starts = [int(np.load(path)["start_index"]) for path in sorted((run / "scores").rglob("*.npz"))]
    assert len(starts) == 6 and all(0 <= start < views * 24 for start in starts)
    plain = tmp_path / "plain"
    assert main(args[:7] + [str(plain)] + args[8:]) == 0
    assert "retrieval" not in json.loads((plain / "config.json").read_text())["pose"]
