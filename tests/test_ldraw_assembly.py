"""Flattening: instances with composed transforms and sources, shared meshes, Blender frame helper."""

from __future__ import annotations

import json

import numpy as np
import pytest

from madgen.ldraw import (
    LDU_IN_METRES,
    Library,
    ldraw_to_blender_matrix,
    load_assembly,
    points_to_blender,
    transform_to_blender,
)


def _mpd(write):
    return write("robot.mpd", "\n".join([
        "0 FILE robot.ldr",
        "0 Robot",
        "1 4 0 0 0 1 0 0 0 1 0 0 0 1 box.dat",
        "1 16 10 0 0 1 0 0 0 1 0 0 0 1 arm.ldr",
        "1 16 -10 0 0 -1 0 0 0 1 0 0 0 1 arm.ldr",
        "0 NOFILE",
        "0 FILE arm.ldr",
        "1 0 0 -5 0 0 0 1 0 1 0 -1 0 0 box.dat",
        "1 1 0 -7 0 1 0 0 0 1 0 0 0 1 hand.ldr",
        "0 NOFILE",
        "0 FILE hand.ldr",
        "1 16 1 0 0 1 0 0 0 1 0 0 0 1 box.dat",
        "0 NOFILE",
        "",
    ]))


def test_submodels_are_flattened_with_composed_transforms(write, mini_library) -> None:
    assembly = load_assembly(_mpd(write), library=Library([mini_library], use_embedded=False))
    assert assembly.name == "Robot"
    assert [i.part_id for i in assembly.instances] == ["box"] * 5
    assert [i.colour for i in assembly.instances] == [4, 0, 1, 0, 1]
    assert [i.submodel for i in assembly.instances] == ["", "arm.ldr", "arm.ldr/hand.ldr", "arm.ldr",
                                                        "arm.ldr/hand.ldr"]
    hand_right, hand_left = assembly.instances[2].transform, assembly.instances[4].transform
    np.testing.assert_allclose(hand_right[:3, 3], [11, -7, 0])
    np.testing.assert_allclose(hand_left[:3, 3], [-11, -7, 0])
    assert np.linalg.det(hand_left[:3, :3]) == pytest.approx(-1)
    arm_right = assembly.instances[1].transform
    np.testing.assert_allclose(arm_right[:3, :3], [[0, 0, 1], [0, 1, 0], [-1, 0, 0]])
    sources = [(i.source.endswith("robot.mpd"), i.line) for i in assembly.instances]
    assert sources == [(True, 3), (True, 8), (True, 12), (True, 8), (True, 12)]


def test_one_mesh_per_distinct_part_shared_by_instances(write, mini_library) -> None:
    assembly = load_assembly(_mpd(write), library=Library([mini_library], use_embedded=False))
    assert list(assembly.meshes) == ["box"]
    mesh = assembly.meshes["box"]
    assert mesh.vertices.dtype == np.float32 and mesh.vertices.shape == (8, 3)
    assert mesh.triangles.dtype == np.int32 and mesh.triangles.shape == (12, 3)
    assert mesh.triangle_colours.dtype == np.int32 and set(mesh.triangle_colours.tolist()) == {16}
    # six edge lines, two of which coincide: five distinct sharp vertex pairs
    assert len(mesh.edge_lines) == 6 and len(mesh.sharp_edges) == 5
    assert assembly.triangle_count == 60


def test_assembly_bounding_box_and_json(write, mini_library) -> None:
    assembly = load_assembly(_mpd(write), library=Library([mini_library], use_embedded=False))
    low, high = assembly.bounding_box()
    np.testing.assert_allclose(low, [-12, -7, -1])
    np.testing.assert_allclose(high, [12, 1, 1])
    data = json.loads(json.dumps(assembly.to_dict()))
    assert len(data["instances"]) == 5 and data["instances"][0]["source"].endswith("robot.mpd:3")
    assert data["meshes"]["box"]["triangles"] == 12


def test_models_folder_and_sibling_files_are_submodels(write, mini_library, tmp_path) -> None:
    write("lib/models/sub.ldr", "0 Sub\n1 4 0 0 0 1 0 0 0 1 0 0 0 1 box.dat\n")
    write("work/local.ldr", "0 Local\n1 2 5 0 0 1 0 0 0 1 0 0 0 1 box.dat\n")
    model = write("work/main.ldr", "0 Main\n1 16 0 0 0 1 0 0 0 1 0 0 0 1 sub.ldr\n"
                  "1 16 0 0 0 1 0 0 0 1 0 0 0 1 local.ldr\n")
    assembly = load_assembly(model, library=Library([mini_library], use_embedded=False))
    assert [(i.part_id, i.colour) for i in assembly.instances] == [("box", 4), ("box", 2)]


def test_a_single_part_file_loads_as_one_instance(mini_library) -> None:
    assembly = load_assembly(mini_library / "parts" / "box.dat", library=Library([mini_library], use_embedded=False))
    assert len(assembly.instances) == 1 and assembly.instances[0].part_id == "box"


def test_blender_frame_helper() -> None:
    matrix = ldraw_to_blender_matrix()
    # LDraw -Y (up) becomes Blender +Z; 1 LDU is 0.4 mm.
    np.testing.assert_allclose(matrix @ [0, -1, 0, 1], [0, 0, LDU_IN_METRES, 1])
    np.testing.assert_allclose(points_to_blender([[1, 0, 0], [0, 0, 1]]), [[0.0004, 0, 0], [0, 0.0004, 0]])
    assert np.linalg.det(matrix[:3, :3]) > 0  # a proper rotation: winding is kept
    placement = np.eye(4)
    placement[:3, 3] = [10, -20, 30]
    placement[:3, :3] = [[0, 0, 1], [0, 1, 0], [-1, 0, 0]]
    converted = transform_to_blender(placement)
    point = np.array([1.0, 2.0, 3.0])
    expected = points_to_blender((placement @ np.append(point, 1))[:3])
    got = converted @ np.append(points_to_blender(point), 1)
    np.testing.assert_allclose(got[:3], expected, atol=1e-12)
