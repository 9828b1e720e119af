"""Bring-your-own-model import: triangle counts of whole models against the official files, and
the generated benchmark models (submodels, mirrored placements, INVERTNEXT) in Blender."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from madgen.ldraw import Library, load_assembly

from .conftest import REPO
from .test_ldraw_bfc import _reference_triangle_count

_SPEC = importlib.util.spec_from_file_location("import_models", REPO / "bench" / "import_models.py")
import_models = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(import_models)  # type: ignore[union-attr]


def _wing(folder: Path) -> Path:
    """The benchmark's 340-part MPD, plus an INVERTNEXT placement and a mirrored one in the main model."""
    path = import_models.write_wing(folder)
    text = path.read_text()
    extra = ("0 BFC INVERTNEXT\n1 4 0 -200 0 1 0 0 0 1 0 0 0 1 3001.dat\n"
             "1 1 100 -200 0 -1 0 0 0 1 0 0 0 1 3039.dat\n")
    path.write_text(text.replace("0 NOFILE\n0 FILE fuselage.ldr", extra + "0 NOFILE\n0 FILE fuselage.ldr", 1))
    return path


def test_model_triangles_match_the_official_files(official_ldraw, tmp_path: Path) -> None:
    library = Library([official_ldraw], use_embedded=False)
    assembly = load_assembly(_wing(tmp_path), library=library)
    decal = [i for i in assembly.instances if i.part_id == "decal.dat"]
    assert len(assembly.instances) == 340 + 2 + 1 and len(decal) == 1
    assert assembly.meshes["decal.dat"].triangle_count == 2 * 2 + 2  # two quads and two triangles
    seen: dict[str, int] = {}
    expected = sum(_reference_triangle_count(library, instance.part_id + ".dat", seen)
                   for instance in assembly.instances if instance not in decal) + 6
    assert abs(assembly.triangle_count - expected) <= 0.001 * expected
    assert 260_000 < assembly.triangle_count < 280_000
    determinants = [np.linalg.det(instance.transform[:3, :3]) for instance in assembly.instances]
    # the mirrored wing (50 parts), two mirrored engines (20 each) and one part in the main model
    assert sum(d < 0 for d in determinants) == 50 + 2 * 20 + 1


def test_six_thousand_parts_parse_and_mesh(official_ldraw, tmp_path: Path) -> None:
    """Not a timing assertion (see bench/import.py): the 6,000-part grid loads and shares meshes."""
    assembly = load_assembly(import_models.write_grid(tmp_path), library=Library([official_ldraw], use_env=False))
    small = load_assembly(import_models.write_small(tmp_path), library=Library([official_ldraw], use_env=False))
    assert len(assembly.instances) == 6000 and len(small.instances) == 60
    assert sorted(assembly.meshes) == sorted(small.meshes)
    assert assembly.triangle_count == 100 * small.triangle_count


def test_blender_scene_of_a_generated_model(official_ldraw, tmp_path: Path) -> None:
    pytest.importorskip("bpy", reason="the bpy wheel is not installed")
    from madgen.ldraw.frames import model_support_points_m
    from madgen.render.scene import build_scene

    from madgen.rig import DEFAULT_CAMERA_ANGLE_X, frame_model

    assembly = load_assembly(_wing(tmp_path), library=Library([official_ldraw], use_env=False))
    built = build_scene(assembly, frame_model(model_support_points_m(assembly)), 0.25, DEFAULT_CAMERA_ANGLE_X)
    assert len(built.instances) == len(assembly.instances)
    assert sum(len(o.data.polygons) for o in built.instances) == assembly.triangle_count
    # one mesh per (part, colour), shared by every instance of it; a part in several colours has
    # the same geometry in each
    keys = {(i.part_id, i.colour) for i in assembly.instances}
    assert len({o.data.name for o in built.instances}) == len(keys)
    by_part: dict[str, set[int]] = {}
    for obj, instance in zip(built.instances, assembly.instances):
        by_part.setdefault(instance.part_id, set()).add(len(obj.data.vertices))
    assert all(len(counts) == 1 for counts in by_part.values())
    mirrored = [o for o, i in zip(built.instances, assembly.instances) if np.linalg.det(i.transform[:3, :3]) < 0]
    assert mirrored and all(np.linalg.det(np.array(o.matrix_basis)[:3, :3]) < 0 for o in mirrored)


