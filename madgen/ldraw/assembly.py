"""Flatten an LDraw model into an :class:`Assembly`: part instances plus one mesh per distinct part.

Submodels (MPD files, ``models/`` files, and model files beside the main file) are expanded
recursively; every part reached becomes a :class:`PartInstance` with its part id, colour code,
4x4 transform (LDraw frame, LDU) and the ``file:line`` that placed it. All missing files are
collected and reported together in one :class:`~madgen.ldraw.errors.MissingPartsError`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .colours import EDGE_COLOUR, MAIN_COLOUR, ColourTable
from .errors import LDrawError, LDrawWarning, MissingPartsError
from .geometry import GeometryBuilder, PartMesh, enter_file
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
            "meshes": {part_id: mesh.to_dict() for part_id, mesh in sorted(self.meshes.items())},
            "colours": [self.colours.resolve(code).to_dict() for code in self.colour_codes()],
            "roots": [{"path": str(root.path), "origin": root.origin} for root in self.roots],
            "triangles": self.triangle_count,
            "bbox_ldu": [low.round(4).tolist(), high.round(4).tolist()],
            "warnings": [str(warning) for warning in self.warnings],
        }


class _Flattener:
    """Walks a model's references, producing instances and building part meshes on demand."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.builder = GeometryBuilder(library)
        self.instances: list[PartInstance] = []
        self.meshes: dict[str, PartMesh] = {}
        self.part_files: dict[str, str] = {}
        self._part_ids: dict[tuple[str, str], str] = {}
        self._unknown_colours: set[int] = set()
        self.models: set[str] = set()
        self._targets: dict[tuple[str, str, str], tuple[LDrawDocument, LDrawFile] | None] = {}
        self.warnings: list[LDrawWarning] = []

    def locate(self, reference: SubfileReference, document: LDrawDocument,
               model: LDrawFile) -> tuple[LDrawDocument, LDrawFile] | None:
        """Locate a reference once per (document, file, name) during one flattening."""
        key = (document.path, model.name, reference.name)
        if key not in self._targets:
            self._targets[key] = self.builder.locate(reference, document, model.source)
        return self._targets[key]

    def walk(self, document: LDrawDocument, model: LDrawFile, matrix: np.ndarray, colour: int,
             chain: tuple[str, ...], submodel: str) -> None:
        chain = enter_file(chain, document, model)
        self.models.add(document.path)
        self.warnings.extend(model.warnings)
        for reference in model.references:
            target = self.locate(reference, document, model)
            if target is None:
                continue
            child_document, child = target
            child_colour = colour if reference.colour == MAIN_COLOUR else reference.colour
            if reference.colour == EDGE_COLOUR:
                child_colour = self.library.colours.edge_code(colour)
            self.check_colour(child_colour, model.source, reference.line)
            child_matrix = matrix @ reference.matrix
            if self.is_part(child_document, child):
                part_id = self.part_id(reference.name, child_document, child)
                self.instances.append(PartInstance(
                    len(self.instances), part_id, child_colour, child_matrix, model.source,
                    reference.line, reference.group, submodel))
            else:
                name = child.name if child_document.is_mpd else Path(child_document.path).name
                path = f"{submodel}/{name}" if submodel else name
                self.walk(child_document, child, child_matrix, child_colour, chain, path)

    def is_part(self, document: LDrawDocument, ldraw_file: LDrawFile) -> bool:
        if ldraw_file.is_part:
            return True
        if document.is_mpd:
            return False
        kind = self.library.folder_kind(Path(document.path))
        if kind in ("part", "primitive"):
            return True
        if kind == "model":
            return False
        return Path(document.path).suffix.lower() == ".dat" and ldraw_file.org_type.lower() != "model"

    def part_id(self, reference_name: str, document: LDrawDocument, ldraw_file: LDrawFile) -> str:
        key = (document.path, normalise_name(ldraw_file.name))
        part_id = self._part_ids.get(key)
        if part_id is not None:
            return part_id
        base = normalise_name(reference_name)
        if base.endswith(".dat"):
            base = base[:-4]
        part_id, suffix = base, 2
        while part_id in self.meshes:
            part_id, suffix = f"{base}#{suffix}", suffix + 1
        self._part_ids[key] = part_id
        self.meshes[part_id] = self.builder.part_mesh(part_id, document, ldraw_file)
        self.part_files[part_id] = document.path
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
    ``LDRAWDIR``, then the embedded library). A malformed line, a reference cycle or an escaping
    reference raises :class:`LDrawError`; all missing files raise one :class:`MissingPartsError`.
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
        signatures, assembly = cached  # type: ignore[misc]
        if signatures == _signatures(signatures):
            return replace(assembly, instances=list(assembly.instances), meshes=dict(assembly.meshes),
                           warnings=list(assembly.warnings))
    document = library.document(path)
    flattener = _Flattener(library)
    flattener.models.add(document.path)
    if document.main.is_part and not document.is_mpd:
        part_id = flattener.part_id(path.name, document, document.main)
        flattener.instances.append(PartInstance(0, part_id, MAIN_COLOUR, np.eye(4), str(path), 0))
    else:
        flattener.walk(document, document.main, np.eye(4), MAIN_COLOUR, (), "")
    missing = {**flattener.builder.missing}
    if missing:
        raise MissingPartsError(missing, library.roots)
    flattener.check_mesh_colours()
    title = document.main.title or path.stem
    assembly = Assembly(
        name=title,
        source=str(path),
        instances=flattener.instances,
        meshes=flattener.meshes,
        colours=library.colours,
        roots=list(library.roots),
        part_files=flattener.part_files,
        warnings=_dedupe([*flattener.warnings, *(w for m in flattener.meshes.values() for w in m.warnings)]),
    )
    library.geometry_cache[cache_key] = (_signatures(dict.fromkeys(flattener.models)), assembly)
    return assembly


def _signatures(paths: dict[str, object]) -> dict[str, tuple[int, int] | None]:
    """(mtime, size) of each model file, so a cached flattening is reused only while unchanged."""
    result: dict[str, tuple[int, int] | None] = {}
    for name in paths:
        try:
            stat = os.stat(name)
            result[name] = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            result[name] = None
    return result
