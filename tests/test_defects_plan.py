"""Defect plans and templates, without Blender: deterministic, JSON round trip, clear errors."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from madgen.categories import load_scene
from madgen.defects import BUILTIN_TYPES, DefectPlan, PlanContext, burr_mesh, load_registry
from madgen.errors import MadgenError
from madgen.ldraw import Library, load_assembly, points_to_blender
from madgen.rig import Normalisation, sample_test_poses

from .conftest import REPO
from .geometry_checks import outward_fraction, signed_volume

SCRATCHES = REPO / "examples" / "defects" / "scratches.yaml"
BUMPS = "examples.defects.bump_plugin:Bumps"


@pytest.fixture(scope="module")
def context_factory():
    assembly = load_assembly(load_scene("Gorilla").model, library=Library(use_env=False))
    points = np.concatenate([points_to_blender(assembly.world_vertices(p).reshape(-1, 3)) for p in assembly.meshes])
    normalisation = Normalisation.fit(points)
    pose = sample_test_poses(1, seed=4)[0]

    def make(visible: dict[int, int] | None = None) -> PlanContext:
        return PlanContext(assembly, pose, 400, normalisation, dict(visible or {}))

    return make


def test_builtin_types_and_templates() -> None:
    registry = load_registry(use_entry_points=False)
    assert registry.names() == list(BUILTIN_TYPES)
    assert {registry.get(n).template.kind for n in BUILTIN_TYPES} == {"missing", "burrs", "stains"}
    assert registry.get("stains").template.min_pixels(400, 400) == 80  # 0.05% of the image


@pytest.mark.parametrize("name", ["Missing", "Burrs", "Stains", "Scratches", "Bumps"])
def test_plans_are_deterministic_and_round_trip_json(name, context_factory) -> None:
    registry = load_registry([SCRATCHES], [BUMPS], use_entry_points=False)
    entry = registry.get(name)
    visible = {i: 200 + i for i in range(0, 190, 3)}
    first = entry.injector.plan(entry.template, context_factory(visible), seed=11, attempt=0)
    again = entry.injector.plan(entry.template, context_factory(visible), seed=11, attempt=0)
    other = entry.injector.plan(entry.template, context_factory(visible), seed=11, attempt=1)
    assert first.to_dict() == again.to_dict()
    assert first.to_dict() != other.to_dict()
    assert set(first.targets) <= set(visible)
    restored = DefectPlan.from_dict(json.loads(json.dumps(first.to_dict())))
    assert restored.to_dict() == first.to_dict()
    assert restored.type == name and restored.kind == entry.template.kind


def test_missing_prefers_scene_groups(context_factory) -> None:
    registry = load_registry(use_entry_points=False)
    entry = registry.get("Missing")
    context = context_factory({i: 500 for i in range(195)})
    context.prefer_groups = ["eye"]
    template = replace(entry.template, params={**entry.template.params, "prefer_weight": (1.0, 1.0),
                                               "parts": (1.0, 1.0)})
    for seed in range(5):
        plan = entry.injector.plan(template, context, seed, 0)
        assert all("eye" in (context.assembly.instances[t].group or "") for t in plan.targets)


def test_burr_mesh_is_closed_and_outward() -> None:
    vertices, triangles = burr_mesh(np.zeros(3), np.array([1.0, 0, 0]), np.array([0, -1.0, 0]), 20.0,
                                    [3.0, 8.0, 2.0, 9.0, 4.0], 1.5)
    assert signed_volume(vertices, triangles) > 0
    assert outward_fraction(vertices, triangles) == 1.0
    assert vertices[:, 1].min() < -8.9  # the teeth stand out along "outward" (LDraw -Y)


def test_custom_yaml_extends_a_builtin(tmp_path) -> None:
    registry = load_registry([SCRATCHES], use_entry_points=False)
    scratches = registry.get("scratches")
    assert scratches.template.kind == "stains"
    assert scratches.template.params["elongation"] == (5.0, 8.0)
    assert scratches.template.params["mask_threshold"] == registry.get("Stains").template.params["mask_threshold"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("name: X\nextends: Stains\nparams:\n  radius_ldu: [5, 500]\n",
         "key 'params.radius_ldu': [5, 500] is outside the allowed range; expected a number or a [low, high] "
         "range within 0.5..60"),
        ("name: X\nextends: Stains\nparams:\n  radius: 3\n", "key 'params.radius': unknown parameter for kind"),
        ("name: X\nkind: stains\nparams:\n  radius_ldu: 3\n", "key 'params.blobs': missing"),
        ("name: X\nkind: sparkles\n", "key 'kind': expected one of burrs, missing, stains"),
        ("name: X\nextends: Dragons\n", "key 'extends': unknown defect type 'Dragons'"),
        ("name: good\nextends: Stains\n", "'good' is reserved"),
        ("name: X\nextends: Burrs\nparams:\n  teeth: 2.5\n", "key 'params.teeth': expected an integer"),
        ("name: X\nextends: Burrs\nparams:\n  placement: top\n", "key 'params.placement': expected one of edge"),
        ("name: X\nextends: Stains\nparams:\n  palette: {a: red}\n", "key 'params.palette.a': expected a #RRGGBB"),
        ("name: X\nextends: Stains\nmin_visible_px: -1\n", "key 'min_visible_px'"),
        ("name: X\nextends: Stains\ncolour: red\n", "unknown key 'colour'"),
    ],
)
def test_bad_template_names_file_key_and_range(tmp_path, text, message) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(MadgenError) as raised:
        load_registry([path], use_entry_points=False)
    assert str(path) in str(raised.value) and message in str(raised.value)
    assert "\n" not in str(raised.value)


class NotAnInjector:
    kind = "nothing"
    schema: dict = {}

    def plan(self, *args):  # noqa: ANN201, ANN002
        return None


@pytest.mark.parametrize(
    "reference, message",
    [
        ("tests.test_defects_plan:NotAnInjector", "does not implement the defect interface: no apply, mask method"),
        ("tests.nowhere:Thing", "cannot import tests.nowhere"),
        ("tests.test_defects_plan:Missing2", "has no Missing2"),
        ("no_colon", "expected module:Class"),
    ],
)
def test_bad_plugin_is_reported(reference, message) -> None:
    with pytest.raises(MadgenError, match=message):
        load_registry(plugins=[reference], use_entry_points=False)
