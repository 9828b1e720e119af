"""BFC: certified geometry comes out counter-clockwise, i.e. with outward right-handed normals."""

from __future__ import annotations

import numpy as np
import pytest

from madgen.ldraw import Library, load_assembly
from madgen.ldraw.geometry import FlatGeometry

from .geometry_checks import outward_fraction, signed_volume

TRIANGLE_UP = "3 16 0 0 0 1 0 0 0 0 1"  # normal (0,0,1)x... = -Y: faces up
MIRROR_X = "-1 0 0 0 1 0 0 0 1"


def _normals(assembly) -> np.ndarray:
    mesh = assembly.meshes[assembly.instances[0].part_id]
    normals = mesh.face_normals()
    return normals / np.linalg.norm(normals, axis=1, keepdims=True)


def _part(write, name: str, *lines: str) -> None:
    write(f"lib/parts/{name}", "\n".join(["0 Test part", f"0 Name: {name}", "0 !LDRAW_ORG Part", *lines, ""]))


def _load(write, tmp_path, body: str):
    model = write("model.ldr", f"0 Model\n1 4 0 0 0 1 0 0 0 1 0 0 0 1 {body}\n")
    return load_assembly(model, library=Library([tmp_path / "lib"], use_embedded=False))


def test_ccw_triangle_normal_faces_front(write, tmp_path) -> None:
    _part(write, "t.dat", "0 BFC CERTIFY CCW", TRIANGLE_UP)
    normals = _normals(_load(write, tmp_path, "t.dat"))
    np.testing.assert_allclose(normals, [[0, -1, 0]], atol=1e-7)


@pytest.mark.parametrize("certify", ["0 BFC CERTIFY CW", "0 BFC CERTIFY\n0 BFC CW"])
def test_cw_winding_is_normalised_to_ccw(write, tmp_path, certify: str) -> None:
    _part(write, "t.dat", certify, "3 16 0 0 0 0 0 1 1 0 0")  # the CW order of TRIANGLE_UP
    normals = _normals(_load(write, tmp_path, "t.dat"))
    np.testing.assert_allclose(normals, [[0, -1, 0]], atol=1e-7)


@pytest.mark.parametrize(
    "prefix, matrix, expected_y",
    [
        ("", "1 0 0 0 1 0 0 0 1", -1),
        ("0 BFC INVERTNEXT", "1 0 0 0 1 0 0 0 1", 1),
        ("", MIRROR_X, -1),  # a mirror flips winding; BFC flips it back
        ("0 BFC INVERTNEXT", MIRROR_X, 1),
        ("", "1 0 0 0 -1 0 0 0 1", 1),  # mirrored in Y: the face really turns over
    ],
)
def test_invertnext_and_negative_determinant(write, tmp_path, prefix, matrix, expected_y) -> None:
    _part(write, "face.dat", "0 BFC CERTIFY CCW", TRIANGLE_UP)
    lines = ["0 BFC CERTIFY CCW"] + ([prefix] if prefix else []) + [f"1 16 0 0 0 {matrix} face.dat"]
    _part(write, "holder.dat", *lines)
    normals = _normals(_load(write, tmp_path, "holder.dat"))
    assert np.sign(normals[0, 1]) == expected_y


def test_mirrored_instance_of_a_certified_box_stays_outward(write, tmp_path, mini_library) -> None:
    model = write("mirror.ldr", "\n".join([
        "0 Mirror",
        "1 4 0 0 0 1 0 0 0 1 0 0 0 1 box.dat",
        f"1 4 -3 0 0 {MIRROR_X} box.dat",
        "",
    ]))
    assembly = load_assembly(model, library=Library([mini_library], use_embedded=False))
    mesh = assembly.meshes["box"]
    assert mesh.certified and mesh.triangle_count == 12
    assert outward_fraction(mesh.vertices, mesh.triangles) == 1.0
    assert signed_volume(mesh.vertices, mesh.triangles) == pytest.approx(1.0)
    mirrored = assembly.instances[1].transform
    assert np.linalg.det(mirrored[:3, :3]) < 0


