"""Library roots, search order, case-insensitive names, escaping references, missing files, cycles."""

from __future__ import annotations

from pathlib import Path

import pytest

from madgen.ldraw import LDrawError, Library, MissingPartsError, default_roots, load_assembly
from madgen.resources import embedded_ldraw_dir

ONE_TRIANGLE = "0 {title}\n0 !LDRAW_ORG Part\n0 BFC CERTIFY CCW\n3 16 0 0 0 1 0 0 0 0 1\n"


def test_root_order_explicit_then_ldrawdir_then_embedded(tmp_path, monkeypatch) -> None:
    explicit, env = tmp_path / "explicit", tmp_path / "env"
    explicit.mkdir()
    env.mkdir()
    monkeypatch.setenv("LDRAWDIR", str(env))
    roots = default_roots([explicit])
    assert [r.origin for r in roots] == ["explicit", "LDRAWDIR", "embedded"]
    assert roots[0].path == explicit.resolve() and roots[1].path == env.resolve()
    assert roots[2].path == embedded_ldraw_dir().resolve()


def test_first_root_wins(write, tmp_path, monkeypatch) -> None:
    write("a/parts/x.dat", ONE_TRIANGLE.format(title="from a"))
    write("b/parts/x.dat", ONE_TRIANGLE.format(title="from b"))
    monkeypatch.setenv("LDRAWDIR", str(tmp_path / "b"))
    model = write("m.ldr", "1 4 0 0 0 1 0 0 0 1 0 0 0 1 x.dat\n")
    assert load_assembly(model, library=Library([tmp_path / "a"])).meshes["x"].title == "from a"
    assert load_assembly(model, library=Library()).meshes["x"].title == "from b"


def test_missing_explicit_root_is_an_error(tmp_path) -> None:
    with pytest.raises(LDrawError, match="LDraw library folder not found"):
        Library([tmp_path / "nope"])


def test_names_are_case_insensitive_and_backslashes_work(write, tmp_path) -> None:
    write("lib/parts/s/Sub01.DAT", "0 Sub\n0 !LDRAW_ORG Subpart\n3 16 0 0 0 1 0 0 0 0 1\n")
    write("lib/parts/Top.dat", "0 Top\n0 !LDRAW_ORG Part\n1 16 0 0 0 1 0 0 0 1 0 0 0 1 S\\SUB01.dat\n")
    model = write("m.ldr", "1 4 0 0 0 1 0 0 0 1 0 0 0 1 TOP.DAT\n")
    assembly = load_assembly(model, library=Library([tmp_path / "lib"], use_embedded=False))
    assert assembly.meshes["top"].triangle_count == 1


@pytest.mark.parametrize("resolution, expected", [("standard", 16), ("high", 48), ("low", 8)])
def test_primitive_resolution_picks_p48_or_p8(write, tmp_path, resolution, expected) -> None:
    for folder, count in (("p", 16), ("p/48", 48), ("p/8", 8)):
        triangles = "\n".join(f"3 16 0 0 0 1 0 {i} 0 0 1" for i in range(count))
        write(f"lib/{folder}/ring.dat", f"0 Ring\n0 !LDRAW_ORG Primitive\n{triangles}\n")
    write("lib/parts/r.dat", "0 R\n0 !LDRAW_ORG Part\n1 16 0 0 0 1 0 0 0 1 0 0 0 1 ring.dat\n")
    model = write("m.ldr", "1 4 0 0 0 1 0 0 0 1 0 0 0 1 r.dat\n")
    library = Library([tmp_path / "lib"], use_embedded=False, resolution=resolution)
    assert load_assembly(model, library=library).meshes["r"].triangle_count == expected


def test_unknown_resolution_is_an_error() -> None:
    with pytest.raises(LDrawError, match="unknown primitive resolution 'ultra'"):
        Library(resolution="ultra")


def test_unofficial_folder_is_searched_after_official(write, tmp_path) -> None:
    write("lib/unofficial/parts/u.dat", ONE_TRIANGLE.format(title="unofficial u"))
    write("lib/unofficial/parts/x.dat", ONE_TRIANGLE.format(title="unofficial x"))
    write("lib/parts/x.dat", ONE_TRIANGLE.format(title="official x"))
    model = write("m.ldr", "1 4 0 0 0 1 0 0 0 1 0 0 0 1 u.dat\n1 4 0 0 0 1 0 0 0 1 0 0 0 1 x.dat\n")
    assembly = load_assembly(model, library=Library([tmp_path / "lib"], use_embedded=False))
    assert assembly.meshes["u"].title == "unofficial u"
    assert assembly.meshes["x"].title == "official x"


