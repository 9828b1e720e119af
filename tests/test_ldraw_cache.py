"""The on-disk part mesh cache: same meshes as without it, and safe against changed files, new
files that shadow old ones, corrupt or truncated entries, concurrent writers and an unusable
folder. Tests use their own cache folders (the session's is a temporary one, see conftest)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from madgen.ldraw import Library, load_assembly
from madgen.ldraw import cache as cache_module
from madgen.ldraw.cache import ENTRY_FOLDER, MESH_ARRAYS, default_cache_dir

from .conftest import REPO

IDENTITY = "1 0 0 0 1 0 0 0 1"
OLD = time.time() - 3600  # files older than the cache's two-second settling time


def _entries(folder: Path) -> list[Path]:
    return sorted((folder / ENTRY_FOLDER).glob("*.mesh"))


def _age(root: Path, when: float = OLD) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (when, when))


def _same_meshes(first, second) -> None:
    assert sorted(first.meshes) == sorted(second.meshes)
    for part_id, mesh in first.meshes.items():
        other = second.meshes[part_id]
        for name in MESH_ARRAYS:
            a, b = getattr(mesh, name), getattr(other, name)
            assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), (part_id, name)
        assert (mesh.title, mesh.source, mesh.warnings) == (other.title, other.source, other.warnings)
    assert [i.to_dict() for i in first.instances] == [i.to_dict() for i in second.instances]
    assert first.warnings == second.warnings


@pytest.fixture
def official_model(official_ldraw, write) -> Path:
    parts = ["3001", "3039", "4589", "3062b", "6141", "2412b", "3024", "30033", "4150", "6222"]
    lines = ["0 Model", *(f"1 {4 + i} {40 * i} 0 0 {IDENTITY} {part}.dat" for i, part in enumerate(parts))]
    return write("official.ldr", "\n".join(lines + [""]))


def test_cached_and_uncached_loads_give_identical_meshes(official_ldraw, official_model, tmp_path) -> None:
    folder = tmp_path / "cache"
    plain = load_assembly(official_model, library=Library([official_ldraw], use_embedded=False, cache=False))
    assert not folder.exists()
    writing = load_assembly(official_model, library=Library([official_ldraw], use_embedded=False, cache=folder))
    assert len(_entries(folder)) == 10
    library = Library([official_ldraw], use_embedded=False, cache=folder)
    reading = load_assembly(official_model, library=library)
    assert library.mesh_cache is not None and library.mesh_cache.hits == 10 and library.mesh_cache.writes == 0
    _same_meshes(plain, writing)
    _same_meshes(plain, reading)


@pytest.mark.parametrize("resolution", ["high", "low"])
def test_resolution_is_part_of_the_key(official_ldraw, tmp_path, write, resolution) -> None:
    model = write("round.ldr", f"1 4 0 0 0 {IDENTITY} 3062b.dat\n")
    folder = tmp_path / "cache"
    standard = load_assembly(model, library=Library([official_ldraw], use_embedded=False, cache=folder))
    other = load_assembly(model, library=Library([official_ldraw], use_embedded=False, cache=folder,
                                                 resolution=resolution))
    plain = load_assembly(model, library=Library([official_ldraw], use_embedded=False, cache=False,
                                                 resolution=resolution))
    assert len(_entries(folder)) == 2
    assert standard.triangle_count != other.triangle_count
    _same_meshes(plain, other)


def test_a_cached_load_reads_no_library_file(official_ldraw, official_model, tmp_path, monkeypatch) -> None:
    folder = tmp_path / "cache"
    load_assembly(official_model, library=Library([official_ldraw], use_embedded=False, cache=folder))
    read = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self.name) or original(self))
    load_assembly(official_model, library=Library([official_ldraw], use_embedded=False, cache=folder))
    assert sorted(read) == ["LDConfig.ldr", "official.ldr"]  # the model and the colour table, no part


def _small_library(write, tmp_path: Path) -> Path:
    write("lib/LDConfig.ldr", "0 !COLOUR Red CODE 4 VALUE #B40000 EDGE #333333\n")
    write("lib/p/tri.dat", "0 Triangle\n0 !LDRAW_ORG Primitive\n0 BFC CERTIFY CCW\n3 16 0 0 0 1 0 0 0 0 1\n")
    write("lib/parts/s/halfs01.dat", "0 ~Half sub\n0 !LDRAW_ORG Subpart\n0 BFC CERTIFY CCW\n"
          f"1 16 0 0 0 {IDENTITY} tri.dat\n")
    write("lib/parts/half.dat", "0 Half\n0 !LDRAW_ORG Part\n0 BFC CERTIFY CCW\n"
          f"1 16 0 0 0 {IDENTITY} s\\halfs01.dat\n2 24 0 0 0 1 0 0\n")
    _age(tmp_path / "lib")
    return tmp_path / "lib"


def test_a_changed_subfile_makes_the_entry_stale(write, tmp_path) -> None:
    root = _small_library(write, tmp_path)
    model = write("m.ldr", f"1 4 0 0 0 {IDENTITY} half.dat\n")
    folder = tmp_path / "cache"
    assert load_assembly(model, library=Library([root], use_embedded=False, cache=folder)).triangle_count == 1
    assert len(_entries(folder)) == 1
    # the primitive gains a triangle (same folder, older than the settling time, new size)
    write("lib/p/tri.dat", "0 Triangle\n0 !LDRAW_ORG Primitive\n0 BFC CERTIFY CCW\n"
          "3 16 0 0 0 1 0 0 0 0 1\n3 16 0 0 0 0 0 1 0 1 0\n")
    _age(root / "p", OLD + 60)
    library = Library([root], use_embedded=False, cache=folder)
    assert load_assembly(model, library=library).triangle_count == 2
    assert library.mesh_cache.hits == 0 and library.mesh_cache.writes == 1
    library = Library([root], use_embedded=False, cache=folder)
    assert load_assembly(model, library=library).triangle_count == 2 and library.mesh_cache.hits == 1


def test_same_size_rewrite_with_a_new_mtime_is_seen(write, tmp_path) -> None:
    root = _small_library(write, tmp_path)
    model = write("m.ldr", f"1 4 0 0 0 {IDENTITY} half.dat\n")
    folder = tmp_path / "cache"
    load_assembly(model, library=Library([root], use_embedded=False, cache=folder))
    write("lib/p/tri.dat", "0 Triangle\n0 !LDRAW_ORG Primitive\n0 BFC CERTIFY CCW\n3 16 0 0 0 2 0 0 0 0 2\n")
    _age(root / "p", OLD + 60)
    mesh = load_assembly(model, library=Library([root], use_embedded=False, cache=folder)).meshes["half"]
    assert mesh.vertices.max() == 2.0


def test_the_colour_table_is_a_dependency(write, tmp_path) -> None:
    """Code 24 under a fixed colour is stored resolved to that colour's edge colour."""
    root = _small_library(write, tmp_path)
    write("lib/parts/edgy.dat", "0 Edgy\n0 !LDRAW_ORG Part\n0 BFC CERTIFY CCW\n"
          f"1 4 0 0 0 {IDENTITY} s\\halfs01.dat\n3 24 0 0 0 1 0 0 0 0 1\n")
    write("lib/parts/s/halfs01.dat", "0 ~Half sub\n0 !LDRAW_ORG Subpart\n0 BFC CERTIFY CCW\n"
          "3 24 0 0 0 1 0 0 0 0 1\n")
    _age(root)
    model = write("m.ldr", f"1 4 0 0 0 {IDENTITY} edgy.dat\n")
    folder = tmp_path / "cache"
    first = load_assembly(model, library=Library([root], use_embedded=False, cache=folder)).meshes["edgy"]
    write("lib/LDConfig.ldr", "0 !COLOUR Red CODE 4 VALUE #B40000 EDGE #00FF00\n")
    _age(root, OLD + 60)
    second = load_assembly(model, library=Library([root], use_embedded=False, cache=folder)).meshes["edgy"]
    assert first.triangle_colours.tolist() == [24, 0x2333333] and second.triangle_colours.tolist() == [24, 0x200FF00]


