"""The ``mad-real`` profile (issue #16): validation, the drawn looks and poses, and a small build.

Pure tests first (profile, plan, layout, noise), then one ci-size mad-real build of Bird, built
twice: byte-identical, valid, verified, with object silhouettes, and defect masks that never
cover background pixels.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from madgen.pipeline.plan import TRAIN, plan_category
from madgen.errors import MadgenError
from madgen.profiles import load_profile
from madgen.profiles.realism import Realism
from madgen.realism import bench_frame, draw_look, layout, sensor_noise, spread_views
from madgen.rig import RigConfig, look_at, spherical_position, training_poses


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"realism.lights": "0,4"}, "override: key 'realism.lights': (0, 4) is not two integers low <= high "
                                    "within 1..3"),
        ({"realism.bench_tilt_deg": "40,20"}, "key 'realism.bench_tilt_deg': (40.0, 20.0) is not two numbers "
                                              "low <= high within 5..80"),
        ({"realism.surfaces": "wood,glass"}, "key 'realism.surfaces': ('wood', 'glass') is not a non-empty list "
                                             "(no repeats) of wood, rubber, metal, fabric"),
        ({"realism.aim_jitter": "0.5"}, "key 'realism.aim_jitter': 0.5 is not a number within 0..0.2"),
        ({"realism.noise_sigma": "loud"}, "key 'realism.noise_sigma': expected two numbers low,high, got 'loud'"),
        ({"realism.sky": "1"}, "override: unknown key 'realism.sky' (known: aim_jitter,"),
    ],
)
def test_realism_errors_name_key_and_range(overrides: dict, message: str) -> None:
    with pytest.raises(MadgenError) as raised:
        load_profile("mad-real", overrides)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_realism_yaml_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("resolution: 64\nrealism:\n  light_size: [3, 1]\n")
    with pytest.raises(MadgenError, match=r"mine.yaml: key 'realism.light_size': \(3.0, 1.0\) is not two numbers"):
        load_profile(str(path))
    path.write_text("realism: 3\n")
    with pytest.raises(MadgenError, match="mine.yaml: key 'realism': expected a mapping"):
        load_profile(str(path))


def test_mad_real_profile_and_studio_records() -> None:
    real = load_profile("mad-real")
    assert real.realism == Realism() and real.object_masks and real.realism.train_views == 48
    assert load_profile("mad-real", {"realism.lights": "2", "samples": "4"}).realism.lights == (2, 2)
    # the studio profiles' records (manifests, resume keys) keep exactly their old keys
    assert "realism" not in load_profile("standard").to_dict()
    assert "object_masks" not in load_profile("ci").to_dict()
    assert type(real).from_dict(json.loads(json.dumps(real.to_dict()))) == real


def test_plan_draws_looks_and_true_jittered_poses() -> None:
    realism = load_profile("mad-real").realism
    plan = plan_category("06Bird", 0, RigConfig(), "all", 3, ["Stains"], 2, realism=realism)
    train = [job for job in plan.jobs if job.split == TRAIN]
    assert [job.index for job in train] == list(range(48))
    rig = training_poses(RigConfig())
    for job in plan.jobs:
        assert job.look is not None and 1 <= len(job.look["lights"]) <= 3
        matrix = job.pose.camera_to_world
        assert np.allclose(matrix[:3, :3].T @ matrix[:3, :3], np.eye(3), atol=1e-9)
        nominal = job.look["camera"]["rig_pose"]
        assert abs(job.pose.distance - nominal["distance"]) <= 0.02 * nominal["distance"] + 1e-9
    # training views: each near its rig view but not on it (a hand-held camera), 48 distinct rig views
    rig_views = {(j.look["camera"]["rig_pose"]["azimuth_deg"], j.look["camera"]["rig_pose"]["elevation_deg"])
                 for j in train}
    assert len(rig_views) == 48
    first = rig[spread_views(rig, 48)[0]]
    assert not np.allclose(train[0].pose.camera_to_world, first.camera_to_world)
    axes = train[0].pose.camera_to_world[:3, 2] @ first.camera_to_world[:3, 2]  # the optical axes
    assert 0 < np.degrees(np.arccos(np.clip(axes, -1, 1))) < 2.0
    # pure and seeded: the same seed gives the same plan, another seed other benches and lights
    assert plan == plan_category("06Bird", 0, RigConfig(), "all", 3, ["Stains"], 2, realism=realism)
    other = plan_category("06Bird", 1, RigConfig(), "all", 3, ["Stains"], 2, realism=realism)
    changed = [(a.look["bench"] != b.look["bench"], a.look["lights"] != b.look["lights"])
               for a, b in zip(plan.jobs, other.jobs)]
    assert all(bench and lights for bench, lights in changed)
    # an explicit selection keeps its rig indexes
    assert [j.index for j in plan_category("06Bird", 0, RigConfig(), "0:216:100", 0, [], 0,
                                           realism=realism).jobs] == [0, 100, 200]


def test_spread_views_cover_the_rig() -> None:
    rig = training_poses(RigConfig())
    chosen = spread_views(rig, 48)
    assert len(set(chosen)) == 48 and chosen == sorted(chosen)
    directions = np.array([rig[i].view_direction() for i in chosen])
    everything = np.array([pose.view_direction() for pose in rig])
    nearest = np.degrees(np.arccos(np.clip(everything @ directions.T, -1, 1))).min(axis=1)
    assert nearest.max() < 22.0  # every rig view is within 22 degrees of a chosen one
    assert len({round(rig[i].elevation_deg) for i in chosen}) == 9  # every ring is used


def test_layout_never_puts_the_environment_in_front_of_the_toy() -> None:
    realism = Realism(clutter=(8, 8), lights=(3, 3))
    rng = np.random.default_rng(0)
    toy = rng.normal(size=(400, 3)) * np.array([0.9, 0.5, 0.7])
    for seed in range(40):
        look = draw_look(realism, seed)
        pose = look_at(spherical_position(rng.uniform(0, 360), rng.uniform(-45, 75), 4.0))
        placed = layout(look, pose, toy, 0.6911)
        eye, view = pose[:3, 3], -pose[:3, 2]
        normal = bench_frame(pose, look["bench"]["tilt_deg"], look["bench"]["roll_deg"])[:, 2]
        bench = np.array(placed["bench"])
        height = bench[:3, 3] @ normal
        assert (toy @ normal).min() >= height and eye @ normal > height  # toy on the bench, camera above it
        toy_far = ((toy - eye) @ view).max()
        for item, matrix in zip(look["clutter"], placed["clutter"]):
            matrix = np.array(matrix)
            size, tall = item["size"], item["size"] * item["aspect"]
            corners = np.array([[x, y, z] for x in (-0.75, 0.75) for y in (-0.75, 0.75) for z in (0.0, 1.0)])
            corners = corners * np.array([size, size, tall])
            points = corners @ matrix[:3, :3].T + matrix[:3, 3]
            assert ((points - eye) @ view).min() > toy_far  # behind the toy: it cannot hide any of it
        backdrop = np.array(placed["backdrop"])
        assert (backdrop[:3, 3] - eye) @ view > toy_far


def test_sensor_noise_is_seeded() -> None:
    grey = np.full((32, 32, 3), 128, np.uint8)
    noisy = sensor_noise(grey, 2.0, 5)
    assert np.array_equal(noisy, sensor_noise(grey, 2.0, 5)) and not np.array_equal(noisy, sensor_noise(grey, 2.0, 6))
    assert 1.0 < float(np.std(noisy.astype(float) - 128)) < 3.0
    assert np.array_equal(sensor_noise(grey, 0.0, 5), grey)


# ---- a ci-size mad-real build (Blender) ----

OPTIONS = {"categories": ("Bird",), "profile": "mad-real", "train_views": "0:216:108", "test_good": 1,
           "test_per_defect": 1, "seed": 0,
           "overrides": {"resolution": 96, "samples": 2, "denoise": False, "max_bounces": 2}}


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".madgen" not in p.parts
            and p.name != "madgen_build.json"}


@pytest.fixture(scope="module")
def real_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("bpy", reason="the bpy wheel is not installed")
    from madgen.pipeline.config import resolve_config
    from madgen.pipeline.run import build_dataset

    out = tmp_path_factory.mktemp("mad-real")
    report = build_dataset(resolve_config(options={**OPTIONS, "out": str(out)}))
    assert not report.failures and all(report.complete.values())
    return out


def test_mad_real_build_is_valid_and_byte_identical(real_build: Path, tmp_path: Path) -> None:
    from madgen.pipeline.config import resolve_config
    from madgen.pipeline.run import build_dataset
    from madgen.dataset.manifest import read_manifest, verify
    from madgen.dataset.validate import validate

    assert validate(real_build).ok and verify(real_build).ok
    category = real_build / "06Bird"
    manifest = read_manifest(category)
    for record in manifest["files"]:
        assert record["look"]["bench"]["kind"] in ("wood", "rubber", "metal", "fabric")
        assert record["object_mask"] == f"object_masks/{record['file']}"
    # the written poses are the true, jittered ones: transforms.json equals the manifest's poses
    transforms = json.loads((category / "transforms.json").read_text())
    poses = {r["file"]: r["pose"]["matrix"] for r in manifest["files"]}
    for frame in transforms["frames"]:
        assert np.allclose(frame["transform_matrix"], poses[frame["file_path"]])
    # a re-run does nothing; a fresh build of the same seed is byte-identical
    again = build_dataset(resolve_config(options={**OPTIONS, "out": str(real_build)}))
    assert again.rendered == 0
    fresh = build_dataset(resolve_config(options={**OPTIONS, "out": str(tmp_path / "fresh")}))
    assert fresh.rendered > 0 and _hashes(tmp_path / "fresh") == _hashes(real_build)
    # two shards, one after the other, make the same dataset (the last one writes the manifest)
    for shard in ("0/2", "1/2"):
        build_dataset(resolve_config(options={**OPTIONS, "out": str(tmp_path / "sharded"), "shard": shard}))
    assert _hashes(tmp_path / "sharded") == _hashes(real_build)
    # another seed: another bench, backdrop and light in the pixels
    other = tmp_path / "seed1"
    build_dataset(resolve_config(options={**OPTIONS, "out": str(other), "seed": 1, "test_good": 0,
                                          "test_per_defect": 0, "defects": ()}))
    first = read_manifest(other / "06Bird")["files"][0]
    assert first["look"]["bench"] != manifest["files"][0]["look"]["bench"]
    assert first["look"]["lights"] != manifest["files"][0]["look"]["lights"]
    assert first["sha256"] != manifest["files"][0]["sha256"]


def test_defect_masks_never_cover_background(real_build: Path) -> None:
    import cv2
    from PIL import Image

    from madgen.categories import load_scene
    from madgen.dataset.manifest import read_manifest
    from madgen.defects.coverage import object_silhouette
    from madgen.ldraw import load_assembly
    from madgen.profiles import RenderProfile
    from madgen.render import RenderSession
    from madgen.rig import CameraPose, Normalisation

    category = real_build / "06Bird"
    manifest = read_manifest(category)
    profile = RenderProfile.from_dict(manifest["profile"])
    anomalous = [r for r in manifest["files"] if r.get("mask")]
    assert {r["split"] for r in anomalous} == {"test/Burrs", "test/Missing", "test/Stains"}

    def read(name: str) -> np.ndarray:
        with Image.open(category / name) as image:
            return np.asarray(image.convert("L")) > 127

    kernel = np.ones((3, 3), np.uint8)
    with RenderSession(load_assembly(load_scene("06Bird").model), profile,
                       normalisation=Normalisation.from_dict(manifest["normalisation"])) as session:
        for record in anomalous:
            mask = read(record["mask"])
            assert mask.any()
            # the object in the defective image (its silhouette) and, for a missing part, in the good one
            pose = CameraPose.from_dict(record["pose"])
            session.set_look(record["look"], pose)  # the bench may hide part of the toy
            good_ids, good_added, _ = session.render_id_layers(pose).point_sampled()
            allowed = read(record["object_mask"]) | object_silhouette(good_ids, good_added)
            # masks take a pixel at 10% coverage, silhouettes at its centre: allow the one-pixel fringe
            allowed = cv2.dilate(allowed.astype(np.uint8), kernel).astype(bool)
            assert not (mask & ~allowed).any(), f"{record['mask']}: covers background pixels"


def test_object_masks_are_each_views_own_silhouette(real_build: Path) -> None:
    """Good views render in batches (all colour passes, then all ID passes); each ID pass must see
    its own view's bench, not the last one's, or the bench hides the toy and the silhouette is empty."""
    from PIL import Image

    from madgen.categories import load_scene
    from madgen.dataset.manifest import read_manifest
    from madgen.defects.coverage import object_silhouette
    from madgen.ldraw import load_assembly
    from madgen.profiles import RenderProfile
    from madgen.render import RenderSession
    from madgen.rig import CameraPose, Normalisation

    category = real_build / "06Bird"
    manifest = read_manifest(category)
    good = [r for r in manifest["files"] if not r.get("mask")]
    assert len(good) >= 3  # two training views and a good test view: batched together
    with RenderSession(load_assembly(load_scene("06Bird").model), RenderProfile.from_dict(manifest["profile"]),
                       normalisation=Normalisation.from_dict(manifest["normalisation"])) as session:
        for record in good:
            pose = CameraPose.from_dict(record["pose"])
            session.set_look(record["look"], pose)
            ids, added, _ = session.render_id_layers(pose, scale=1).point_sampled()
            with Image.open(category / record["object_mask"]) as image:
                written = np.asarray(image.convert("L")) > 127
            assert written.mean() > 0.02, f"{record['object_mask']}: (nearly) empty"
            assert np.array_equal(written, object_silhouette(ids, added)), record["object_mask"]


def test_realism_session_refuses_to_render_undressed_and_uses_agx() -> None:
    """Before a look is set the bench and lights sit at the origin: rendering then is an error,
    not a garbage image; and the colour pass uses the AgX tone curve the README describes."""
    from madgen.categories import load_scene
    from madgen.errors import MadgenError
    from madgen.ldraw import load_assembly
    from madgen.profiles import load_profile
    from madgen.render import RenderSession
    from madgen.rig import training_poses

    profile = load_profile("mad-real")
    with RenderSession(load_assembly(load_scene("06Bird").model), profile) as session:
        assert session.rgb_scene.view_settings.view_transform == "AgX"
        pose = training_poses()[0]
        with pytest.raises(MadgenError, match="drawn look"):
            session.render_ids(pose)
        with pytest.raises(MadgenError, match="drawn look"):
            session.render_probe(pose, 0)


def test_render_command_makes_the_build_s_training_views(real_build: Path, tmp_path: Path) -> None:
    """``madgen render`` (and ``render.py``) with the mad-real profile writes what ``madgen build``
    writes for the same views and seed: the photographed look, the hand-held pose in
    transforms.json, and the object silhouettes; with ``views`` all, the profile's spread views."""
    from madgen.categories import load_scene
    from madgen.ldraw import Library, load_assembly
    from madgen.realism import realistic_view
    from madgen.seeds import derive_seed
    from madgen.usecases.render_views import render_training_views

    profile = load_profile("mad-real", {k: str(v) for k, v in OPTIONS["overrides"].items()})
    assembly = load_assembly(load_scene("Bird").model, library=Library(use_env=False))
    out = tmp_path / "06Bird"
    render_training_views(assembly, "06Bird", out, profile, views=OPTIONS["train_views"], seed=0)
    built = real_build / "06Bird"
    for relative in ("train/good/0.png", "train/good/108.png", "object_masks/train/good/0.png",
                     "object_masks/train/good/108.png"):
        assert (out / relative).read_bytes() == (built / relative).read_bytes(), relative
    ours = {f["file_path"]: f["transform_matrix"] for f in json.loads((out / "transforms.json").read_text())["frames"]}
    theirs = {f["file_path"]: f["transform_matrix"] for f in json.loads((built / "transforms.json").read_text())["frames"]}
    assert ours.keys() == theirs.keys() and all(np.allclose(ours[k], theirs[k]) for k in ours)
    # views "all": the profile's spread views, numbered from 0, at their jittered poses
    few = load_profile("mad-real", {**{k: str(v) for k, v in OPTIONS["overrides"].items()}, "realism.train_views": "2"})
    render_training_views(assembly, "06Bird", tmp_path / "spread", few, seed=0)
    frames = json.loads((tmp_path / "spread" / "transforms.json").read_text())["frames"]
    assert [f["file_path"] for f in frames] == ["train/good/0.png", "train/good/1.png"]
    rig = training_poses(RigConfig())
    for number, (frame, index) in enumerate(zip(frames, spread_views(rig, 2))):
        pose, _ = realistic_view(rig[index], few.realism, derive_seed(0, "06Bird", "train", number))
        assert np.allclose(frame["transform_matrix"], pose.camera_to_world, atol=1e-6)
    assert sorted(p.name for p in (tmp_path / "spread" / "object_masks" / "train" / "good").iterdir()) == ["0.png", "1.png"]