@pytest.mark.parametrize("name", ["..\\..\\x.dat", "../secret.dat", "s/../../x.dat", "/etc/passwd", "C:\\x.dat"])
def test_reference_can_never_leave_its_roots(write, mini_library, name: str) -> None:
    write("outside/x.dat", ONE_TRIANGLE.format(title="outside"))
    model = write("lib2/models/m.ldr", f"0 M\n1 4 0 0 0 1 0 0 0 1 0 0 0 1 {name}\n")
    with pytest.raises(LDrawError) as raised:
        load_assembly(model, library=Library([mini_library], use_embedded=False))
    assert "m.ldr:2:" in str(raised.value)
    assert "leaves the library roots" in str(raised.value) or "absolute reference" in str(raised.value)


def test_all_missing_files_are_reported_at_once_with_roots(write, mini_library) -> None:
    model = write("m.ldr", "\n".join([
        "0 M",
        "1 4 0 0 0 1 0 0 0 1 0 0 0 1 nothere1.dat",
        "1 4 0 0 0 1 0 0 0 1 0 0 0 1 box.dat",
        "1 4 0 0 0 1 0 0 0 1 0 0 0 1 nothere2.dat",
        "1 4 0 0 0 1 0 0 0 1 0 0 0 1 nothere1.dat",
        "",
    ]))
    with pytest.raises(MissingPartsError) as raised:
        load_assembly(model, library=Library([mini_library], use_embedded=False))
    message = str(raised.value)
    assert "2 file(s) not found" in message
    assert "nothere1.dat (first used at" in message and "m.ldr:2" in message
    assert "nothere2.dat" in message and str(mini_library) in message
    assert "\n" not in message


def test_reference_cycle_is_reported(write, mini_library) -> None:
    model = write("c.mpd", "\n".join([
        "0 FILE a.ldr", "1 16 0 0 0 1 0 0 0 1 0 0 0 1 b.ldr",
        "0 FILE b.ldr", "1 16 0 0 0 1 0 0 0 1 0 0 0 1 a.ldr", "",
    ]))
    with pytest.raises(LDrawError, match=r"reference cycle: .*a\.ldr -> .*b\.ldr -> .*a\.ldr"):
        load_assembly(model, library=Library([mini_library], use_embedded=False))


def test_part_cycle_is_reported(write, tmp_path) -> None:
    write("lib/parts/p1.dat", "0 P1\n0 !LDRAW_ORG Part\n1 16 0 0 0 1 0 0 0 1 0 0 0 1 p2.dat\n")
    write("lib/parts/p2.dat", "0 P2\n0 !LDRAW_ORG Part\n1 16 0 0 0 1 0 0 0 1 0 0 0 1 p1.dat\n")
    model = write("m.ldr", "1 4 0 0 0 1 0 0 0 1 0 0 0 1 p1.dat\n")
    with pytest.raises(LDrawError, match="reference cycle"):
        load_assembly(model, library=Library([tmp_path / "lib"], use_embedded=False))


def test_resolution_and_parsing_are_cached(write, mini_library, monkeypatch) -> None:
    library = Library([mini_library], use_embedded=False)
    first = library.resolve("BOX.dat")
    assert first is not None and first == library.resolve("box.dat")
    calls = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: calls.append(self) or original(self))
    model = write("m.ldr", "1 4 0 0 0 1 0 0 0 1 0 0 0 1 box.dat\n")
    load_assembly(model, library=library)
    load_assembly(model, library=library)
    assert calls.count(first) <= 1


def test_changed_file_is_reparsed(write, mini_library) -> None:
    library = Library([mini_library], use_embedded=False)
    model = write("m.ldr", "1 4 0 0 0 1 0 0 0 1 0 0 0 1 box.dat\n")
    assert len(load_assembly(model, library=library).instances) == 1
    write("m.ldr", "1 4 0 0 0 1 0 0 0 1 0 0 0 1 box.dat\n1 4 0 0 0 1 0 0 0 1 0 0 0 1 box.dat\n\n")
    assert len(load_assembly(model, library=library).instances) == 2