def test_a_new_file_that_shadows_a_dependency_makes_the_entry_stale(write, tmp_path) -> None:
    root = _small_library(write, tmp_path)
    model = write("m.ldr", f"1 4 0 0 0 {IDENTITY} half.dat\n")
    folder = tmp_path / "cache"
    load_assembly(model, library=Library([root], use_embedded=False, cache=folder))
    # a tri.dat in parts/ is found before p/tri.dat (the part's own folder is searched first)
    write("lib/parts/tri.dat", "0 Other\n0 !LDRAW_ORG Primitive\n0 BFC CERTIFY CCW\n"
          "4 16 0 0 0 1 0 0 1 0 1 0 0 1\n")
    _age(root / "parts", OLD + 60)
    library = Library([root], use_embedded=False, cache=folder)
    assert load_assembly(model, library=library).triangle_count == 2
    assert library.mesh_cache.hits == 0


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty", "foreign"])
def test_corrupt_or_truncated_entry_is_ignored_and_rewritten(write, tmp_path, damage) -> None:
    root = _small_library(write, tmp_path)
    model = write("m.ldr", f"1 4 0 0 0 {IDENTITY} half.dat\n")
    folder = tmp_path / "cache"
    good = load_assembly(model, library=Library([root], use_embedded=False, cache=False))
    load_assembly(model, library=Library([root], use_embedded=False, cache=folder))
    (entry,) = _entries(folder)
    data = entry.read_bytes()
    if damage == "truncate":
        entry.write_bytes(data[: len(data) - 7])
    elif damage == "flip":
        entry.write_bytes(data[:-5] + bytes([data[-5] ^ 0xFF]) + data[-4:])
    elif damage == "garbage":
        entry.write_bytes(b"\x93NUMPY not an entry at all" * 10)
    elif damage == "empty":
        entry.write_bytes(b"")
    else:  # an intact entry whose key is another one (as after a hash collision)
        assert b'"resolution":"standard"' in data
        entry.write_bytes(data.replace(b'"resolution":"standard"', b'"resolution":"xxxxxxxx"', 1))
    library = Library([root], use_embedded=False, cache=folder)
    _same_meshes(good, load_assembly(model, library=library))
    assert library.mesh_cache.hits == 0 and library.mesh_cache.writes == 1
    assert entry.read_bytes() == data
    library = Library([root], use_embedded=False, cache=folder)
    load_assembly(model, library=library)
    assert library.mesh_cache.hits == 1


