"""Shared fixtures: the official LDraw subset, and a helper that writes LDraw snippets."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parent.parent
OFFICIAL_LDRAW = REPO.parent / "shared" / "ldraw"


@pytest.fixture(autouse=True)
def _no_ldrawdir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never depend on the developer's LDRAWDIR."""
    monkeypatch.delenv("LDRAWDIR", raising=False)


@pytest.fixture(autouse=True, scope="session")
def _session_mesh_cache(tmp_path_factory: pytest.TempPathFactory):
    """The on-disk LDraw mesh cache lives in a temporary folder shared by the session (never the
    user's cache); sharing it means most tests also check that cached meshes change nothing."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MADGEN_CACHE_DIR", str(tmp_path_factory.mktemp("madgen-cache")))
        patch.delenv("MADGEN_CACHE", raising=False)
        yield


@pytest.fixture
def official_ldraw() -> Path:
    """The official LDraw library subset at ../shared/ldraw (skipped when absent)."""
    if not (OFFICIAL_LDRAW / "parts" / "3001.dat").is_file():
        pytest.skip(f"official LDraw subset not found at {OFFICIAL_LDRAW}")
    return OFFICIAL_LDRAW


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write ``text`` to ``tmp_path/relative`` (folders created) and return the path."""

    def _write(relative: str, text: str) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
        return path

    return _write


@pytest.fixture
def mini_library(write: Callable[[str, str], Path], tmp_path: Path) -> Path:
    """A tiny library root: a colour table, a certified unit-box part and a primitive."""
    write("lib/LDConfig.ldr", "\n".join([
        "0 !COLOUR Black CODE 0 VALUE #1B2A34 EDGE #808080",
        "0 !COLOUR Red CODE 4 VALUE #B40000 EDGE #333333",
        "0 !COLOUR Trans_Clear CODE 47 VALUE #FCFCFC EDGE #C3C3C3 ALPHA 128",
        "0 !COLOUR Chrome_Silver CODE 383 VALUE #E0E0E0 EDGE #A4A4A4 CHROME",
        "0 !COLOUR Glow CODE 21 VALUE #E0FFB0 EDGE #A4C374 ALPHA 250 LUMINANCE 15",
        "0 !COLOUR Glitter_Trans_Clear CODE 117 VALUE #FFFFFF EDGE #C3C3C3 ALPHA 128 "
        "MATERIAL GLITTER VALUE #FFFFFF FRACTION 0.08 VFRACTION 0.1 SIZE 1",
        "0 !COLOUR Main_Colour CODE 16 VALUE #FFFF80 EDGE #333333",
        "0 !COLOUR Edge_Colour CODE 24 VALUE #7F7F7F EDGE #333333",
        "",
    ]))
    write("lib/p/quadface.dat", "\n".join([
        "0 Unit square facing -Y",
        "0 Name: quadface.dat",
        "0 !LDRAW_ORG Primitive",
        "0 BFC CERTIFY CCW",
        "4 16 0 0 0 1 0 0 1 0 1 0 0 1",
        "2 24 0 0 0 1 0 0",
        "",
    ]))
    write("lib/parts/box.dat", "\n".join([
        "0 Unit box",
        "0 Name: box.dat",
        "0 !LDRAW_ORG Part",
        "0 BFC CERTIFY CCW",
        "1 16 0 0 0 1 0 0 0 1 0 0 0 1 quadface.dat",
        "0 BFC INVERTNEXT",
        "1 16 0 1 0 1 0 0 0 1 0 0 0 1 quadface.dat",
        "0 BFC INVERTNEXT",
        "1 16 0 0 0 1 0 0 0 0 1 0 -1 0 quadface.dat",
        "1 16 0 0 1 1 0 0 0 0 1 0 -1 0 quadface.dat",
        "1 16 0 0 0 0 1 0 1 0 0 0 0 1 quadface.dat",
        "0 BFC INVERTNEXT",
        "1 16 1 0 0 0 1 0 1 0 0 0 0 1 quadface.dat",
        "",
    ]))
    return tmp_path / "lib"