def test_uncertified_file_and_noclip_make_triangles_two_sided(write, tmp_path) -> None:
    _part(write, "plain.dat", TRIANGLE_UP)
    _part(write, "noclip.dat", "0 BFC CERTIFY CCW", TRIANGLE_UP, "0 BFC NOCLIP", TRIANGLE_UP, "0 BFC CLIP",
          TRIANGLE_UP)
    _part(write, "parent.dat", "0 BFC NOCERTIFY", "1 16 0 0 0 1 0 0 0 1 0 0 0 1 noclip.dat")
    library = Library([tmp_path / "lib"], use_embedded=False)
    model = write("model.ldr", "\n".join([
        "0 M",
        "1 4 0 0 0 1 0 0 0 1 0 0 0 1 plain.dat",
        "1 4 0 0 0 1 0 0 0 1 0 0 0 1 noclip.dat",
        "1 4 0 0 0 1 0 0 0 1 0 0 0 1 parent.dat",
        "",
    ]))
    assembly = load_assembly(model, library=library)
    assert assembly.meshes["plain"].triangle_certified.tolist() == [False]
    assert assembly.meshes["noclip"].triangle_certified.tolist() == [True, False, True]
    assert assembly.meshes["parent"].triangle_certified.tolist() == [False, False, False]


def test_official_parts_are_certified_and_outward(official_ldraw) -> None:
    library = Library([official_ldraw], use_embedded=False)
    for part in ("3001", "3039", "4589", "3062b"):
        assembly = load_assembly(official_ldraw / "parts" / f"{part}.dat", library=library)
        mesh = assembly.meshes[part]
        assert mesh.certified, part
        assert signed_volume(mesh.vertices, mesh.triangles) > 0, part
        # Real parts are not watertight (T-junctions, open axle holes), so a few parity rays
        # misjudge; a wrong BFC rule flips whole primitives and drops far below this.
        assert outward_fraction(mesh.vertices, mesh.triangles) >= 0.9, part


def test_ignoring_invertnext_would_be_caught(official_ldraw, monkeypatch) -> None:
    """The outward check above can fail: without INVERTNEXT the round part turns inside out."""
    library = Library([official_ldraw], use_embedded=False, cache=False)  # build it, not read it back
    original = FlatGeometry.placed

    def placed_without_invert(self, reference, colours):
        from dataclasses import replace
        return original(self, replace(reference, invert=False), colours)

    monkeypatch.setattr(FlatGeometry, "placed", placed_without_invert)
    mesh = load_assembly(official_ldraw / "parts" / "4589.dat", library=library).meshes["4589"]
    assert outward_fraction(mesh.vertices, mesh.triangles) < 0.9


def _reference_triangle_count(library: Library, name: str, seen: dict[str, int]) -> int:
    """Triangles + 2 x quads over a file and everything it references (an independent count)."""
    path = library.resolve(name)
    assert path is not None, name
    key = str(path)
    if key not in seen:
        total = 0
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            tokens = line.split(None, 14)
            if tokens and tokens[0] == "3":
                total += 1
            elif tokens and tokens[0] == "4":
                total += 2
            elif tokens and tokens[0] == "1" and len(tokens) == 15:
                total += _reference_triangle_count(library, tokens[14].strip(), seen)
        seen[key] = total
    return seen[key]


@pytest.mark.parametrize("part", ["3001", "3039", "4589", "3062b", "6141"])
def test_official_part_triangle_counts(official_ldraw, part: str) -> None:
    library = Library([official_ldraw], use_embedded=False)
    mesh = load_assembly(official_ldraw / "parts" / f"{part}.dat", library=library).meshes[part]
    expected = _reference_triangle_count(library, f"{part}.dat", {})
    assert expected > 100
    assert abs(mesh.triangle_count - expected) <= 0.001 * expected
