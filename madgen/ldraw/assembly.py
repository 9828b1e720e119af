"""Flatten an LDraw model into an :class:`Assembly`: part instances plus one mesh per distinct part.

Submodels (MPD files, ``models/`` files, and model files beside the main file) are expanded
recursively; every part reached becomes a :class:`PartInstance` with its part id, colour code,
4x4 transform (LDraw frame, LDU) and the ``file:line`` that placed it. All missing files are
collected and reported together in one :class:`~madgen.ldraw.errors.MissingPartsError`.

No geometry is dropped: the type 2-5 lines a model or submodel draws itself, with the subparts
and primitives it places directly, become one mesh per file (id: the file's name, kind
``geometry``), instanced wherever the file is placed. An MPD's own file with the name of a
library part replaces that part for the MPD's files (kind ``override``). An empty model is an
error; an empty submodel, or lines without faces, a warning.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .colours import EDGE_COLOUR, MAIN_COLOUR, ColourTable
from .errors import LDrawError, LDrawWarning, MissingPartsError
from .cache import Dependencies, file_signature
from .geometry import GeometryBuilder, Located, PartMesh, _renamed, enter_file, file_key
from .library import Library, LibraryRoot
from .parser import LDrawDocument, LDrawFile, SubfileReference, normalise_name


@dataclass
class PartInstance:
    """One placed part: which part, in which colour, where, and which line placed it."""

    index: int
    part_id: str
    colour: int
    transform: np.ndarray
    source: str
    line: int
    group: str | None = None
    submodel: str = ""

    def to_dict(self) -> dict[str, object]:
        """A JSON-serialisable record."""
        return {
            "index": self.index,
            "part_id": self.part_id,
            "colour": self.colour,
            "transform": self.transform.tolist(),
            "source": f"{self.source}:{self.line}",
            "group": self.group,
            "submodel": self.submodel,
        }


@dataclass
class Assembly:
    """A flattened model: part instances, a mesh table, the colours and the roots used."""

    name: str
    source: str
    instances: list[PartInstance]
    meshes: dict[str, PartMesh]
    colours: ColourTable
    roots: list[LibraryRoot]
    part_files: dict[str, str] = field(default_factory=dict)
    warnings: list[LDrawWarning] = field(default_factory=list)
    #: What each mesh is: ``part`` (a library part or a part file), ``embedded`` (a part file
    #: embedded in an MPD), ``override`` (an MPD's own file with a library part's name, used in
    #: its place), or ``geometry`` (the lines a model or submodel draws itself).
    mesh_kinds: dict[str, str] = field(default_factory=dict)
    #: The library file each ``override`` mesh replaces; also, by file name (``stud.dat``), each
    #: library subpart or primitive an MPD's own file replaces where a model draws it directly.
    overrides: dict[str, str] = field(default_factory=dict)

    @property
    def triangle_count(self) -> int:
        """Triangles over all instances."""
        return sum(self.meshes[instance.part_id].triangle_count for instance in self.instances)

    def colour_codes(self) -> list[int]:
        """The distinct colour codes the model shows (instance colours and fixed face colours)."""
        codes: set[int] = set()
        for instance in self.instances:
            mesh_codes = np.unique(self.meshes[instance.part_id].triangle_colours)
            for code in mesh_codes.tolist():
                if code == MAIN_COLOUR:
                    codes.add(instance.colour)
                elif code == EDGE_COLOUR:
                    codes.add(self.colours.edge_code(instance.colour))
                else:
                    codes.add(code)
        return sorted(codes)

    def world_vertices(self, part_id: str) -> np.ndarray:
        """(instances, vertices, 3) positions of every instance of one part, in model LDU."""
        transforms = np.stack([i.transform for i in self.instances if i.part_id == part_id])
        vertices = self.meshes[part_id].vertices.astype(np.float64)
        return np.einsum("kij,vj->kvi", transforms[:, :3, :3], vertices) + transforms[:, None, :3, 3]

    def bounding_box(self) -> np.ndarray:
        """The (2, 3) min/max corners of all placed vertices, in LDU."""
        lows, highs = [], []
        for part_id in sorted({instance.part_id for instance in self.instances}):
            if not len(self.meshes[part_id].vertices):
                continue
            points = self.world_vertices(part_id).reshape(-1, 3)
            lows.append(points.min(axis=0))
            highs.append(points.max(axis=0))
        if not lows:
            return np.zeros((2, 3))
        return np.stack([np.min(lows, axis=0), np.max(highs, axis=0)])

    def roots_used(self) -> list[LibraryRoot]:
        """The library roots that supplied at least one file of the model's parts."""
        used = []
        for root in self.roots:
            if any(Path(path).is_relative_to(root.path) for path in self.part_files.values()):
                used.append(root)
        return used

    def to_dict(self) -> dict[str, object]:
        """A JSON-serialisable description (instances and mesh summaries, no vertex arrays)."""
        low, high = self.bounding_box()
        return {
            "name": self.name,
            "source": self.source,
            "instances": [instance.to_dict() for instance in self.instances],
            "meshes": {part_id: {**mesh.to_dict(), "kind": self.mesh_kinds.get(part_id, "part"),
                                 **({"overrides": self.overrides[part_id]} if part_id in self.overrides else {})}
                       for part_id, mesh in sorted(self.meshes.items())},
            "colours": [self.colours.resolve(code).to_dict() for code in self.colour_codes()],
            "roots": [{"path": str(root.path), "origin": root.origin} for root in self.roots],
            "triangles": self.triangle_count,
            "bbox_ldu": [low.round(4).tolist(), high.round(4).tolist()],
            "warnings": [str(warning) for warning in self.warnings],
            "overrides": dict(sorted(self.overrides.items())),
        }


