"""The embedded ldraw_parts/: regenerable, and true to the official parts' dimensions and colours."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from madgen.ldraw import ColourTable, Library, load_assembly
from madgen.resources import embedded_ldraw_dir

from .conftest import REPO
from .geometry_checks import outward_fraction, signed_volume

EMBEDDED = embedded_ldraw_dir()
PART_FILES = sorted(p.name for p in (EMBEDDED / "parts").glob("*.dat"))
REAL_PARTS = [name for name in PART_FILES if "~Moved" not in (EMBEDDED / "parts" / name).read_text().split("\n")[0]]


def test_library_has_parts_primitives_and_colours() -> None:
    assert len(REAL_PARTS) >= 30
    assert (EMBEDDED / "p" / "stud.dat").is_file()
    assert (EMBEDDED / "p" / "48").is_dir() and (EMBEDDED / "p" / "8").is_dir()
    assert len(ColourTable.from_file(EMBEDDED / "LDConfig.ldr")) >= 60


def test_generator_reproduces_the_committed_library(tmp_path) -> None:
    out = tmp_path / "ldraw_parts"
    subprocess.run([sys.executable, str(REPO / "tools" / "build_ldraw_parts.py"), "--out", str(out)], check=True,
                   capture_output=True)
    comparison = filecmp.dircmp(out, EMBEDDED)

    def differences(node: filecmp.dircmp) -> list[str]:
        found = node.left_only + node.right_only + node.diff_files
        for child in node.subdirs.values():
            found += differences(child)
        return found

    assert differences(comparison) == []


@pytest.mark.parametrize("name", REAL_PARTS)
def test_part_is_certified_closed_and_outward(name: str) -> None:
    library = Library(use_env=False)
    mesh = next(iter(load_assembly(EMBEDDED / "parts" / name, library=library).meshes.values()))
    assert mesh.certified
    assert signed_volume(mesh.vertices, mesh.triangles) > 0
    assert outward_fraction(mesh.vertices, mesh.triangles) >= 0.99


@pytest.mark.parametrize("name", PART_FILES)
def test_bounding_box_matches_the_official_part(name: str, official_ldraw: Path) -> None:
    ours = load_assembly(EMBEDDED / "parts" / name, library=Library(use_env=False)).bounding_box()
    theirs = load_assembly(official_ldraw / "parts" / name,
                           library=Library([official_ldraw], use_env=False, use_embedded=False)).bounding_box()
    assert np.abs(ours - theirs).max() <= 1.0, f"{name}: ours {ours.tolist()} official {theirs.tolist()}"


def test_colour_values_match_the_official_table(official_ldraw: Path) -> None:
    ours = ColourTable.from_file(EMBEDDED / "LDConfig.ldr")
    theirs = ColourTable.from_file(official_ldraw / "LDConfig.ldr")
    for code in ours.codes():
        mine, official = ours.get(code), theirs.get(code)
        assert official is not None, f"colour {code} is not an official code"
        assert (mine.name, mine.rgb, mine.alpha, mine.material) == (
            official.name, official.rgb, official.alpha, official.material), code