_WORKER = r"""
import hashlib, json, sys
from madgen.ldraw import Library, load_assembly
library = Library([sys.argv[1]], use_embedded=False, cache=sys.argv[2])
assembly = load_assembly(sys.argv[3], library=library)
digest = hashlib.sha256()
for part_id in sorted(assembly.meshes):
    mesh = assembly.meshes[part_id]
    for array in (mesh.vertices, mesh.triangles, mesh.triangle_colours, mesh.sharp_edges):
        digest.update(array.tobytes())
print(json.dumps({"digest": digest.hexdigest(), "hits": library.mesh_cache.hits}))
"""


def test_concurrent_writers_are_safe(official_ldraw, official_model, tmp_path) -> None:
    folder = tmp_path / "cache"
    command = [sys.executable, "-c", _WORKER, str(official_ldraw), str(folder), str(official_model)]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
                 for _ in range(4)]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert len({r["digest"] for r in results}) == 1
    assert len(_entries(folder)) == 10
    assert not [p for p in (folder / ENTRY_FOLDER).iterdir() if not p.name.endswith(".mesh")]  # no temp files
    after = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=True)
    final = json.loads(after.stdout.strip().splitlines()[-1])
    assert final == {"digest": results[0]["digest"], "hits": 10}


def test_fresh_files_are_not_cached(write, mini_library, tmp_path) -> None:
    """A file younger than two seconds could be rewritten within one mtime tick: never cached."""
    model = write("m.ldr", f"1 4 0 0 0 {IDENTITY} box.dat\n")
    folder = tmp_path / "cache"
    load_assembly(model, library=Library([mini_library], use_embedded=False, cache=folder))
    assert _entries(folder) == []
    _age(mini_library)
    load_assembly(model, library=Library([mini_library], use_embedded=False, cache=folder))
    assert len(_entries(folder)) == 1


def test_unwritable_folder_warns_once_and_still_loads(write, mini_library, tmp_path) -> None:
    write("lib/parts/twin.dat", f"0 Twin\n0 !LDRAW_ORG Part\n1 16 0 0 0 {IDENTITY} box.dat\n")
    _age(mini_library)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    model = write("m.ldr", f"1 4 0 0 0 {IDENTITY} box.dat\n1 4 0 0 0 {IDENTITY} twin.dat\n")
    library = Library([mini_library], use_embedded=False, cache=blocker)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assembly = load_assembly(model, library=library)
    assert assembly.triangle_count == 24 and len(assembly.meshes) == 2
    assert len([w for w in caught if "mesh cache disabled" in str(w.message)]) == 1