#: ``!LDRAW_ORG`` types of files that are pieces of parts, drawn as geometry where they are placed.
_FRAGMENT_TYPES = frozenset({"subpart", "primitive", "8_primitive", "48_primitive"})
_PART_ORG_TYPES = frozenset({"part", "shortcut"})


@dataclass
class _Target:
    """What a reference places, and how it counts.

    ``role``: ``part`` (one instance of one mesh), ``fragment`` (a subpart or primitive: its
    geometry joins the mesh of the file that places it) or ``model`` (walked for its own
    geometry and references). ``mesh`` is set when the part's mesh came from a cache without
    parsing the file; ``override`` names the library file an MPD's embedded part replaces.
    """

    role: str
    path: str
    key: tuple[str, str]
    document: LDrawDocument | None = None
    file: LDrawFile | None = None
    mesh: PartMesh | None = None
    override: str | None = None
    located: Located | None = None


class _Flattener:
    """Walks a model's references, producing instances and building meshes on demand."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.builder = GeometryBuilder(library)
        self.instances: list[PartInstance] = []
        self.meshes: dict[str, PartMesh] = {}
        self.part_files: dict[str, str] = {}
        self.mesh_kinds: dict[str, str] = {}
        self.overrides: dict[str, str] = {}
        self._part_ids: dict[tuple[str, str], str] = {}
        self._loose_ids: dict[tuple[str, str], str | None] = {}
        self._empty: set[tuple[str, str]] = set()
        self._unknown_colours: set[int] = set()
        self.models: set[str] = set()
        self._targets: dict[tuple[str, str], _Target | None] = {}
        self.warnings: list[LDrawWarning] = []

    # -- finding what a reference places ---------------------------------------------------------
    def locate(self, reference: SubfileReference, document: LDrawDocument, model: LDrawFile) -> _Target | None:
        """What a reference places, found once per (document, name) during one flattening."""
        key = (document.path, reference.name)
        if key not in self._targets:
            self._targets[key] = self._locate(reference, document, model)
        target = self._targets[key]
        if target is None:  # collected for the one MissingPartsError, with its first use
            self.builder.locate(reference, document, model.source)
        return target

    def _locate(self, reference: SubfileReference, document: LDrawDocument, model: LDrawFile) -> _Target | None:
        builder = self.builder
        sibling = document.embedded().get(normalise_name(reference.name))
        if sibling is not None:
            return self._embedded(reference, document, model, sibling)
        path = builder.resolve(reference, document, model.source)
        if path is None:
            return None
        if self.library.folder_kind(path) == "part":
            # a library part: its finished mesh may be cached (memory or disk), no parsing needed
            key = (str(path), "")
            part_id = self._part_ids.get(key) or self._new_part_id(reference.name)
            mesh = builder.cached_part(path, part_id)
            if mesh is not None:
                return _Target("part", str(path), key, mesh=mesh)
        located = builder.locate(reference, document, model.source)
        if located is None:
            return None
        role = self.role(located.document, located.file)
        return _Target(role, located.document.path, file_key(located.document, located.file),
                       located.document, located.file, located=located)

    def _embedded(self, reference: SubfileReference, document: LDrawDocument, model: LDrawFile,
                  sibling: LDrawFile) -> _Target:
        """An MPD's own file: a submodel, an embedded part, or an override of a library part."""
        override = None
        try:
            shadowed = self.builder.resolve(reference, document, model.source)
        except LDrawError:
            shadowed = None
        role = self.header_role(sibling)
        if shadowed is not None:
            kind = self.library.folder_kind(shadowed)
            if kind in ("part", "subpart", "primitive"):
                override = str(shadowed)
                role = role or ("part" if kind == "part" else "fragment")
        return _Target(role or "model", document.path, file_key(document, sibling), document, sibling,
                       override=override, located=Located(document, sibling, None))

    @staticmethod
    def header_role(ldraw_file: LDrawFile) -> str | None:
        """``part`` or ``fragment`` when the ``!LDRAW_ORG`` header says so; None otherwise."""
        org = ldraw_file.org_type.lower()
        org = org[len("unofficial_"):] if org.startswith("unofficial_") else org
        if org in _FRAGMENT_TYPES:
            return "fragment"
        if org in _PART_ORG_TYPES:
            return "part"
        return None

    def role(self, document: LDrawDocument, ldraw_file: LDrawFile) -> str:
        """How a file reached through the library (or beside the model) counts: header, then folder."""
        role = self.header_role(ldraw_file)
        if role is not None:
            return role
        if document.is_mpd:
            return "model"
        kind = self.library.folder_kind(Path(document.path))
        if kind in ("subpart", "primitive"):
            return "fragment"
        if kind == "part":
            return "part"
        if kind == "model":
            return "model"
        is_dat = Path(document.path).suffix.lower() == ".dat"
        return "part" if is_dat and ldraw_file.org_type.lower() != "model" else "model"

    # -- walking -----------------------------------------------------------------------------------
    def walk(self, document: LDrawDocument, model: LDrawFile, matrix: np.ndarray, colour: int,
             chain: tuple[str, ...], submodel: str, placed_at: tuple[str, int, str | None]) -> None:
        chain = enter_file(chain, document, model)
        self.models.add(document.path)
        self.warnings.extend(model.warnings)
        fragments: list[SubfileReference] = []
        placements: list[tuple[SubfileReference, _Target]] = []
        for reference in model.references:
            target = self.locate(reference, document, model)
            if target is None:
                continue
            if target.role == "fragment":
                fragments.append(reference)
                if target.override is not None:  # an MPD's own subpart or primitive, drawn in place
                    self.overrides.setdefault(normalise_name(reference.name), target.override)
            else:
                placements.append((reference, target))
        if not model.references and not _draws(model) and file_key(document, model) not in self._empty:
            self._empty.add(file_key(document, model))
            name = model.name if document.is_mpd else Path(document.path).name
            self.warnings.append(LDrawWarning(f"submodel {name} is empty: no geometry and no references",
                                              placed_at[0], placed_at[1]))
        self.loose(document, model, matrix, colour, submodel, placed_at, fragments)
        for reference, target in placements:
            child_colour = colour if reference.colour == MAIN_COLOUR else reference.colour
            if reference.colour == EDGE_COLOUR:
                child_colour = self.library.colours.edge_code(colour)
            self.check_colour(child_colour, model.source, reference.line)
            child_matrix = matrix @ reference.matrix
            if target.role == "part":
                part_id = self.part_id(reference.name, target)
                self.instances.append(PartInstance(
                    len(self.instances), part_id, child_colour, child_matrix, model.source,
                    reference.line, reference.group, submodel))
            else:
                assert target.document is not None and target.file is not None
                name = target.file.name if target.document.is_mpd else Path(target.document.path).name
                path = f"{submodel}/{name}" if submodel else name
                self.walk(target.document, target.file, child_matrix, child_colour, chain, path,
                          (model.source, reference.line, reference.group))

    def loose(self, document: LDrawDocument, model: LDrawFile, matrix: np.ndarray, colour: int,
              submodel: str, placed_at: tuple[str, int, str | None], fragments: list[SubfileReference]) -> None:
        """One instance of the geometry ``model`` draws itself (type 2-5 lines, subparts, primitives)."""
        if not fragments and not _draws(model):
            return
        key = file_key(document, model)
        if key not in self._loose_ids:
            name = normalise_name(model.name if document.is_mpd else Path(document.path).name)
            mesh_id = self._unique_id(name)
            mesh = self.builder.loose_mesh(mesh_id, document, model, fragments)
            if not mesh.triangle_count:
                self.warnings.append(LDrawWarning(
                    f"{name} draws {len(mesh.edge_lines)} edge line(s) and "
                    f"{len(mesh.optional_lines)} optional line(s) but no faces: nothing to render",
                    model.source, model.geometry_line or (fragments[0].line if fragments else 0)))
                self._loose_ids[key] = None
                return
            self._loose_ids[key] = mesh_id
            self.meshes[mesh_id] = mesh
            self.part_files[mesh_id] = document.path
            self.mesh_kinds[mesh_id] = "geometry"
        mesh_id = self._loose_ids[key]
        if mesh_id is None:
            return
        source, line, group = placed_at
        self.instances.append(PartInstance(len(self.instances), mesh_id, colour, matrix, source, line, group,
                                           submodel))

    # -- meshes -------------------------------------------------------------------------------------
    def _new_part_id(self, reference_name: str) -> str:
        base = normalise_name(reference_name)
        if base.endswith(".dat"):
            base = base[:-4]
        return self._unique_id(base)

    def _unique_id(self, base: str) -> str:
        mesh_id, suffix = base, 2
        while mesh_id in self.meshes:
            mesh_id, suffix = f"{base}#{suffix}", suffix + 1
        return mesh_id

    def part_id(self, reference_name: str, target: _Target) -> str:
        part_id = self._part_ids.get(target.key)
        if part_id is not None:
            return part_id
        part_id = self._new_part_id(reference_name)
        self._part_ids[target.key] = part_id
        if target.mesh is not None:
            mesh = target.mesh if target.mesh.part_id == part_id else _renamed(target.mesh, part_id)
        else:
            assert target.document is not None and target.file is not None
            keep = (not target.document.is_mpd and self.library.folder_kind(Path(target.path)) == "part"
                    and self.role(target.document, target.file) == "part")
            mesh = self.builder.part_mesh(part_id, target.document, target.file, keep_on_disk=keep)
        self.meshes[part_id] = mesh
        self.part_files[part_id] = target.path
        if target.override is not None:
            self.mesh_kinds[part_id] = "override"
            self.overrides[part_id] = target.override
        elif target.document is not None and target.document.is_mpd:
            self.mesh_kinds[part_id] = "embedded"
        else:
            self.mesh_kinds[part_id] = "part"
        if not mesh.triangle_count:
            self.warnings.append(LDrawWarning(f"part {part_id} has no faces: nothing to render", target.path))
        return part_id

    def check_colour(self, code: int, source: str, line: int) -> None:
        if code in (MAIN_COLOUR, EDGE_COLOUR) or code in self.library.colours:
            return
        if code not in self._unknown_colours:
            self._unknown_colours.add(code)
            self.warnings.append(LDrawWarning(
                f"unknown colour {code}; rendered in the fallback colour magenta", source, line))

    def check_mesh_colours(self) -> None:
        for part_id, mesh in self.meshes.items():
            for code in np.unique(mesh.triangle_colours).tolist():
                self.check_colour(int(code), self.part_files[part_id], 0)

    def dependencies(self) -> Dependencies:
        """Every file the flattened model was made from (models, parts, subparts, primitives)."""
        files = {path: signature for path in sorted(self.models)
                 if (signature := self.library.signature(path)) is not None}
        return Dependencies.merge([Dependencies(files, frozenset()), *self.builder.dependencies.values()])


