"""``madgen build`` end to end at the ``ci`` profile: layout, manifest, resume, shards, Ray."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("bpy", reason="the bpy wheel is not installed")

from madgen.pipeline.config import resolve_config  # noqa: E402
from madgen.pipeline.run import build_dataset  # noqa: E402
from madgen.cli import main  # noqa: E402
from madgen.dataset.manifest import verify  # noqa: E402
from madgen.dataset.validate import validate  # noqa: E402

from .conftest import REPO  # noqa: E402

OPTIONS = {"categories": ("Bird",), "profile": "ci", "train_views": "0:216:54", "test_good": 2,
           "test_per_defect": 1, "chunk_size": 2, "seed": 5}
ARGS = ["build", "--category", "Bird", "--profile", "ci", "--train-views", "0:216:54", "--test-good", "2",
        "--test-per-defect", "1", "--chunk-size", "2", "--seed", "5"]


def tree(folder: Path) -> dict[str, str]:
    """sha256 of every file under a category folder, by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def build(out: Path, **changes: object):  # noqa: ANN201
    return build_dataset(resolve_config(options={**OPTIONS, "out": str(out), **changes}))


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    report = build(out)
    assert not report.failures and report.complete == {"06Bird": True}
    assert report.rendered == 4 + 2 + 3
    return out


def test_layout_manifest_validate_verify(clean: Path) -> None:
    folder = clean / "06Bird"
    names = set(tree(folder))
    assert {"train/good/0.png", "train/good/162.png", "test/good/1.png", "test/Burrs/0.png",
            "ground_truth/Missing/0_mask.png", "transforms.json", "manifest.json"} <= names
    assert len([n for n in names if n.endswith(".png")]) == 9 + 3
    assert validate(clean).ok and verify(clean).ok
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["profile"]["name"] == "ci"
    assert manifest["blender_version"] and manifest["madgen_version"] and manifest["ldraw_roots"]
    assert "executor" not in manifest["config"] and manifest["config"]["test_good"] == 2
    burrs = next(f for f in manifest["files"] if f["split"] == "test/Burrs")
    assert burrs["defect"]["type"] == "Burrs" and burrs["mask"] == "ground_truth/Burrs/0_mask.png"
    assert len(burrs["pose"]["matrix"]) == 4 and len(burrs["sha256"]) == 64
    attributes = burrs["attributes"]
    assert attributes["mask_px"] > 0 and attributes["instances"] and attributes["parts"]
    assert attributes["mask_fraction"] == pytest.approx(attributes["mask_px"] / 128 ** 2, abs=1e-6)
    assert attributes["contrast_delta_e"] >= 0 and isinstance(attributes["touches_outline"], bool)
    transforms = json.loads((folder / "transforms.json").read_text())
    frames = transforms["frames"]
    assert [f["file_path"] for f in frames] == [f"train/good/{i}.png" for i in (0, 54, 108, 162)]
    # the framing is recorded where a user looks for it: the same scale in transforms and manifest
    assert manifest["normalisation"]["framing"] == "extent"
    assert manifest["normalisation"]["median_extent"] == pytest.approx(0.67, abs=1e-3)
    assert transforms["madgen_normalisation"] == manifest["normalisation"]
    assert manifest["model"]["file"] == "06Bird.ldr" and len(manifest["model"]["sha256"]) == 64
    assert json.loads((clean / "madgen_build.json").read_text())["chunk_size"] == 2


def test_validation_split_is_beside_test_and_apart_from_it(tmp_path: Path) -> None:
    out = tmp_path / "val"
    report = build(out, train_views="0", test_good=1, test_per_defect=0, val_good=1, val_per_defect=1)
    assert not report.failures and report.complete == {"06Bird": True}
    folder = out / "06Bird"
    names = set(tree(folder))
    assert {"val/test/good/0.png", "val/test/Stains/0.png", "val/ground_truth/Stains/0_mask.png"} <= names
    assert not any(n.startswith(("test/Stains", "ground_truth/")) for n in names)
    assert validate(out).ok and verify(out).ok


def test_rerun_skips_and_repairs(clean: Path, tmp_path: Path) -> None:
    before = tree(clean / "06Bird")
    again = build(clean)
    assert (again.rendered, again.skipped) == (0, 9) and tree(clean / "06Bird") == before
    (clean / "06Bird" / "test" / "Stains" / "0.png").write_bytes(b"damaged")
    (clean / "06Bird" / "train" / "good" / "54.png").unlink()
    repaired = build(clean)
    assert repaired.rendered == 2 and tree(clean / "06Bird") == before


