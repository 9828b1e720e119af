"""LDraw library roots and file resolution.

Roots are searched in this order: the roots given explicitly (an argument or ``--ldraw-dir``),
then ``LDRAWDIR``, then madgen's embedded ``ldraw_parts/``. Inside each root the usual folders
are searched: ``models/``, ``parts/``, ``p/`` (``p/48/`` first for high primitive resolution,
``p/8/`` first for low), then ``unofficial/parts/`` and ``unofficial/p/`` when present.

Names are case-insensitive and may use backslashes (``s\\3001s01.dat``). A reference can never
leave its root or its model's folder (``..\\..\\x.dat`` is an error). Resolutions and parsed
files are cached; a parsed file is re-read when its size or modification time changes.

Finished part meshes are also kept on disk (:mod:`madgen.ldraw.cache`), so that a new process
does not parse the library again; ``cache=False`` or ``MADGEN_CACHE=0`` turns that off.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..resources import embedded_ldraw_dir
from .cache import MeshCache, default_cache_dir, file_signature
from .colours import ColourTable
from .errors import LDrawError, read_ldraw_text
from .parser import LDrawDocument, normalise_name, parse_ldraw

RESOLUTIONS = ("standard", "high", "low")
_UNKNOWN = object()


@dataclass(frozen=True)
class LibraryRoot:
    """One library folder and where it came from (``explicit``, ``LDRAWDIR`` or ``embedded``)."""

    path: Path
    origin: str

    def __str__(self) -> str:
        return f"{self.path} ({self.origin})"


def default_roots(
    explicit: Sequence[str | os.PathLike[str]] | str | os.PathLike[str] | None = None,
    *,
    use_env: bool = True,
    use_embedded: bool = True,
) -> list[LibraryRoot]:
    """The library roots in search order: explicit, then ``LDRAWDIR``, then embedded.

    An explicit root that is not a folder is an error; duplicates are dropped.
    """
    if explicit is None:
        explicit_list: list[str | os.PathLike[str]] = []
    elif isinstance(explicit, (str, os.PathLike)):
        explicit_list = [explicit]
    else:
        explicit_list = list(explicit)
    roots: list[LibraryRoot] = []
    for item in explicit_list:
        path = Path(item).expanduser()
        if not path.is_dir():
            raise LDrawError(f"LDraw library folder not found: {path}")
        roots.append(LibraryRoot(path.resolve(), "explicit"))
    env = os.environ.get("LDRAWDIR", "").strip() if use_env else ""
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise LDrawError(f"LDRAWDIR points to a missing folder: {path}")
        roots.append(LibraryRoot(path.resolve(), "LDRAWDIR"))
    if use_embedded:
        roots.append(LibraryRoot(embedded_ldraw_dir().resolve(), "embedded"))
    unique: list[LibraryRoot] = []
    for root in roots:
        if all(root.path != seen.path for seen in unique):
            unique.append(root)
    return unique


class _FolderIndex:
    """Case-insensitive directory listings, read once per folder."""

    def __init__(self) -> None:
        self._listings: dict[Path, dict[str, str]] = {}

    def child(self, folder: Path, name: str) -> Path | None:
        listing = self._listings.get(folder)
        if listing is None:
            try:
                entries = sorted(os.listdir(folder))
            except OSError:
                entries = []
            listing = {}
            for entry in entries:
                listing.setdefault(entry.lower(), entry)
            self._listings[folder] = listing
        actual = listing.get(name)
        return folder / actual if actual is not None else None

    def folder(self, base: Path, relative: str) -> Path | None:
        """The existing sub-folder ``relative`` of ``base`` (any case), or None."""
        current = base
        for component in relative.split("/"):
            found = self.child(current, component)
            if found is None or not found.is_dir():
                return None
            current = found
        return current

    def find(self, base: Path, relative: str) -> Path | None:
        """The existing file ``relative`` under ``base`` (any case), or None."""
        current = base
        for component in relative.split("/"):
            found = self.child(current, component)
            if found is None:
                return None
            current = found
        return current if current.is_file() else None


def safe_relative(name: str, where: str = "", line: int | None = None) -> str:
    """Normalise a reference and reject one that would leave its folder or is absolute."""
    key = normalise_name(name)
    if key.startswith("/") or (len(key) > 1 and key[1] == ":"):
        raise LDrawError(f"absolute reference {name!r} is not allowed", where or None, line)
    normal = posixpath.normpath(key)
    if normal == ".." or normal.startswith("../"):
        raise LDrawError(f"reference {name!r} leaves the library roots", where or None, line)
    return normal


class Library:
    """Resolves and parses LDraw files against an ordered list of roots, with caches.

    ``resolution`` picks the primitive folder searched first: ``standard`` (p/), ``high`` (p/48)
    or ``low`` (p/8). With ``strict`` (the default) a malformed line is an error, otherwise a
    warning. ``cache``: True (the default) keeps part meshes on disk in the folder the
    environment names (see :mod:`madgen.ldraw.cache`; ``MADGEN_CACHE=0`` turns it off), a path
    keeps them there, False never reads or writes one.
    """

    def __init__(
        self,
        roots: Sequence[str | os.PathLike[str]] | str | os.PathLike[str] | None = None,
        *,
        use_env: bool = True,
        use_embedded: bool = True,
        resolution: str = "standard",
        strict: bool = True,
        cache: bool | str | os.PathLike[str] = True,
    ) -> None:
        if resolution not in RESOLUTIONS:
            raise LDrawError(f"unknown primitive resolution {resolution!r} (use one of {', '.join(RESOLUTIONS)})")
        self.roots: list[LibraryRoot] = default_roots(roots, use_env=use_env, use_embedded=use_embedded)
        if not self.roots:
            raise LDrawError("no LDraw library roots: give --ldraw-dir, set LDRAWDIR or keep the embedded library")
        self.resolution = resolution
        self.strict = strict
        self._index = _FolderIndex()
        self._resolved: dict[tuple[str, str], Path | None] = {}
        #: The same, by the name as written (safe names only: an escaping one raises every time).
        self._resolved_names: dict[tuple[str, str], Path | None] = {}
        self._documents: dict[Path, tuple[tuple[int, int], LDrawDocument]] = {}
        self._colours: ColourTable | None = None
        self._colours_file: tuple[Path | None] | None = None
        self._search_folders: dict[Path, list[Path]] = {}
        #: Cache used by :mod:`madgen.ldraw.geometry` for flattened file geometry, keyed by path.
        self.geometry_cache: dict[object, object] = {}
        folder = default_cache_dir() if cache is True else (Path(cache) if cache else None)
        #: The on-disk mesh cache, or None when caching is off.
        self.mesh_cache: MeshCache | None = None
        if folder is not None:
            self.mesh_cache = MeshCache(folder, {
                "roots": [str(root.path) for root in self.roots],
                "resolution": resolution,
                "strict": strict,
            })

    # -- roots and search folders -------------------------------------------------------------
    def search_folders(self, root: LibraryRoot) -> list[Path]:
        """The folders of one root, in search order (missing ones are skipped)."""
        primitive_first = {"high": ["p/48"], "low": ["p/8"], "standard": []}[self.resolution]
        relative = ["models", "parts", *primitive_first, "p"]
        relative += ["unofficial/parts", *("unofficial/" + p for p in primitive_first), "unofficial/p"]
        cached = self._search_folders.get(root.path)
        if cached is None:
            found = (self._index.folder(root.path, item) for item in relative)
            cached = self._search_folders[root.path] = [folder for folder in found if folder is not None]
        return cached

    def root_of(self, path: Path) -> LibraryRoot | None:
        """The root a resolved path lies in, if any."""
        for root in self.roots:
            if path.is_relative_to(root.path):
                return root
        return None

    def folder_kind(self, path: Path) -> str:
        """``model``, ``part``, ``subpart`` (``parts/s/``) or ``primitive`` by the library folder a
        file lies in; ``file`` otherwise."""
        root = self.root_of(path)
        if root is None:
            return "file"
        top = [part.lower() for part in path.relative_to(root.path).parts[:-1]]
        if top and top[0] == "unofficial":
            top = top[1:]
        if not top:
            return "file"
        if top[0] == "parts" and len(top) > 1 and top[1] == "s":
            return "subpart"
        return {"models": "model", "parts": "part", "p": "primitive"}.get(top[0], "file")

    # -- resolution ---------------------------------------------------------------------------
    def resolve(self, name: str, *, relative_to: Path | None = None, where: str = "",
                line: int | None = None) -> Path | None:
        """Find ``name`` (first beside ``relative_to``, a model's folder, then in the roots)."""
        folder_key = str(relative_to) if relative_to is not None else ""
        known = self._resolved_names.get((folder_key, name), _UNKNOWN)
        if known is not _UNKNOWN:
            return known  # type: ignore[return-value]
        relative = safe_relative(name, where, line)
        cache_key = (folder_key, relative)
        if cache_key in self._resolved:
            self._resolved_names[(folder_key, name)] = self._resolved[cache_key]
            return self._resolved[cache_key]
        found = None
        if relative_to is not None:
            found = self._index.find(relative_to, relative)
        if found is None:
            for root in self.roots:
                for folder in self.search_folders(root):
                    found = self._index.find(folder, relative)
                    if found is not None:
                        break
                if found is not None:
                    break
        self._resolved[cache_key] = self._resolved_names[(folder_key, name)] = found
        return found

    def document(self, path: Path) -> LDrawDocument:
        """Parse ``path`` (cached until its size or modification time changes)."""
        try:
            stat = path.stat()
        except OSError as exc:
            raise LDrawError(f"cannot read file ({exc.strerror or exc})", path) from None
        signature = (stat.st_size, stat.st_mtime_ns)
        cached = self._documents.get(path)
        if cached is not None and cached[0] == signature:
            return cached[1]
        document = parse_ldraw(read_ldraw_text(path), str(path), strict=self.strict)
        self._documents[path] = (signature, document)
        return document

    def signature(self, path: str | os.PathLike[str]) -> tuple[int, int] | None:
        """``(size, mtime_ns)`` of a file as it was when parsed (its current one if not parsed)."""
        cached = self._documents.get(Path(path))
        return cached[0] if cached is not None else file_signature(path)

    @property
    def colours_file(self) -> Path | None:
        """The ``LDConfig.ldr`` the colour table comes from: the first root's that has one."""
        if self._colours_file is None:
            found = None
            for root in self.roots:
                found = self._index.find(root.path, "ldconfig.ldr")
                if found is not None:
                    break
            self._colours_file = (found,)
        return self._colours_file[0]

    @property
    def colours(self) -> ColourTable:
        """The colour table: ``LDConfig.ldr`` of the first root that has one."""
        if self._colours is None:
            config = self.colours_file
            self._colours = ColourTable.from_file(config) if config is not None else ColourTable()
        return self._colours