def _draws(ldraw_file: LDrawFile) -> bool:
    """True when the file has type 2-5 lines of its own."""
    return bool(len(ldraw_file.triangles) or len(ldraw_file.edges) or len(ldraw_file.optional_lines))


def _dedupe(warnings: list[LDrawWarning]) -> list[LDrawWarning]:
    seen: set[LDrawWarning] = set()
    unique = []
    for warning in warnings:
        if warning not in seen:
            seen.add(warning)
            unique.append(warning)
    return unique


def load_assembly(
    model: str | os.PathLike[str],
    *,
    library: Library | None = None,
    ldraw_dir: str | os.PathLike[str] | list[str | os.PathLike[str]] | None = None,
    resolution: str = "standard",
    strict: bool = True,
) -> Assembly:
    """Read an LDraw model file and flatten it into an :class:`Assembly`.

    ``library`` reuses caches across calls; otherwise one is made from ``ldraw_dir`` (then
    ``LDRAWDIR``, then the embedded library). A malformed line, a reference cycle, an escaping
    reference or a model with nothing in it raises :class:`LDrawError`; all missing files raise
    one :class:`MissingPartsError`.
    """
    if library is None:
        library = Library(ldraw_dir, resolution=resolution, strict=strict)
    path = Path(model)
    if not path.is_file():
        raise LDrawError(f"model file not found: {path}")
    path = path.resolve()
    cache_key = ("assembly", str(path))
    cached = library.geometry_cache.get(cache_key)
    if cached is not None:
        files, assembly = cached  # type: ignore[misc]
        if all(file_signature(name) == signature for name, signature in files.items()):
            return replace(assembly, instances=list(assembly.instances), meshes=dict(assembly.meshes),
                           warnings=list(assembly.warnings))
    document = library.document(path)
    flattener = _Flattener(library)
    flattener.models.add(document.path)
    main = document.main
    if main.is_part and not document.is_mpd:
        target = _Target("part", document.path, file_key(document, main), document, main)
        part_id = flattener.part_id(path.name, target)
        flattener.instances.append(PartInstance(0, part_id, MAIN_COLOUR, np.eye(4), str(path), 0))
    else:
        if not main.references and not _draws(main):
            raise LDrawError("empty model: no geometry lines and no references", path)
        first_line = min([line for line in (main.geometry_line, *(r.line for r in main.references[:1])) if line],
                         default=0)
        flattener.walk(document, main, np.eye(4), MAIN_COLOUR, (), "", (str(path), first_line, None))
    missing = {**flattener.builder.missing}
    if missing:
        raise MissingPartsError(missing, library.roots)
    flattener.check_mesh_colours()
    title = main.title or path.stem
    assembly = Assembly(
        name=title,
        source=str(path),
        instances=flattener.instances,
        meshes=flattener.meshes,
        colours=library.colours,
        roots=list(library.roots),
        part_files=flattener.part_files,
        warnings=_dedupe([*flattener.warnings, *(w for m in flattener.meshes.values() for w in m.warnings)]),
        mesh_kinds=flattener.mesh_kinds,
        overrides=flattener.overrides,
    )
    library.geometry_cache[cache_key] = (dict(flattener.dependencies().files), assembly)
    return assembly
