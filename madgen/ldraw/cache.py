"""A persistent on-disk cache of part meshes, so that a new process never re-reads the library.

A library part's welded :class:`~madgen.ldraw.geometry.PartMesh` costs parsing the part and
every subpart and primitive it uses; the cache keeps the finished mesh as raw arrays, one file
per part, under the user's cache folder:

- ``$MADGEN_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/madgen``, else ``~/.cache/madgen``
  (entries live in its ``ldraw-meshes/`` folder);
- ``MADGEN_CACHE=0`` (or ``off``/``false``/``no``), or ``Library(..., cache=False)``, turns it off;
  ``Library(..., cache=folder)`` picks the folder.

An entry is only used when it matches exactly what a fresh read would produce:

- its name is a hash of the format version, the reader's own code (a hash of the
  ``madgen.ldraw`` sources, so that a changed reader never reuses meshes made by an older one),
  the library roots (in order), the primitive resolution, strictness, and the part's path; the
  header repeats that key and is compared;
- it lists every file the mesh was made from (the part, its subparts and primitives, and the
  colour table) with size and modification time, and every name it resolved with the file that
  name resolved to: a changed file, or a new file that now shadows one, makes it stale;
- the payload has a length and a CRC-32: a truncated or corrupt entry is ignored (and
  rewritten by the next load that builds the mesh), never an error.

Writes go to a temporary file in the same folder, then ``os.replace``: a reader sees the old
entry or the new one, and two processes writing the same entry at once are both safe. A mesh
is only written when every file it depends on is at least two seconds old, so that a file
rewritten within the file system's timestamp resolution can never leave a stale entry behind.
Entries are numpy arrays in a small binary container (a JSON header and raw little-endian
arrays), never pickle.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import time
import warnings
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

#: Bump when the entry layout, or anything that changes a mesh built from the same files, changes.
FORMAT_VERSION = 1
MAGIC = b"madgen ldraw mesh\n"
ENTRY_FOLDER = "ldraw-meshes"
#: Files modified more recently than this (ns) are not cached: their mtime could hide a rewrite.
SETTLE_NS = 2_000_000_000
#: Folders found unwritable in this process (warned about once each).
_UNWRITABLE: set[Path] = set()
_ALIGN = 16
_FALSE = {"0", "off", "false", "no"}

#: The arrays of a cached mesh and their dtypes.
MESH_ARRAYS = {
    "vertices": np.float32,
    "triangles": np.int32,
    "triangle_colours": np.int32,
    "triangle_certified": np.bool_,
    "edge_lines": np.float32,
    "edge_colours": np.int32,
    "optional_lines": np.float32,
    "sharp_edges": np.int32,
}


def default_cache_dir() -> Path | None:
    """The cache folder from the environment, or None when ``MADGEN_CACHE`` turns caching off."""
    if os.environ.get("MADGEN_CACHE", "").strip().lower() in _FALSE:
        return None
    override = os.environ.get("MADGEN_CACHE_DIR", "").strip()
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "madgen"


@lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of the reader's sources: a mesh cached by other code is never reused."""
    digest = hashlib.sha256()
    folder = Path(__file__).resolve().parent
    try:
        for source in sorted(folder.glob("*.py")):
            digest.update(source.name.encode("utf-8") + b"\0" + source.read_bytes())
    except OSError:  # not installed as plain files: fall back on the package version
        from .. import __version__

        digest.update(f"madgen {__version__}".encode("utf-8"))
    return digest.hexdigest()[:16]


