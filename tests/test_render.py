"""Real Cycles renders at the ``ci`` profile: camera convention, exact masks, determinism."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("bpy", reason="the bpy wheel is not installed")

from madgen.categories import load_scene  # noqa: E402
from madgen.dataset.images import composite_on_white, png_bytes  # noqa: E402
from madgen.ldraw import Library, load_assembly, points_to_blender  # noqa: E402
from madgen.profiles import load_profile  # noqa: E402
from madgen.render import RenderSession  # noqa: E402
from madgen.usecases.render_views import render_training_views  # noqa: E402
from madgen.rig import DEFAULT_CAMERA_ANGLE_X, Normalisation, focal_length, training_poses  # noqa: E402

from .conftest import REPO  # noqa: E402

CI = load_profile("ci")
FRONT, BACK, TOP = 72, 84, 204  # azimuth 0 / 180 at elevation 0, and azimuth 0 at 75 degrees


@pytest.fixture(scope="module")
def two_bricks(tmp_path_factory) -> Path:
    """A red 2x4 brick with a low blue 2x4 plate hidden right behind it (seen from the front)."""
    folder = tmp_path_factory.mktemp("model")
    path = folder / "two_bricks.ldr"
    path.write_text("0 Two bricks\n1 4 0 0 0 1 0 0 0 1 0 0 0 1 3001.dat\n"
                    "1 1 0 16 60 1 0 0 0 1 0 0 0 1 3020.dat\n")
    return path


@pytest.fixture(scope="module")
def session(two_bricks):
    assembly = load_assembly(two_bricks, library=Library(use_env=False))
    with RenderSession(assembly, CI) as render_session:
        yield assembly, render_session


def _project(points_m: np.ndarray, normalisation: Normalisation, c2w: np.ndarray, width: int) -> np.ndarray:
    world = normalisation.apply(points_m)
    camera = (np.c_[world, np.ones(len(world))] @ np.linalg.inv(c2w).T)[:, :3]
    focal = focal_length(width, DEFAULT_CAMERA_ANGLE_X)
    u = focal * camera[:, 0] / -camera[:, 2] + width / 2
    v = -focal * camera[:, 1] / -camera[:, 2] + width / 2
    return np.c_[u, v]


def test_silhouette_matches_projection_through_transforms_json(tmp_path) -> None:
    scene = load_scene("Gorilla")
    assembly = load_assembly(scene.model, library=Library(use_env=False))
    out = tmp_path / "01Gorilla"
    views = [0, 50, 100, 150, 200]
    render_training_views(assembly, "01Gorilla", out, CI, views="0:216:50")
    transforms = json.loads((out / "transforms.json").read_text())
    settings = json.loads((out / "madgen_render.json").read_text())
    normalisation = Normalisation(**{k: (tuple(v) if k == "centre" else v)
                                     for k, v in settings["normalisation"].items()})
    points = np.concatenate([points_to_blender(assembly.world_vertices(p).reshape(-1, 3))
                             for p in sorted(assembly.meshes)])
    assert [f["file_path"] for f in transforms["frames"]] == [f"train/good/{i}.png" for i in views]
    for frame in transforms["frames"]:
        image = np.asarray(Image.open(out / frame["file_path"]).convert("RGB"))
        assert image.shape == (128, 128, 3)
        rows, cols = np.nonzero((image < 250).any(axis=2))
        uv = _project(points, normalisation, np.array(frame["transform_matrix"]), 128)
        observed = np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1])
        expected = np.array([uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max()])
        assert np.abs(observed - expected).max() <= 2.0, (frame["file_path"], observed, expected)
        assert (image[0, 0] == 255).all()  # plain white background


def test_mask_is_non_empty_where_visible_and_empty_where_occluded(session) -> None:
    assembly, render_session = session
    poses = training_poses()
    front, back, top = (render_session.render(poses[i], seed=i) for i in (FRONT, BACK, TOP))
    red, blue = 0, 1
    assert front.mask([red]).sum() > 100 and front.mask([blue]).sum() == 0
    assert back.mask([blue]).sum() > 100 and back.mask([red]).sum() > 100  # the taller brick shows above
    assert top.mask([red]).sum() > 100 and top.mask([blue]).sum() > 100
    # the instance masks partition the exact silhouette, which agrees with the RGB alpha
    assert np.array_equal(top.mask(), top.mask([red]) | top.mask([blue]))
    alpha = top.rgba[:, :, 3]
    assert np.all(top.mask()[alpha == 255]) and not np.any(top.mask()[alpha == 0])


def test_same_view_renders_byte_identical(session) -> None:
    _, render_session = session
    pose = training_poses()[TOP]
    first = png_bytes(composite_on_white(render_session.render(pose, seed=5).rgba))
    second = png_bytes(composite_on_white(render_session.render(pose, seed=5).rgba))
    assert first == second


def test_separate_runs_write_identical_files(two_bricks, tmp_path) -> None:
    assembly = load_assembly(two_bricks, library=Library(use_env=False))
    for name in ("a", "b"):
        render_training_views(assembly, "two", tmp_path / name, CI, views="70:73", seed=9)
    for relative in ("train/good/70.png", "train/good/72.png", "transforms.json", "madgen_render.json"):
        assert (tmp_path / "a" / relative).read_bytes() == (tmp_path / "b" / relative).read_bytes(), relative


@pytest.mark.skipif(shutil.which("blender") is None, reason="no blender binary on PATH")
def test_blender_binary_entry_point_matches_the_bpy_path(two_bricks, tmp_path) -> None:
    args = ["--model", str(two_bricks), "--views", "72", "--profile", "ci", "--seed", "3"]
    assembly = load_assembly(two_bricks, library=Library(use_env=False))
    result = subprocess.run(["blender", "-b", "--factory-startup", "-P", str(REPO / "render.py"), "--", *args,
                             "--out", str(tmp_path / "cli")], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    version = subprocess.run(["blender", "-b", "--factory-startup", "--version"], capture_output=True,
                             text=True).stdout
    import bpy
    if bpy.app.version_string.split()[0] in version:
        render_training_views(assembly, "two_bricks", tmp_path / "bpy", CI, views="72", seed=3)
        assert (tmp_path / "cli/train/good/72.png").read_bytes() == (tmp_path / "bpy/train/good/72.png").read_bytes()
    else:
        assert (tmp_path / "cli/train/good/72.png").is_file()
