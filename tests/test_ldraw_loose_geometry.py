"""Issue #15: no geometry is lost. Lines a model or submodel draws itself become meshes of their
own, an MPD's own file with a library part's name replaces that part, and an empty file is a
warning or an error, never a silent zero. Hand-written snippets with exact triangle counts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from madgen.cli import main
from madgen.ldraw import LDrawError, Library, MissingPartsError, load_assembly

from .geometry_checks import signed_volume

MIRROR_X = "-1 0 0 0 1 0 0 0 1"
IDENTITY = "1 0 0 0 1 0 0 0 1"


def _library(mini_library) -> Library:
    return Library([mini_library], use_embedded=False, use_env=False)


def _panel_mpd(write):
    """A main model that places a submodel made only of 2 triangles and 1 quad (no part references)."""
    return write("panel.mpd", "\n".join([
        "0 FILE main.ldr",
        "0 Panels",
        "0 MLCAD BTG left",
        f"1 4 10 0 0 {IDENTITY} panel.ldr",
        f"1 0 -10 0 0 {MIRROR_X} panel.ldr",
        "0 NOFILE",
        "0 FILE panel.ldr",
        "0 Panel",
        "0 BFC CERTIFY CCW",
        "3 16 0 0 0 1 0 0 0 0 1",
        "3 24 0 0 0 0 0 1 0 1 0",
        "4 383 0 0 0 0 1 0 0 1 1 0 0 1",
        "2 24 0 0 0 1 0 0",
        "0 NOFILE",
        "",
    ]))


def test_submodel_of_triangles_and_quads_is_a_mesh_placed_like_a_part(write, mini_library) -> None:
    assembly = load_assembly(_panel_mpd(write), library=_library(mini_library))
    assert [i.part_id for i in assembly.instances] == ["panel.ldr", "panel.ldr"]
    mesh = assembly.meshes["panel.ldr"]
    assert mesh.triangle_count == 4 and assembly.triangle_count == 8
    assert assembly.mesh_kinds == {"panel.ldr": "geometry"}
    # colours: 16 and 24 stay open (the instance's colour and its edge colour), 383 is fixed
    assert mesh.triangle_colours.tolist() == [16, 24, 383, 383]
    assert [i.colour for i in assembly.instances] == [4, 0]
    assert mesh.certified and len(mesh.edge_lines) == 1
    # placed like a part: composed transform, the placing line, its group, the submodel path
    first, mirrored = assembly.instances
    np.testing.assert_allclose(first.transform[:3, 3], [10, 0, 0])
    assert np.linalg.det(mirrored.transform[:3, :3]) < 0
    assert (first.line, first.group, first.submodel) == (4, "left", "panel.ldr")
    assert (mirrored.line, mirrored.group) == (5, None)
    assert first.source.endswith("panel.mpd")
    assert assembly.warnings == []


def test_embedded_dat_without_part_header_keeps_its_geometry_and_primitives(write, mini_library) -> None:
    """How editors ship custom parts (stickers, hoses): 0 FILE x.dat with no !LDRAW_ORG Part."""
    model = write("sticker.mpd", "\n".join([
        "0 FILE main.ldr",
        f"1 4 0 0 0 {IDENTITY} box.dat",
        f"1 47 0 -1 0 {IDENTITY} sticker.dat",
        "0 NOFILE",
        "0 FILE sticker.dat",
        "0 Sticker",
        "0 BFC CERTIFY CCW",
        "3 16 0 0 0 1 0 0 0 0 1",
        "4 383 0 0 0 0 0 1 1 0 1 1 0 0",
        f"1 16 2 0 0 {IDENTITY} quadface.dat",
        f"0 BFC INVERTNEXT",
        f"1 0 4 0 0 {IDENTITY} quadface.dat",
        "0 NOFILE",
        "",
    ]))
    assembly = load_assembly(model, library=_library(mini_library))
    # one instance of box, one of the sticker: its 1 + 2 own triangles and 2 x 2 from the primitive
    assert [i.part_id for i in assembly.instances] == ["box", "sticker.dat"]
    sticker = assembly.meshes["sticker.dat"]
    assert sticker.triangle_count == 7
    assert assembly.triangle_count == 12 + 7
    assert sorted(sticker.triangle_colours.tolist()) == [0, 0, 16, 16, 16, 383, 383]
    assert assembly.instances[1].colour == 47
    assert assembly.mesh_kinds == {"box": "part", "sticker.dat": "geometry"}


def test_geometry_in_the_main_model_and_in_a_plain_ldr(write, mini_library) -> None:
    model = write("m.ldr", "\n".join([
        "0 Model with its own faces",
        f"1 4 0 0 0 {IDENTITY} box.dat",
        "3 4 0 0 0 1 0 0 0 0 1",
        "4 16 0 0 0 1 0 0 1 0 1 0 0 1",
        "",
    ]))
    assembly = load_assembly(model, library=_library(mini_library))
    assert [i.part_id for i in assembly.instances] == ["m.ldr", "box"]
    assert assembly.meshes["m.ldr"].triangle_count == 3
    assert assembly.triangle_count == 15
    loose = assembly.instances[0]
    assert loose.line == 2 and loose.colour == 16 and loose.submodel == ""
    # the mesh has no BFC certificate: its faces are two-sided
    assert assembly.meshes["m.ldr"].triangle_certified.tolist() == [False] * 3


_CUBE_CCW = [  # the unit box's six faces, counter-clockwise seen from outside
    "0 0 0 1 0 0 1 0 1 0 0 1", "0 1 0 0 1 1 1 1 1 1 1 0", "0 0 0 0 1 0 1 1 0 1 0 0",
    "0 0 1 1 0 1 1 1 1 0 1 1", "0 0 0 0 0 1 0 1 1 0 1 0", "1 0 0 1 1 0 1 1 1 1 0 1",
]


@pytest.mark.parametrize("winding", ["CCW", "CW"])
def test_bfc_of_loose_geometry(write, mini_library, winding) -> None:
    """Certified faces of a submodel come out counter-clockwise (outward), whichever winding they use."""
    faces = _CUBE_CCW
    if winding == "CW":
        faces = [" ".join(" ".join(v) for v in reversed(list(zip(*[iter(f.split())] * 3)))) for f in faces]
    model = write("cube.mpd", "\n".join([
        "0 FILE main.ldr",
        f"1 16 0 0 0 {IDENTITY} cube.ldr",
        "0 FILE cube.ldr",
        f"0 BFC CERTIFY {winding}",
        *(f"4 16 {face}" for face in faces),
        "",
    ]))
    mesh = load_assembly(model, library=_library(mini_library)).meshes["cube.ldr"]
    assert mesh.triangle_count == 12 and mesh.certified
    assert signed_volume(mesh.vertices, mesh.triangles) == pytest.approx(1.0)


def test_an_mpd_file_named_like_a_library_part_overrides_it(write, mini_library) -> None:
    model = write("override.mpd", "\n".join([
        "0 FILE main.ldr",
        f"1 4 0 0 0 {IDENTITY} box.dat",
        f"1 4 5 0 0 {IDENTITY} box.dat",
        "0 NOFILE",
        "0 FILE box.dat",
        "0 Box, simplified by the model's author (no part header)",
        "3 16 0 0 0 1 0 0 0 0 1",
        "0 NOFILE",
        "",
    ]))
    assembly = load_assembly(model, library=_library(mini_library))
    assert [i.part_id for i in assembly.instances] == ["box", "box"]
    assert assembly.meshes["box"].triangle_count == 1 and assembly.triangle_count == 2
    assert assembly.mesh_kinds == {"box": "override"}
    assert assembly.overrides == {"box": str(mini_library.resolve() / "parts" / "box.dat")}
    data = assembly.to_dict()
    assert data["meshes"]["box"]["kind"] == "override"
    assert data["meshes"]["box"]["overrides"].endswith("box.dat")


def test_inspect_reports_overrides_and_loose_geometry(write, mini_library, capsys) -> None:
    model = write("both.mpd", "\n".join([
        "0 FILE main.ldr",
        f"1 4 0 0 0 {IDENTITY} box.dat",
        f"1 0 0 0 0 {IDENTITY} panel.ldr",
        f"1 0 9 0 0 {IDENTITY} panel.ldr",
        "0 FILE box.dat",
        "0 !LDRAW_ORG Unofficial_Part",
        "3 16 0 0 0 1 0 0 0 0 1",
        "0 FILE panel.ldr",
        "4 16 0 0 0 1 0 0 1 0 1 0 0 1",
        "",
    ]))
    assert main(["inspect", str(model), "--ldraw-dir", str(mini_library)]) == 0
    out = capsys.readouterr().out
    assert "3 instances of 2 distinct parts (1 of them geometry drawn in a model or submodel)" in out
    assert "triangles  5" in out
    assert "geometry   panel.ldr: 2 triangles drawn directly in" in out and "(2 instances)" in out
    assert "override   box: the MPD's own file replaces the library's" in out
    assert main(["inspect", str(model), "--ldraw-dir", str(mini_library), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {k: v["kind"] for k, v in data["meshes"].items()} == {"box": "override", "panel.ldr": "geometry"}
    assert data["triangles"] == 5 and list(data["overrides"]) == ["box"]


def test_embedded_part_with_a_header_and_no_library_twin(write, mini_library) -> None:
    model = write("custom.mpd", "\n".join([
        "0 FILE main.ldr",
        f"1 4 0 0 0 {IDENTITY} custom.dat",
        "0 FILE custom.dat",
        "0 Custom part",
        "0 !LDRAW_ORG Unofficial_Part",
        f"1 16 0 0 0 {IDENTITY} box.dat",
        "3 16 0 0 0 1 0 0 0 0 1",
        "",
    ]))
    assembly = load_assembly(model, library=_library(mini_library))
    assert [i.part_id for i in assembly.instances] == ["custom"]
    assert assembly.meshes["custom"].triangle_count == 13
    assert assembly.mesh_kinds == {"custom": "embedded"} and assembly.overrides == {}


def test_empty_submodel_is_a_warning_naming_it(write, mini_library) -> None:
    model = write("empty.mpd", "\n".join([
        "0 FILE main.ldr",
        f"1 4 0 0 0 {IDENTITY} box.dat",
        f"1 4 0 0 0 {IDENTITY} nothing.ldr",
        f"1 4 9 0 0 {IDENTITY} nothing.ldr",
        "0 FILE nothing.ldr",
        "0 Just a title",
        "",
    ]))
    assembly = load_assembly(model, library=_library(mini_library))
    assert [i.part_id for i in assembly.instances] == ["box"]
    messages = [str(w) for w in assembly.warnings]
    assert len(messages) == 1
    assert "empty.mpd:3: submodel nothing.ldr is empty" in messages[0]


def test_empty_model_is_an_error_with_exit_status_2(write, mini_library, capsys) -> None:
    model = write("blank.ldr", "0 Nothing here\n0 Author: someone\n")
    with pytest.raises(LDrawError, match="empty model"):
        load_assembly(model, library=_library(mini_library))
    assert main(["inspect", str(model), "--ldraw-dir", str(mini_library)]) == 2
    err = capsys.readouterr().err.strip()
    assert "blank.ldr" in err and "empty model" in err and "\n" not in err and "Traceback" not in err


def test_edge_lines_without_faces_are_a_warning(write, mini_library) -> None:
    model = write("lines.mpd", "\n".join([
        "0 FILE main.ldr",
        f"1 4 0 0 0 {IDENTITY} box.dat",
        f"1 4 0 0 0 {IDENTITY} outline.ldr",
        "0 FILE outline.ldr",
        "2 24 0 0 0 1 0 0",
        "2 24 1 0 0 1 1 0",
        "",
    ]))
    assembly = load_assembly(model, library=_library(mini_library))
    assert [i.part_id for i in assembly.instances] == ["box"]
    assert any("outline.ldr draws 2 edge line(s)" in str(w) and "no faces" in str(w) for w in assembly.warnings)


def test_unknown_submodel_is_still_an_error(write, mini_library) -> None:
    model = write("unknown.mpd", f"0 FILE main.ldr\n1 4 0 0 0 {IDENTITY} nothere.ldr\n")
    with pytest.raises(MissingPartsError, match="nothere.ldr"):
        load_assembly(model, library=_library(mini_library))


def test_loose_geometry_is_a_missing_target(write, mini_library) -> None:
    """Missing picks instances; a submodel's own geometry is one like any part."""
    from madgen.defects import PlanContext, load_registry
    from madgen.ldraw import points_to_blender
    from madgen.rig import Normalisation, sample_test_poses

    assembly = load_assembly(_panel_mpd(write), library=_library(mini_library))
    points = np.concatenate([points_to_blender(assembly.world_vertices(p).reshape(-1, 3)) for p in assembly.meshes])
    context = PlanContext(assembly, sample_test_poses(1, seed=1)[0], 400, Normalisation.fit(points), {1: 5000})
    entry = load_registry(use_entry_points=False).get("Missing")
    plan = entry.injector.plan(entry.template, context, seed=3, attempt=0)
    assert plan.targets == (1,) and assembly.instances[1].part_id == "panel.ldr"