def test_killed_build_resumes_byte_identical(clean: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-m", "madgen.cli", *ARGS, "--out", str(out)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and not list((out / ".madgen" / "06Bird").glob("*.json")):
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert not (out / "06Bird" / "manifest.json").exists(), "the build finished before it could be killed"
    resumed = build(out)
    assert resumed.skipped >= 1 and resumed.rendered < 9
    assert tree(out / "06Bird") == tree(clean / "06Bird")


def test_shards_union_equals_the_whole(clean: Path, tmp_path: Path) -> None:
    out = tmp_path / "sharded"
    first = build(out, shard="0/2")
    assert first.complete == {"06Bird": False} and not (out / "06Bird" / "manifest.json").exists()
    second = build(out, shard="1/2")
    assert second.complete == {"06Bird": True}
    assert first.rendered + second.rendered == 9
    assert tree(out / "06Bird") == tree(clean / "06Bird")


def test_ray_executor_with_two_workers(clean: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    out = tmp_path / "ray"
    report = build(out, executor="ray", address="local", workers=2)
    assert not report.failures and report.rendered == 9
    assert tree(out / "06Bird") == tree(clean / "06Bird")


def test_cli_build_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    assert main([*ARGS, "--out", str(out), "--test-per-defect", "0", "--defects", "Stains"]) == 0
    printed = capsys.readouterr().out
    assert "06Bird" in printed and "complete" in printed
    assert main(["validate", str(out)]) == 0 and main(["verify", str(out)]) == 0
    assert main(["build", "--category", "Dragon", "--out", str(out)]) == 2
    assert "unknown category 'Dragon'" in capsys.readouterr().err
    assert main([*ARGS, "--out", str(out), "--defects", "Dents"]) == 2
    assert "Dents" in capsys.readouterr().err
    bad = tmp_path / "bad.ldr"
    bad.write_text("1 4 0 0 0 1 0 0 0 1 0 0 0 1 no_such_part.dat\n")
    assert main(["build", "--model", str(bad), "--out", str(out), "--profile", "ci"]) == 2
    error = capsys.readouterr().err
    assert "no_such_part.dat" in error and "Traceback" not in error and len(error.strip().splitlines()) == 1
    assert tree(out / "06Bird")  # nothing already written was lost


def test_build_from_a_users_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "models" / "dragon.ldr"
    model.parent.mkdir()
    model.write_text("0 My dragon\r\n0 Name: dragon.ldr\r\n0 STEP\r\n"
                     "1 4 0 0 0 1 0 0 0 1 0 0 0 1 3001.dat\r\n1 14 0 -24 0 1 0 0 0 1 0 0 0 1 3003.dat\r\n"
                     "0 ROTSTEP 0 45 0 ABS\r\n1 2 40 0 0 1 0 0 0 1 0 0 0 1 3004.dat\r\n"
                     "1 1 -40 0 0 -1 0 0 0 1 0 0 0 1 3039.dat\r\n")
    out = tmp_path / "out"
    args = ["build", "--model", str(model), "--name", "Dragon", "--profile", "ci", "--train-views", "0:216:108",
            "--test-good", "1", "--test-per-defect", "1", "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    capsys.readouterr()
    folder = out / "Dragon"
    assert (folder / "test" / "Missing" / "0.png").is_file()
    assert (folder / "ground_truth" / "Burrs" / "0_mask.png").is_file()
    assert validate(out).ok and verify(out).ok
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["category"] == "Dragon" and manifest["config"]["model"] == str(model)
    # a YAML beside the model overrides its settings; a bad key is one line naming file and key
    model.with_suffix(".yaml").write_text("missing:\n  eligibel: auto\n")
    assert main(args) == 2
    error = capsys.readouterr().err
    assert "dragon.yaml: key 'missing.eligibel'" in error and len(error.strip().splitlines()) == 1


def test_custom_defect_types_become_folders(tmp_path: Path) -> None:
    out = tmp_path / "custom"
    code = main(["build", "--category", "Bird", "--profile", "ci", "--train-views", "0", "--test-good", "0",
                 "--test-per-defect", "1", "--defects", "Scratches,Bumps",
                 "--template", str(REPO / "examples" / "defects" / "scratches.yaml"),
                 "--plugin", "examples.defects.bump_plugin:Bumps", "--out", str(out)])
    assert code == 0
    folder = out / "06Bird"
    for name in ("Scratches", "Bumps"):
        assert (folder / "test" / name / "0.png").is_file()
        assert (folder / "ground_truth" / name / "0_mask.png").is_file()
    assert not (folder / "test" / "Burrs").exists()
    assert validate(out).ok and verify(out).ok
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["defect_templates"]) == {"Scratches", "Bumps"}


def test_build_after_another_scene_reset_blender(tmp_path: Path) -> None:
    """The worker's cached scene is rebuilt when something else in the process reset Blender."""
    from madgen.ldraw import Library, load_assembly
    from madgen.profiles import load_profile
    from madgen.render import RenderSession

    out = tmp_path / "again"
    first = build(out, train_views="0", test_good=0, test_per_defect=0)
    assert first.rendered == 1 and not first.failures
    gorilla = load_assembly(REPO / "scenes" / "01Gorilla.ldr", library=Library(use_env=False))
    RenderSession(gorilla, load_profile("ci")).close()
    (out / "06Bird" / "train" / "good" / "0.png").unlink()
    second = build(out, train_views="0", test_good=0, test_per_defect=0)
    assert second.rendered == 1 and not second.failures
