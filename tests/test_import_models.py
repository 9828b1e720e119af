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

_SPEC = importlib.util.spec_from_file_location("bench_import", REPO / "bench" / "import.py")
bench_import = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench_import)  # type: ignore[union-attr]


def _model(folder: Path, copies: int) -> Path:
    path = bench_import.write_model(folder, copies)
    text = path.read_text()
    # an INVERTNEXT placement and a mirrored (negative determinant) one in the main model
    extra = ("0 BFC INVERTNEXT\n1 4 0 -200 0 1 0 0 0 1 0 0 0 1 3001.dat\n"
             "1 1 100 -200 0 -1 0 0 0 1 0 0 0 1 3039.dat\n")
    path.write_text(text.replace("0 NOFILE\n0 FILE sub.ldr", extra + "0 NOFILE\n0 FILE sub.ldr", 1))
    return path


def test_model_triangles_match_the_official_files(official_ldraw, tmp_path: Path) -> None:
    library = Library([official_ldraw], use_embedded=False)
    assembly = load_assembly(_model(tmp_path, 4), library=library)
    assert len(assembly.instances) == 4 * 60 + 2
    seen: dict[str, int] = {}
    expected = sum(_reference_triangle_count(library, instance.part_id + ".dat", seen)
                   for instance in assembly.instances)
    assert abs(assembly.triangle_count - expected) <= 0.001 * expected
    determinants = [np.linalg.det(instance.transform[:3, :3]) for instance in assembly.instances]
    assert sum(d < 0 for d in determinants) == 4 * 9 + 1  # every seventh submodel part, and one in main


def test_six_thousand_parts_parse_and_mesh_fast(tmp_path: Path) -> None:
    """Not a timing assertion (see bench/import.py): the 6,000-part model loads and shares meshes."""
    assembly = load_assembly(_model(tmp_path, 100), library=Library(use_env=False))
    assert len(assembly.instances) == 6002 and len(assembly.meshes) <= len(bench_import.PARTS)


def test_blender_scene_of_a_generated_model(tmp_path: Path) -> None:
    pytest.importorskip("bpy", reason="the bpy wheel is not installed")
    from madgen.render.scene import build_scene, model_points_m
    from madgen.rig import DEFAULT_CAMERA_ANGLE_X, Normalisation

    assembly = load_assembly(_model(tmp_path, 5), library=Library(use_env=False))
    built = build_scene(assembly, Normalisation.fit(model_points_m(assembly)), 0.25, DEFAULT_CAMERA_ANGLE_X)
    assert len(built.instances) == len(assembly.instances)
    assert sum(len(o.data.polygons) for o in built.instances) == assembly.triangle_count
    # one mesh per (part, colour), shared by every instance of it
    keys = {(i.part_id, i.colour) for i in assembly.instances}
    assert len({o.data.name for o in built.instances}) == len(keys)
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