def test_scene_renders_loose_geometry(write, mini_library) -> None:
    pytest.importorskip("bpy", reason="the bpy wheel is not installed")
    from madgen.render.scene import build_scene, model_points_m
    from madgen.rig import DEFAULT_CAMERA_ANGLE_X, Normalisation

    assembly = load_assembly(_panel_mpd(write), library=_library(mini_library))
    built = build_scene(assembly, Normalisation.fit(model_points_m(assembly)), 0.0, DEFAULT_CAMERA_ANGLE_X)
    assert [len(o.data.polygons) for o in built.instances] == [4, 4]
    assert [o.pass_index for o in built.instances] == [1, 2]


def test_an_mpd_file_named_like_a_library_primitive_overrides_it_where_drawn(write, mini_library, capsys) -> None:
    model = write("prim.mpd", "\n".join([
        "0 FILE main.ldr",
        f"1 4 0 0 0 {IDENTITY} box.dat",
        f"1 16 0 5 0 {IDENTITY} quadface.dat",
        "0 FILE quadface.dat",
        "0 A single triangle instead of the library's square",
        "3 16 0 0 0 1 0 0 0 0 1",
        "",
    ]))
    assembly = load_assembly(model, library=_library(mini_library))
    # the main model draws the MPD's primitive (1 triangle); box keeps the library's (12 triangles)
    assert assembly.meshes["main.ldr"].triangle_count == 1 and assembly.meshes["box"].triangle_count == 12
    assert assembly.overrides == {"quadface.dat": str(mini_library.resolve() / "p" / "quadface.dat")}
    assert main(["inspect", str(model), "--ldraw-dir", str(mini_library)]) == 0
    out = capsys.readouterr().out
    assert "override   quadface.dat: the MPD's own file replaces the library's" in out
    assert "(drawn as part of a model's own geometry)" in out
