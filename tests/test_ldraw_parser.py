"""Parsing rules of madgen.ldraw: line types, MPD containers, headers, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from madgen.ldraw import LDrawError, Library, load_assembly, parse_ldraw


def test_line_types_0_to_5_are_read() -> None:
    text = "\n".join([
        "0 Title",
        "0 Name: sample.dat",
        "0 !LDRAW_ORG Part UPDATE 2024-01",
        "0 BFC CERTIFY CCW",
        "1 4 1 2 3 1 0 0 0 1 0 0 0 1 sub part.dat",
        "2 24 0 0 0 1 0 0",
        "3 16 0 0 0 1 0 0 0 0 1",
        "4 16 0 0 0 1 0 0 1 1 0 0 1 0",
        "5 24 0 0 0 0 1 0 1 0 0 -1 0 0",
    ])
    document = parse_ldraw(text, "sample.dat")
    part = document.main
    assert part.title == "Title" and part.name == "sample.dat" and part.org_type == "Part" and part.is_part
    assert part.certified
    assert len(part.references) == 1
    reference = part.references[0]
    assert reference.name == "sub part.dat"  # names may contain spaces
    assert reference.colour == 4 and reference.line == 5
    np.testing.assert_allclose(reference.matrix[:3, 3], [1, 2, 3])
    assert part.triangles.shape == (3, 3, 3)  # one triangle + a quad split in two
    assert part.triangle_lines.tolist() == [7, 8, 8]
    assert part.edges.shape == (1, 2, 3) and part.optional_lines.shape == (1, 4, 3)


def test_windows_line_endings_bom_tabs_and_trailing_spaces(write) -> None:
    path = write("m.ldr", "\ufeff0 Model\r\n0 BFC CERTIFY\r\n3\t16  0 0 0\t1 0 0   0 0 1   \r\n")
    document = parse_ldraw(path.read_text(encoding="utf-8-sig"), str(path))
    assert document.main.triangles.shape == (1, 3, 3)
    assert document.main.title == "Model"


@pytest.mark.parametrize(
    "line, message",
    [
        ("3 16 0 0 0 1 0 0 0 0", "line type 3 needs 10 fields, found 9"),
        ("4 16 0 0 0 1 0 0 1 1 0 0 1 x", "non-numeric"),
        ("1 16 0 0 0 1 0 0 0 1 0 0 0 1", "needs 14 fields"),
        ("7 16 0 0 0", "unknown line type '7'"),
        ("3x 16 0 0 0 1 0 0 0 0 1", "unknown line type"),
    ],
)
def test_malformed_line_names_file_and_line(write, line: str, message: str) -> None:
    path = write("bad.ldr", f"0 Bad\n0 BFC CERTIFY\n{line}\n")
    with pytest.raises(LDrawError) as raised:
        load_assembly(path, library=Library(use_embedded=True))
    assert "bad.ldr:3: " in str(raised.value)
    assert message in str(raised.value)


def test_lenient_mode_skips_malformed_lines_with_a_warning(write, mini_library) -> None:
    path = write("bad.ldr", "0 Bad\n1 4 0 0 0 1 0 0 0 1 0 0 0 1 box.dat\n3 16 0 0 0 1 0 0\n")
    assembly = load_assembly(path, library=Library([mini_library], use_embedded=False, strict=False))
    assert len(assembly.instances) == 1
    assert any("bad.ldr:3" in str(w) and "skipped" in str(w) for w in assembly.warnings)


def test_mpd_first_file_is_main_and_nofile_ends_a_block() -> None:
    text = "\n".join([
        "0 FILE main.ldr",
        "1 16 0 0 0 1 0 0 0 1 0 0 0 1 Sub.ldr",
        "0 NOFILE",
        "0 FILE sub.ldr",
        "3 16 0 0 0 1 0 0 0 0 1",
        "0 NOFILE",
        "3 16 9 9 9 1 0 0 0 0 1",
    ])
    document = parse_ldraw(text, "x.mpd")
    assert document.is_mpd
    assert [f.name for f in document.files] == ["main.ldr", "sub.ldr"]
    assert document.main.name == "main.ldr"
    assert set(document.embedded()) == {"main.ldr", "sub.ldr"}
    assert any("outside any 0 FILE" in str(w) for w in document.main.warnings)


def test_mpd_embedded_file_takes_precedence_over_library(write, mini_library) -> None:
    path = write("model.mpd", "\n".join([
        "0 FILE model.ldr",
        "1 4 0 0 0 1 0 0 0 1 0 0 0 1 box.dat",
        "0 FILE box.dat",
        "0 Local box override",
        "0 !LDRAW_ORG Unofficial_Part",
        "3 16 0 0 0 1 0 0 0 0 1",
        "",
    ]))
    assembly = load_assembly(path, library=Library([mini_library], use_embedded=False))
    assert len(assembly.instances) == 1
    mesh = assembly.meshes[assembly.instances[0].part_id]
    assert mesh.title == "Local box override" and mesh.triangle_count == 1


def test_tool_specific_meta_lines_are_ignored(write, mini_library) -> None:
    path = write("meta.ldr", "\n".join([
        "0 Meta test",
        "0 STEP",
        "0 ROTSTEP 0 0 0 ABS",
        "0 !LPUB PLI BEGIN IGN",
        "0 !LDCAD GROUP_DEF [topLevel=true]",
        "0 GROUP 1 legs",
        "0 !LEOCAD GROUP BEGIN Legs",
        "1 4 0 0 0 1 0 0 0 1 0 0 0 1 box.dat",
        "0 !LEOCAD GROUP END",
        "0 MLCAD BTG head",
        "1 0 0 -1 0 1 0 0 0 1 0 0 0 1 box.dat",
        "1 0 0 -2 0 1 0 0 0 1 0 0 0 1 box.dat",
        "",
    ]))
    assembly = load_assembly(path, library=Library([mini_library], use_embedded=False))
    assert [i.group for i in assembly.instances] == ["Legs", "head", None]
    assert assembly.warnings == []


def test_texmap_and_data_warn_once_per_file(write, mini_library) -> None:
    path = write("tex.ldr", "\n".join([
        "0 Tex",
        "0 !TEXMAP START PLANAR 0 0 0 1 0 0 0 1 0 logo.png",
        "0 !: 3 16 0 0 0 1 0 0 0 0 1",
        "0 !TEXMAP FALLBACK",
        "1 4 0 0 0 1 0 0 0 1 0 0 0 1 box.dat",
        "0 !TEXMAP END",
        "0 !TEXMAP START PLANAR 0 0 0 1 0 0 0 1 0 logo.png",
        "0 !TEXMAP END",
        "0 !DATA logo.png",
        "0 !: iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk",
        "",
    ]))
    assembly = load_assembly(path, library=Library([mini_library], use_embedded=False))
    assert len(assembly.instances) == 1
    texmap = [w for w in assembly.warnings if "TEXMAP" in w.message]
    data = [w for w in assembly.warnings if "!DATA" in w.message]
    assert len(texmap) == 1 and len(data) == 1


def test_hex_direct_colour_code_is_parsed() -> None:
    document = parse_ldraw("3 0x2FF8000 0 0 0 1 0 0 0 0 1\n", "c.dat")
    assert document.main.triangle_colours.tolist() == [0x2FF8000]