def test_cache_folder_from_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("MADGEN_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "madgen"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "madgen"
    monkeypatch.setenv("MADGEN_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    for off in ("0", "off", "false", "No"):
        monkeypatch.setenv("MADGEN_CACHE", off)
        assert default_cache_dir() is None and Library(use_env=False).mesh_cache is None


def test_disabled_cache_writes_nothing(write, mini_library, tmp_path, monkeypatch) -> None:
    _age(mini_library)
    model = write("m.ldr", f"1 4 0 0 0 {IDENTITY} box.dat\n")
    monkeypatch.setenv("MADGEN_CACHE_DIR", str(tmp_path / "env-cache"))
    load_assembly(model, library=Library([mini_library], use_embedded=False, cache=False))
    monkeypatch.setenv("MADGEN_CACHE", "0")
    load_assembly(model, library=Library([mini_library], use_embedded=False))
    assert not (tmp_path / "env-cache").exists()
    monkeypatch.delenv("MADGEN_CACHE")
    load_assembly(model, library=Library([mini_library], use_embedded=False))
    assert len(_entries(tmp_path / "env-cache")) == 1


def test_model_meshes_are_not_written_to_disk(write, mini_library, tmp_path) -> None:
    """Only library parts are cached on disk: an MPD's own parts and a model's geometry are not."""
    _age(mini_library)
    model = write("m.mpd", "0 FILE m.ldr\n3 4 0 0 0 1 0 0 0 0 1\n"
                  f"1 4 0 0 0 {IDENTITY} own.dat\n0 FILE own.dat\n0 !LDRAW_ORG Unofficial_Part\n"
                  f"1 16 0 0 0 {IDENTITY} box.dat\n")
    _age(tmp_path, OLD)
    folder = tmp_path / "cache"
    assembly = load_assembly(model, library=Library([mini_library], use_embedded=False, cache=folder))
    assert assembly.mesh_kinds == {"m.ldr": "geometry", "own": "embedded"}
    assert _entries(folder) == []


def test_warm_load_in_one_process_sees_a_changed_part(write, tmp_path) -> None:
    """The in-memory caches check the files too: a part edited between two loads is re-read."""
    root = _small_library(write, tmp_path)
    model = write("m.ldr", f"1 4 0 0 0 {IDENTITY} half.dat\n")
    library = Library([root], use_embedded=False, cache=False)
    assert load_assembly(model, library=library).triangle_count == 1
    write("lib/parts/s/halfs01.dat", "0 ~Half sub\n0 !LDRAW_ORG Subpart\n0 BFC CERTIFY CCW\n"
          f"1 16 0 0 0 {IDENTITY} tri.dat\n1 16 5 0 0 {IDENTITY} tri.dat\n")
    _age(root / "parts", OLD + 60)
    assert load_assembly(model, library=library).triangle_count == 2


def test_entries_hold_raw_arrays_not_pickle(write, tmp_path) -> None:
    root = _small_library(write, tmp_path)
    model = write("m.ldr", f"1 4 0 0 0 {IDENTITY} half.dat\n")
    load_assembly(model, library=Library([root], use_embedded=False, cache=tmp_path / "cache"))
    (entry,) = _entries(tmp_path / "cache")
    data = entry.read_bytes()
    assert data.startswith(cache_module.MAGIC)
    (length,) = struct.unpack_from("<Q", data, len(cache_module.MAGIC))
    header = json.loads(data[len(cache_module.MAGIC) + 8:len(cache_module.MAGIC) + 8 + length])
    assert [row[0] for row in header["arrays"]] == list(MESH_ARRAYS)
    assert header["key"]["path"] == str((root / "parts" / "half.dat").resolve())
    assert sorted(Path(row[0]).name for row in header["files"]) == ["LDConfig.ldr", "half.dat", "halfs01.dat",
                                                                    "tri.dat"]


def test_meshes_cached_by_other_reader_code_are_not_reused(write, tmp_path, monkeypatch) -> None:
    """The key holds a hash of madgen.ldraw's sources: an edited reader never reads older meshes."""
    root = _small_library(write, tmp_path)
    model = write("m.ldr", f"1 4 0 0 0 {IDENTITY} half.dat\n")
    folder = tmp_path / "cache"
    load_assembly(model, library=Library([root], use_embedded=False, cache=folder))
    assert len(cache_module.code_version()) == 16
    monkeypatch.setattr(cache_module, "code_version", lambda: "another-reader")
    library = Library([root], use_embedded=False, cache=folder)
    load_assembly(model, library=library)
    assert library.mesh_cache.hits == 0 and len(_entries(folder)) == 2
