"""Colours: 16 inherits, 24 is the caller's edge colour, direct colours, LDConfig keywords."""

from __future__ import annotations

import pytest

from madgen.ldraw import ColourTable, LDrawError, Library, load_assembly
from madgen.ldraw.colours import direct_colour_code, is_direct_colour


def test_ldconfig_keywords_are_read(mini_library) -> None:
    table = ColourTable.from_file(mini_library / "LDConfig.ldr")
    assert table.get(4).name == "Red" and table.get(4).rgb == pytest.approx((0xB4 / 255, 0, 0))
    assert table.get(47).alpha == 128 and table.get(47).is_transparent
    assert table.get(383).material == "CHROME"
    assert table.get(21).luminance == 15
    glitter = table.get(117)
    assert glitter.material == "GLITTER" and glitter.material_params["FRACTION"] == "0.08"


@pytest.mark.parametrize(
    "line, message",
    [
        ("0 !COLOUR Bad CODE x VALUE #000000 EDGE #000000", "malformed !COLOUR"),
        ("0 !COLOUR Bad CODE 5 VALUE #00000 EDGE #000000", "malformed !COLOUR"),
        ("0 !COLOUR Bad CODE 5 EDGE #000000", "lacks VALUE"),
        ("0 !COLOUR Bad CODE 5 VALUE #000000 EDGE #000000 SHINY", "unknown !COLOUR keyword 'SHINY'"),
        ("0 !COLOUR Bad CODE 5 VALUE #000000 EDGE 77", "EDGE refers to unknown colour 77"),
    ],
)
def test_bad_colour_line_names_file_and_line(write, line: str, message: str) -> None:
    path = write("LDConfig.ldr", f"0 Colours\n{line}\n")
    with pytest.raises(LDrawError) as raised:
        ColourTable.from_file(path)
    assert "LDConfig.ldr:2:" in str(raised.value) and message in str(raised.value)


def test_direct_colours() -> None:
    table = ColourTable()
    code = direct_colour_code((1.0, 0.5, 0.0))
    assert code == 0x2FF8000 and is_direct_colour(code)
    assert table.get(code).rgb == pytest.approx((1.0, 128 / 255, 0.0))
    assert code in table


def test_main_colour_inherits_and_edge_colour_follows_the_caller(write, mini_library) -> None:
    write("lib/parts/mixed.dat", "\n".join([
        "0 Mixed",
        "0 !LDRAW_ORG Part",
        "0 BFC CERTIFY CCW",
        "3 16 0 0 0 1 0 0 0 0 1",      # main colour: left open in the mesh
        "3 0 0 0 0 1 0 0 0 0 1",       # fixed black
        "1 4 0 0 0 1 0 0 0 1 0 0 0 1 sub.dat",  # sub-file placed in red
        "",
    ]))
    write("lib/parts/s/../sub.dat", "0 Sub\n0 !LDRAW_ORG Subpart\n0 BFC CERTIFY CCW\n"
          "3 16 0 0 0 1 0 0 0 0 1\n3 24 0 0 0 1 0 0 0 0 1\n2 24 0 0 0 1 0 0\n")
    library = Library([mini_library], use_embedded=False)
    model = write("m.ldr", "0 M\n1 1 0 0 0 1 0 0 0 1 0 0 0 1 mixed.dat\n")
    assembly = load_assembly(model, library=library)
    mesh = assembly.meshes["mixed"]
    red_edge = library.colours.edge_code(4)
    assert mesh.triangle_colours.tolist() == [16, 0, 4, red_edge]
    assert mesh.edge_colours.tolist() == [red_edge]
    assert library.colours.get(red_edge).rgb == pytest.approx((0x33 / 255,) * 3)
    assert assembly.instances[0].colour == 1


def test_submodel_colour_16_inherits_down_the_model_tree(write, mini_library) -> None:
    model = write("m.mpd", "\n".join([
        "0 FILE main.ldr",
        "1 4 0 0 0 1 0 0 0 1 0 0 0 1 leg.ldr",
        "1 0 0 0 0 1 0 0 0 1 0 0 0 1 leg.ldr",
        "0 FILE leg.ldr",
        "1 16 0 0 0 1 0 0 0 1 0 0 0 1 box.dat",
        "1 21 0 0 0 1 0 0 0 1 0 0 0 1 box.dat",
        "",
    ]))
    assembly = load_assembly(model, library=Library([mini_library], use_embedded=False))
    assert [i.colour for i in assembly.instances] == [4, 21, 0, 21]


def test_unknown_colour_is_a_warning_with_fallback(write, mini_library) -> None:
    model = write("m.ldr", "0 M\n1 9999 0 0 0 1 0 0 0 1 0 0 0 1 box.dat\n")
    assembly = load_assembly(model, library=Library([mini_library], use_embedded=False))
    assert any("m.ldr:2" in str(w) and "unknown colour 9999" in str(w) for w in assembly.warnings)
    assert assembly.colours.resolve(9999).rgb == (1.0, 0.0, 1.0)