def test_moved_alias_and_shortcut_parts_resolve(write, mini_library: Path, tmp_path: Path) -> None:
    """Official redirections are ordinary files that reference the real part; they must flatten to it."""
    write("lib/parts/old.dat", "0 ~Moved to box\n0 Name: old.dat\n0 !LDRAW_ORG Part_Alias\n0 BFC CERTIFY CCW\n"
          "1 16 0 0 0 1 0 0 0 1 0 0 0 1 box.dat\n")
    write("lib/parts/alias.dat", "0 =Unit box\n0 Name: alias.dat\n0 !LDRAW_ORG Part Alias\n0 BFC CERTIFY CCW\n"
          "1 16 0 0 0 1 0 0 0 1 0 0 0 1 box.dat\n")
    write("lib/parts/pair.dat", "0 Two boxes (shortcut)\n0 Name: pair.dat\n0 !LDRAW_ORG Shortcut\n"
          "0 BFC CERTIFY CCW\n1 16 0 0 0 1 0 0 0 1 0 0 0 1 box.dat\n1 4 2 0 0 1 0 0 0 1 0 0 0 1 box.dat\n")
    model = write("m.ldr", "0 Model\n1 4 0 0 0 1 0 0 0 1 0 0 0 1 OLD.DAT\n1 4 5 0 0 1 0 0 0 1 0 0 0 1 alias.dat\n"
                  "1 1 9 0 0 1 0 0 0 1 0 0 0 1 Pair.dat\n")
    assembly = load_assembly(model, library=Library([mini_library], use_embedded=False, use_env=False))
    box = load_assembly(mini_library / "parts" / "box.dat",
                        library=Library([mini_library], use_embedded=False, use_env=False)).meshes["box"]
    assert assembly.meshes["old"].triangle_count == box.triangle_count == assembly.meshes["alias"].triangle_count
    assert assembly.meshes["pair"].triangle_count == 2 * box.triangle_count
    assert np.allclose(np.sort(assembly.meshes["old"].vertices, axis=0), np.sort(box.vertices, axis=0))


def test_a_part_in_two_colours_gets_identical_blender_geometry(official_ldraw, write) -> None:
    """The second colour's mesh is a copy of the first: same vertices, faces, smoothing and sharp edges."""
    pytest.importorskip("bpy", reason="the bpy wheel is not installed")
    from madgen.ldraw.frames import model_support_points_m
    from madgen.render.scene import build_scene
    from madgen.rig import DEFAULT_CAMERA_ANGLE_X, frame_model

    model = write("two.ldr", "1 4 0 0 0 1 0 0 0 1 0 0 0 1 3039.dat\n1 1 60 0 0 1 0 0 0 1 0 0 0 1 3039.dat\n")
    assembly = load_assembly(model, library=Library([official_ldraw], use_env=False))
    built = build_scene(assembly, frame_model(model_support_points_m(assembly)), 0.25, DEFAULT_CAMERA_ANGLE_X)
    red, blue = (o.data for o in built.instances)
    assert red != blue and red.name == "3039_c4" and blue.name == "3039_c1"

    def arrays(mesh):
        result = {}
        for collection, attribute, dtype, width in (("vertices", "co", np.float32, 3), ("loops", "vertex_index", np.int32, 1),
                                                    ("polygons", "use_smooth", bool, 1), ("edges", "vertices", np.int32, 2)):
            items = getattr(mesh, collection)
            values = np.empty(len(items) * width, dtype)
            items.foreach_get(attribute, values)
            result[collection] = values
        sharp = mesh.attributes["sharp_edge"].data
        result["sharp"] = np.array([item.value for item in sharp])
        return result

    first, second = arrays(red), arrays(blue)
    assert all(np.array_equal(first[key], second[key]) for key in first)
    assert first["sharp"].any() and not first["sharp"].all()
    assert [m.name for m in red.materials] != [m.name for m in blue.materials]
