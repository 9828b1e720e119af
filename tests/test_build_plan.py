"""The pure half of ``madgen build``: config resolution, the job plan, shards and job keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from madgen.pipeline.config import BuildConfig, Shard, resolve_config
from madgen.pipeline.plan import TEST_GOOD, TRAIN, plan_category, shard_units, work_units
from madgen.errors import MadgenError
from madgen.rig import RigConfig


def test_defaults_match_mad_sim_counts() -> None:
    config = resolve_config()
    assert config.categories == ("01Gorilla",)
    plan = plan_category("01Gorilla", 0, RigConfig(), config.train_views, config.test_good, config.defects,
                         config.test_per_defect)
    counts = {split: sum(1 for job in plan.jobs if job.split == split) for split in plan.splits()}
    assert counts == {TRAIN: 216, TEST_GOOD: 90, "test/Burrs": 80, "test/Missing": 80, "test/Stains": 80}
    assert sum(counts.values()) == 546  # MAD-Sim has about 550 images per category


def test_category_names_resolve_and_all_expands() -> None:
    assert resolve_config(options={"categories": ("gorilla", "6", "01Gorilla")}).categories == ("01Gorilla", "06Bird")
    assert len(resolve_config(options={"categories": ("all",)}).categories) == 20
    with pytest.raises(MadgenError, match="unknown category 'Dragon'"):
        resolve_config(options={"categories": ("Dragon",)})


def test_yaml_config_then_command_line(tmp_path: Path) -> None:
    path = tmp_path / "my.yaml"
    path.write_text("categories: [Bird]\nseed: 7\ntest-good: 5\nrig:\n  azimuth_step_deg: 30\n"
                    "overrides: {samples: 2}\n")
    config = resolve_config(path, {"seed": 9, "out": None})
    assert (config.categories, config.seed, config.test_good) == (("06Bird",), 9, 5)
    assert config.rig.azimuth_step_deg == 30.0 and config.overrides == {"samples": 2}
    assert config.to_dict()["rig"]["azimuth_step_deg"] == 30.0


@pytest.mark.parametrize("text, message", [
    ("colour: red\n", "my.yaml: unknown key 'colour'"),
    ("test_good: many\n", "my.yaml: key 'test_good': expected an integer, got 'many'"),
    ("test_good: -1\n", "my.yaml: key 'test_good': -1 is not an integer within 0..100000"),
    ("executor: slurm\n", "my.yaml: key 'executor': 'slurm' is not one of"),
    ("rig: {tilt: 3}\n", "my.yaml: key 'rig.tilt' is unknown"),
    ("shard: 3/2\n", "--shard '3/2': expected i/n with 0 <= i < n"),
    ("defects: [Burrs, Burrs]\n", "key 'defects'"),
])
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "my.yaml"
    path.write_text(text)
    with pytest.raises(MadgenError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve_config(path)


def test_model_replaces_the_default_category() -> None:
    config = resolve_config(options={"model": "dragon.ldr"})
    assert config.categories == () and config.model == "dragon.ldr"
    with pytest.raises(MadgenError, match="not both"):
        resolve_config(options={"model": "dragon.ldr", "categories": ("Bird",)})


def test_plan_is_deterministic_and_seeded() -> None:
    def plan(seed: int):  # noqa: ANN202
        return plan_category("06Bird", seed, RigConfig(), "0:216:50", 4, ["Stains", "Missing"], 3)

    first, again, other = plan(1), plan(1), plan(2)
    assert [j.to_dict() for j in first.jobs] == [j.to_dict() for j in again.jobs]
    assert [j.seed for j in first.jobs] != [j.seed for j in other.jobs]
    test_poses = [j.pose.matrix for j in first.jobs if j.split != TRAIN]
    assert test_poses != [j.pose.matrix for j in other.jobs if j.split != TRAIN]
    stains = [j for j in first.jobs if j.defect == "Stains"]
    assert [j.image_path for j in stains] == ["test/Stains/0.png", "test/Stains/1.png", "test/Stains/2.png"]
    assert stains[2].mask_path == "ground_truth/Stains/2_mask.png"
    train = [j.image_path for j in first.jobs if j.split == TRAIN]
    assert train == [f"train/good/{i}.png" for i in (0, 50, 100, 150, 200)]


def test_fewer_test_images_keep_the_first_poses() -> None:
    small = plan_category("06Bird", 0, RigConfig(), "0", 2, [], 0)
    large = plan_category("06Bird", 0, RigConfig(), "0", 5, [], 0)
    assert [j.to_dict() for j in small.jobs] == [j.to_dict() for j in large.jobs[:3]]


def test_shards_partition_the_units() -> None:
    plans = [plan_category(c, 0, RigConfig(), "0:216:10", 9, ["Burrs"], 7) for c in ("01Gorilla", "06Bird")]
    units = work_units(plans, 4)
    assert all(len(u.jobs) <= 4 and len({j.split for j in u.jobs}) == 1 for u in units)
    shards = [shard_units(units, Shard(i, 3)) for i in range(3)]
    ids = [(u.category, u.unit_id) for shard in shards for u in shard]
    assert sorted(ids) == sorted((u.category, u.unit_id) for u in units) and len(set(ids)) == len(ids)
    assert all(shards)


def test_job_key_follows_fingerprint_and_job() -> None:
    job = plan_category("06Bird", 0, RigConfig(), "3", 0, [], 0).jobs[0]
    assert job.key("a") == job.key("a") != job.key("b")
    moved = plan_category("06Bird", 1, RigConfig(), "3", 0, [], 0).jobs[0]
    assert moved.key("a") != job.key("a")


def test_units_round_trip_through_json() -> None:
    import json

    from madgen.pipeline.plan import WorkUnit

    unit = work_units([plan_category("06Bird", 0, RigConfig(), "0:3", 2, ["Burrs"], 2)], 8)[-1]
    assert WorkUnit.from_dict(json.loads(json.dumps(unit.to_dict()))) == unit


def test_config_defaults_are_valid() -> None:
    BuildConfig().validate()


def test_validation_poses_and_seeds_are_apart_from_the_test_split() -> None:
    import numpy as np

    from madgen.rig import angular_distance_deg

    rig = RigConfig()
    plan = plan_category("06Bird", 3, rig, "0:216:10", 20, ["Burrs", "Stains"], 20, 20, 20)
    test = [job for job in plan.jobs if job.split.startswith("test/")]
    val = [job for job in plan.jobs if job.split.startswith("val/")]
    assert len(test) == 60 and len(val) == 60
    assert {job.split for job in val} == {"val/test/good", "val/test/Burrs", "val/test/Stains"}
    assert {job.mask_path for job in val if job.defect} >= {"val/ground_truth/Burrs/0_mask.png"}
    assert not {job.seed for job in val} & {job.seed for job in test}
    gaps = angular_distance_deg(np.array([j.pose.view_direction() for j in val]),
                                np.array([j.pose.view_direction() for j in test]))
    assert gaps.min() >= rig.test_min_angle_deg
    # the test split is the same with or without a validation set
    plain = plan_category("06Bird", 3, rig, "0:216:10", 20, ["Burrs", "Stains"], 20)
    assert [j.to_dict() for j in plain.jobs] == [j.to_dict() for j in plan.jobs if not j.split.startswith("val/")]
