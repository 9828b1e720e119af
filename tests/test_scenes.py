"""The 20 MAD categories: names, scene files, and models that load with both libraries."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from madgen.categories import CATEGORIES, category_name, load_scene, resolve_category
from madgen.errors import MadgenError
from madgen.ldraw import Library, load_assembly

EXPECTED = ("01Gorilla 02Unicorn 03Mallard 04Turtle 05Whale 06Bird 07Owl 08Sabertooth 09Swan 10Sheep "
            "11Pig 12Zalika 13Pheonix 14Elephant 15Parrot 16Cat 17Scorpion 18Obesobeso 19Bear 20Puppy").split()


def test_exact_mad_names() -> None:
    assert list(CATEGORIES) == EXPECTED


@pytest.mark.parametrize("text", ["01Gorilla", "Gorilla", "gorilla", "GORILLA", "1", "01"])
def test_category_spellings(text: str) -> None:
    assert resolve_category(text) == "01Gorilla"


def test_unknown_category_lists_the_valid_ones() -> None:
    with pytest.raises(MadgenError, match="unknown category 'Dragon'; choose one of: 01Gorilla"):
        resolve_category("Dragon")


def test_bad_scene_yaml_key_names_file_and_key(tmp_path) -> None:
    (tmp_path / "01Gorilla.ldr").write_text("0 G\n")
    (tmp_path / "01Gorilla.yaml").write_text("category: 01Gorilla\nmissing:\n  eligble: auto\n")
    with pytest.raises(MadgenError, match=r"01Gorilla.yaml: key 'missing.eligble': unknown key"):
        load_scene("Gorilla", folder=tmp_path)


@pytest.fixture(scope="module")
def embedded_assemblies():
    library = Library(use_env=False)
    return {c: load_assembly(load_scene(c).model, library=library) for c in CATEGORIES}


@pytest.mark.parametrize("category", CATEGORIES)
def test_scene_is_a_real_figure(category, embedded_assemblies) -> None:
    scene = load_scene(category)
    assert scene.name == category_name(category)
    assembly = embedded_assemblies[category]
    assert assembly.warnings == []
    assert len(assembly.instances) >= 60
    solid_colours = {i.colour for i in assembly.instances}
    assert len(solid_colours) >= 3
    assert any("eye" in (i.group or "") for i in assembly.instances), "no part grouped as an eye"
    low, high = assembly.bounding_box()
    assert high[1] == pytest.approx(0, abs=1e-3)  # standing on the ground (LDraw -Y is up)


def test_silhouettes_sizes_and_colours_vary(embedded_assemblies) -> None:
    sizes = {c: tuple(np.round(np.ptp(a.bounding_box(), axis=0) / 20)) for c, a in embedded_assemblies.items()}
    assert len(set(sizes.values())) == 20, "two categories share a bounding box"
    parts = [len(a.instances) for a in embedded_assemblies.values()]
    assert max(parts) >= 2 * min(parts)
    palettes = {frozenset(Counter(i.colour for i in a.instances)) for a in embedded_assemblies.values()}
    assert len(palettes) >= 15


@pytest.mark.parametrize("category", CATEGORIES)
def test_scene_loads_with_the_official_library(category, official_ldraw, embedded_assemblies) -> None:
    library = Library([official_ldraw], use_env=False, use_embedded=False)
    official = load_assembly(load_scene(category).model, library=library)
    embedded = embedded_assemblies[category]
    assert [i.part_id for i in official.instances] == [i.part_id for i in embedded.instances]
    np.testing.assert_allclose(official.bounding_box(), embedded.bounding_box(), atol=1.0)


def test_authoring_tool_reproduces_the_committed_scenes(tmp_path) -> None:
    import subprocess
    import sys

    from .conftest import REPO

    subprocess.run([sys.executable, str(REPO / "tools" / "author_scenes.py"), "--out", str(tmp_path)], check=True,
                   capture_output=True, cwd=REPO)
    committed = sorted((REPO / "scenes").glob("*.*"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in committed]
    for path in committed:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name