def file_signature(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """``(size, mtime_ns)`` of a file, or None when it cannot be read."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_size, stat.st_mtime_ns)


@dataclass(frozen=True)
class Dependencies:
    """What a mesh was made from: files with their signatures, and names with what they resolved to.

    ``edges`` holds ``(folder, name, path)``: ``name``, looked up from a file in ``folder``,
    resolved to ``path``.
    """

    files: dict[str, tuple[int, int]]
    edges: frozenset[tuple[str, str, str]]

    @staticmethod
    def merge(parts: list["Dependencies"]) -> "Dependencies":
        """The union of several."""
        if len(parts) == 1:
            return parts[0]
        files: dict[str, tuple[int, int]] = {}
        edges: set[tuple[str, str, str]] = set()
        for part in parts:
            files.update(part.files)
            edges.update(part.edges)
        return Dependencies(files, frozenset(edges))

    def settled(self, now_ns: int | None = None) -> bool:
        """True when every file is older than :data:`SETTLE_NS`."""
        now_ns = time.time_ns() if now_ns is None else now_ns
        return all(signature[1] < now_ns - SETTLE_NS for signature in self.files.values())


@dataclass
class CachedMesh:
    """A cache entry read back: the mesh arrays and the header's metadata."""

    arrays: dict[str, np.ndarray]
    title: str
    source: str
    warnings: list[tuple[str, str, int]]
    dependencies: Dependencies


class MeshCache:
    """Reads and writes mesh entries in one folder, for one library configuration (``context``)."""

    def __init__(self, folder: str | os.PathLike[str], context: dict[str, Any]) -> None:
        self.folder = Path(folder).expanduser() / ENTRY_FOLDER
        self.context = {"format": FORMAT_VERSION, "code": code_version(), **context}
        self.hits = 0
        self.misses = 0
        self.writes = 0

    def key(self, path: str, name: str) -> dict[str, Any]:
        """The full key of one mesh (``name``: the file inside an MPD, empty for a plain file)."""
        return {**self.context, "path": path, "name": name}

    def entry_path(self, key: dict[str, Any]) -> Path:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode("utf-8")).hexdigest()
        return self.folder / f"{digest[:40]}.mesh"

    # -- reading ----------------------------------------------------------------------------
    def load(self, path: str, name: str = "") -> CachedMesh | None:
        """The entry for ``path`` if present and intact (dependencies are the caller's to check)."""
        key = self.key(path, name)
        entry = self.entry_path(key)
        try:
            with open(entry, "rb") as handle:
                data = bytearray(handle.read())
        except OSError:
            self.misses += 1
            return None
        cached = _decode(data, key)
        if cached is None:
            self.misses += 1
        return cached

    # -- writing ----------------------------------------------------------------------------
    def store(self, path: str, name: str, arrays: dict[str, np.ndarray], title: str, source: str,
              warning_rows: list[tuple[str, str, int]], dependencies: Dependencies) -> bool:
        """Write one entry atomically; False (and one warning per process) if the folder is unusable."""
        if self.folder in _UNWRITABLE:
            return False
        key = self.key(path, name)
        data = _encode(key, arrays, title, source, warning_rows, dependencies)
        entry = self.entry_path(key)
        temporary = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".mesh", dir=self.folder)
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, entry)
            temporary = None
        except OSError as error:
            _UNWRITABLE.add(self.folder)
            warnings.warn(f"madgen: LDraw mesh cache disabled for this process, cannot write to {self.folder} "
                          f"({error.strerror or error}); set MADGEN_CACHE_DIR or MADGEN_CACHE=0",
                          RuntimeWarning, stacklevel=3)
            return False
        finally:
            if temporary is not None:
                try:
                    os.unlink(temporary)
                except OSError:
                    pass
        self.writes += 1
        return True


def _encode(key: dict[str, Any], arrays: dict[str, np.ndarray], title: str, source: str,
            warning_rows: list[tuple[str, str, int]], dependencies: Dependencies) -> bytes:
    layout = []
    chunks = []
    offset = 0
    for name, dtype in MESH_ARRAYS.items():
        array = np.ascontiguousarray(arrays[name], dtype=np.dtype(dtype).newbyteorder("<"))
        raw = array.tobytes()
        layout.append([name, array.shape, offset, len(raw)])
        padding = (-len(raw)) % _ALIGN
        chunks.append(raw + b"\0" * padding)
        offset += len(raw) + padding
    payload = b"".join(chunks)
    header = {
        "key": key,
        "title": title,
        "source": source,
        "warnings": [list(row) for row in warning_rows],
        "files": sorted([path, *signature] for path, signature in dependencies.files.items()),
        "edges": sorted(list(edge) for edge in dependencies.edges),
        "arrays": layout,
        "payload_bytes": len(payload),
        "crc32": zlib.crc32(payload),
    }
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * ((-(len(MAGIC) + 8 + len(text))) % _ALIGN)
    return MAGIC + struct.pack("<Q", len(text)) + text + payload


def _decode(data: bytearray, key: dict[str, Any]) -> CachedMesh | None:
    """Parse an entry; None when it is foreign, truncated or corrupt."""
    try:
        if not data.startswith(MAGIC):
            return None
        start = len(MAGIC) + 8
        (length,) = struct.unpack_from("<Q", data, len(MAGIC))
        if start + length > len(data):
            return None
        header = json.loads(bytes(data[start:start + length]))
        if not isinstance(header, dict) or header.get("key") != key:
            return None
        payload = memoryview(data)[start + length:]
        if len(payload) != header["payload_bytes"] or zlib.crc32(payload) != header["crc32"]:
            return None
        arrays = {}
        layout = {row[0]: row for row in header["arrays"]}
        for name, dtype in MESH_ARRAYS.items():
            _, shape, offset, size = layout[name]
            dtype_le = np.dtype(dtype).newbyteorder("<")
            count = size // dtype_le.itemsize
            if offset + size > len(payload) or int(np.prod(shape)) != count:
                return None
            array = np.frombuffer(payload, dtype=dtype_le, count=count, offset=offset).reshape(shape)
            arrays[name] = array.astype(dtype, copy=False)
        files = {path: (int(size), int(mtime)) for path, size, mtime in header["files"]}
        edges = frozenset((folder, name, path) for folder, name, path in header["edges"])
        warning_rows = [(str(message), str(path), int(line)) for message, path, line in header["warnings"]]
        return CachedMesh(arrays, str(header["title"]), str(header["source"]), warning_rows,
                          Dependencies(files, edges))
    except (ValueError, KeyError, TypeError, struct.error, UnicodeDecodeError):
        return None
