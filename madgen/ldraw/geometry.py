"""Part geometry: flatten a part's sub-files into one triangulated :class:`PartMesh`.

Every file's geometry is flattened once, in its own coordinates, and cached on the
:class:`~madgen.ldraw.library.Library`; a reference then costs one matrix product.

BFC: a cached file is stored in its canonical orientation. Placing it under a matrix with a
negative determinant, or after ``0 BFC INVERTNEXT``, reverses the winding (both together cancel).
A triangle keeps its ``certified`` flag only when every file on its path is certified and
clipping was on where it was referenced; certified triangles are counter-clockwise, so their
right-handed normal ``(v1 - v0) x (v2 - v0)`` points outward.

Colours: code 16 takes the caller's colour and code 24 the caller's edge colour (stored as a
direct colour ``0x2RRGGBB``); a mesh keeps 16/24 where the part itself leaves them open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .cache import MESH_ARRAYS, Dependencies, file_signature
from .colours import EDGE_COLOUR, MAIN_COLOUR, ColourTable
from .errors import LDrawError, LDrawWarning
from .library import Library
from .parser import LDrawDocument, LDrawFile, SubfileReference, normalise_name

#: Vertices closer than this (in LDU) are welded into one.
WELD_TOLERANCE_LDU = 1e-3


@dataclass
class FlatGeometry:
    """Triangles, edge lines and optional lines of a file with all its sub-files expanded."""

    triangles: np.ndarray
    triangle_colours: np.ndarray
    triangle_certified: np.ndarray
    edges: np.ndarray
    edge_colours: np.ndarray
    optional_lines: np.ndarray
    optional_colours: np.ndarray

    @classmethod
    def of_file(cls, ldraw_file: LDrawFile) -> "FlatGeometry":
        """The file's own geometry, without its references."""
        return cls(
            ldraw_file.triangles,
            ldraw_file.triangle_colours,
            ldraw_file.triangle_cull,
            ldraw_file.edges,
            ldraw_file.edge_colours,
            ldraw_file.optional_lines,
            ldraw_file.optional_colours,
        )

    def placed(self, reference: SubfileReference, colours: ColourTable) -> "FlatGeometry":
        """This geometry placed by a type-1 reference: transformed, recoloured, re-wound."""
        rotation = reference.matrix[:3, :3]
        offset = reference.matrix[:3, 3]
        turned = rotation.T
        triangles = self.triangles
        certified = self.triangle_certified
        if len(triangles):  # (empty arrays are passed on as they are: most primitives lack some kinds)
            triangles = triangles @ turned + offset
            if _mirrors(rotation) != reference.invert:
                triangles = triangles[:, [0, 2, 1], :]
            if not reference.cull:
                certified = np.zeros_like(certified)
        edges, optional = self.edges, self.optional_lines
        return FlatGeometry(
            triangles,
            recolour(self.triangle_colours, reference.colour, colours),
            certified,
            edges @ turned + offset if len(edges) else edges,
            recolour(self.edge_colours, reference.colour, colours),
            optional @ turned + offset if len(optional) else optional,
            recolour(self.optional_colours, reference.colour, colours),
        )

    @staticmethod
    def concatenate(parts: list["FlatGeometry"]) -> "FlatGeometry":
        """Join several geometries into one."""
        if len(parts) == 1:
            return parts[0]
        joined = []
        for name in _FIELDS:
            arrays = [getattr(p, name) for p in parts]
            filled = [array for array in arrays if len(array)]
            joined.append(filled[0] if len(filled) == 1 else np.concatenate(filled or arrays[:1]))
        return FlatGeometry(*joined)


def _mirrors(rotation: np.ndarray) -> bool:
    """True when a 3x3 matrix has a negative determinant.

    Written out for speed (numpy's ``det`` costs ~8 us a call); a nearly singular matrix, where
    rounding could decide the sign, goes to ``numpy.linalg.det`` as before.
    """
    (a, b, c), (d, e, f), (g, h, i) = rotation.tolist()
    determinant = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    size = max(abs(a), abs(b), abs(c), abs(d), abs(e), abs(f), abs(g), abs(h), abs(i))
    if abs(determinant) > 1e-9 * size ** 3:
        return determinant < 0
    return bool(np.linalg.det(rotation) < 0)


_FIELDS = ("triangles", "triangle_colours", "triangle_certified", "edges", "edge_colours",
           "optional_lines", "optional_colours")


def recolour(codes: np.ndarray, colour: int, colours: ColourTable) -> np.ndarray:
    """Resolve codes 16/24 of a sub-file against the colour its caller placed it with."""
    if colour == MAIN_COLOUR or not len(codes):
        return codes
    out = codes.copy()
    main = codes == MAIN_COLOUR
    edge = codes == EDGE_COLOUR
    if colour == EDGE_COLOUR:
        out[main] = EDGE_COLOUR
        return out
    out[main] = colour
    if edge.any():
        out[edge] = colours.edge_code(colour)
    return out


@dataclass
class PartMesh:
    """The triangulated mesh of one distinct part, shared by all its instances.

    Coordinates are in the part's own LDraw frame (LDU, -Y up). ``triangle_colours`` holds 16
    where the instance colour applies and 24 for its edge colour; other codes are fixed.
    ``sharp_edges`` are vertex-index pairs that lie on the part's edge lines (type 2), which a
    renderer keeps sharp when smoothing.
    """

    part_id: str
    title: str
    source: str
    vertices: np.ndarray
    triangles: np.ndarray
    triangle_colours: np.ndarray
    triangle_certified: np.ndarray
    edge_lines: np.ndarray
    edge_colours: np.ndarray
    optional_lines: np.ndarray
    sharp_edges: np.ndarray
    warnings: list[LDrawWarning] = field(default_factory=list)

    @property
    def triangle_count(self) -> int:
        """Number of triangles."""
        return int(len(self.triangles))

    @property
    def certified(self) -> bool:
        """True when every triangle's winding is known (BFC-certified all the way down)."""
        return bool(self.triangle_certified.all())

    def bounding_box(self) -> np.ndarray:
        """The (2, 3) min/max corners of the vertices, in LDU (zeros for an empty mesh)."""
        points = self.vertices
        if len(self.edge_lines):
            points = np.concatenate([points, self.edge_lines.reshape(-1, 3)])
        if not len(points):
            return np.zeros((2, 3))
        return np.stack([points.min(axis=0), points.max(axis=0)]).astype(np.float64)

    def face_normals(self) -> np.ndarray:
        """Unnormalised right-handed normals ``(v1 - v0) x (v2 - v0)`` per triangle."""
        corners = self.vertices[self.triangles].astype(np.float64)
        return np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])

    def to_dict(self) -> dict[str, object]:
        """A JSON-serialisable summary (no arrays)."""
        low, high = self.bounding_box()
        return {
            "part_id": self.part_id,
            "title": self.title,
            "source": self.source,
            "vertices": int(len(self.vertices)),
            "triangles": self.triangle_count,
            "edge_lines": int(len(self.edge_lines)),
            "certified": self.certified,
            "bbox_ldu": [low.round(4).tolist(), high.round(4).tolist()],
        }


def enter_file(chain: tuple[str, ...], document: LDrawDocument, ldraw_file: LDrawFile) -> tuple[str, ...]:
    """Extend the chain of files being expanded; a file already on it is a reference cycle."""
    label = f"{document.path}:{ldraw_file.name}" if document.is_mpd else document.path
    if label in chain:
        cycle = " -> ".join([*chain[chain.index(label):], label])
        raise LDrawError(f"reference cycle: {cycle}", ldraw_file.source)
    return (*chain, label)


def file_key(document: LDrawDocument, ldraw_file: LDrawFile) -> tuple[str, str]:
    """Identifies a file: its document's path, and for an MPD the embedded file's name."""
    return (document.path, normalise_name(ldraw_file.name) if document.is_mpd else "")


#: The folder of a dependency edge that records where the colour table came from.
COLOURS_EDGE = "<colours>"


@dataclass
class Subtree:
    """A file flattened with everything it references, and what that took."""

    geometry: FlatGeometry
    warnings: tuple[LDrawWarning, ...]
    dependencies: Dependencies
    complete: bool


@dataclass
class Located:
    """Where a reference leads: the document and file, and the library edge it took (if any)."""

    document: LDrawDocument
    file: LDrawFile
    edge: tuple[str, str, str] | None


class GeometryBuilder:
    """Flattens files against a library for one load, collecting missing names and warnings.

    Flattened files and finished meshes are kept in ``library.geometry_cache`` with the files
    they were made from, and reused while none of those changed (checked once per load); part
    meshes of library files are also kept on disk when the library has a mesh cache.
    """

    def __init__(self, library: Library) -> None:
        self.library = library
        self.missing: dict[str, tuple[str, int]] = {}
        self.warnings: list[LDrawWarning] = []
        self._located: dict[tuple[str, str], Located | None] = {}
        self._signatures: dict[str, tuple[int, int] | None] = {}
        self._checked: set[object] = set()
        self._edges: dict[tuple[str, str, str], bool] = {}
        self._folders: dict[str, Path] = {}
        self._documents: dict[Path, LDrawDocument] = {}
        #: Dependencies of every mesh built or reused in this load, by mesh cache key.
        self.dependencies: dict[object, Dependencies] = {}

    # -- validity -------------------------------------------------------------------------------
    def current_signature(self, path: str) -> tuple[int, int] | None:
        """A file's ``(size, mtime_ns)``, read once per load."""
        if path not in self._signatures:
            self._signatures[path] = file_signature(path)
        return self._signatures[path]

    def unchanged(self, key: object, dependencies: Dependencies) -> bool:
        """True when no file of ``dependencies`` changed (each key checked once per load)."""
        if key in self._checked:
            return True
        for path, signature in dependencies.files.items():
            if self.current_signature(path) != signature:
                return False
        self._checked.add(key)
        return True

    def resolves_the_same(self, dependencies: Dependencies) -> bool:
        """True when every name still resolves to the same file (and the colour table is the same)."""
        for edge in dependencies.edges:
            known = self._edges.get(edge)
            if known is None:
                known = self._edges[edge] = self._resolves_to(*edge)
            if not known:
                return False
        return True

    def _resolves_to(self, folder: str, name: str, path: str) -> bool:
        if folder == COLOURS_EDGE:
            found: Path | None = self.library.colours_file
        else:
            try:
                found = self.library.resolve(name, relative_to=Path(folder))
            except LDrawError:
                return False
        return (str(found) if found is not None else "") == path

    def colours_dependencies(self) -> Dependencies:
        """The colour table a mesh's resolved codes 24 depend on."""
        config = self.library.colours_file
        files = {}
        if config is not None:
            signature = self.library_signature(str(config))
            if signature is not None:
                files[str(config)] = signature
        return Dependencies(files, frozenset({(COLOURS_EDGE, "", str(config) if config is not None else "")}))

    def library_signature(self, path: str) -> tuple[int, int] | None:
        return self.library.signature(path)

    # -- flattening ----------------------------------------------------------------------------
    def file_geometry(self, document: LDrawDocument, ldraw_file: LDrawFile,
                      stack: tuple[str, ...] = ()) -> FlatGeometry:
        """The flattened geometry of ``ldraw_file`` (a file of ``document``), cached."""
        return self.flatten(document, ldraw_file, stack).geometry

    def flatten(self, document: LDrawDocument, ldraw_file: LDrawFile, stack: tuple[str, ...] = (),
                references: list[SubfileReference] | None = None) -> Subtree:
        """``ldraw_file`` with its references expanded (only ``references`` when given), cached."""
        key = ("geometry", *file_key(document, ldraw_file)) if references is None else None
        if key is not None:
            cached: Subtree | None = self.library.geometry_cache.get(key)  # type: ignore[assignment]
            if cached is not None and self.unchanged(key, cached.dependencies):
                return cached
        stack = enter_file(stack, document, ldraw_file)
        pieces = [FlatGeometry.of_file(ldraw_file)]
        warnings = list(ldraw_file.warnings)
        signature = self.library_signature(document.path)
        files: dict[str, tuple[int, int]] = {document.path: signature} if signature is not None else {}
        edges: set[tuple[str, str, str]] = set()
        merged: set[int] = set()
        complete = True
        for reference in ldraw_file.references if references is None else references:
            target = self.locate(reference, document, ldraw_file.source)
            if target is None:
                complete = False
                continue
            child = self.flatten(target.document, target.file, stack)
            pieces.append(child.geometry.placed(reference, self.library.colours))
            complete = complete and child.complete
            if target.edge is not None:
                edges.add(target.edge)
            if id(child) not in merged:
                merged.add(id(child))
                warnings.extend(child.warnings)
                files.update(child.dependencies.files)
                edges.update(child.dependencies.edges)
        subtree = Subtree(FlatGeometry.concatenate(pieces), tuple(dict.fromkeys(warnings)),
                          Dependencies(files, frozenset(edges)), complete)
        if key is not None and complete:
            self.library.geometry_cache[key] = subtree
            self._checked.add(key)
        return subtree

    def locate(self, reference: SubfileReference, document: LDrawDocument, source: str) -> Located | None:
        """Find the file a reference names: an MPD sibling, then the library; None if missing.

        Found once per (document, name) while this builder lives (one load).
        """
        key = (document.path, reference.name)
        if key in self._located:
            found = self._located[key]
        else:
            found = self._located[key] = self._locate(reference, document, source)
        if found is None:
            self.missing.setdefault(reference.name.replace("\\", "/").lower(), (source, reference.line))
        return found

    def _locate(self, reference: SubfileReference, document: LDrawDocument, source: str) -> Located | None:
        sibling = document.embedded().get(normalise_name(reference.name))
        if sibling is not None:
            return Located(document, sibling, None)
        path = self.resolve(reference, document, source)
        if path is None:
            return None
        found = self._documents.get(path)
        if found is None:  # parsed (or checked for changes) once per load
            found = self._documents[path] = self.library.document(path)
        return Located(found, found.main, self.edge(reference, document, path))

    def resolve(self, reference: SubfileReference, document: LDrawDocument, source: str) -> Path | None:
        """The library (or model-folder) file a reference names, without MPD siblings."""
        return self.library.resolve(reference.name, relative_to=self.folder(document), where=source,
                                    line=reference.line)

    def folder(self, document: LDrawDocument) -> Path:
        """The folder of a document (made once per document and load)."""
        folder = self._folders.get(document.path)
        if folder is None:
            folder = self._folders[document.path] = Path(document.path).parent
        return folder

    def edge(self, reference: SubfileReference, document: LDrawDocument, path: Path) -> tuple[str, str, str]:
        return (str(self.folder(document)), normalise_name(reference.name), str(path))

    # -- meshes ----------------------------------------------------------------------------------
    def cached_part(self, path: Path, part_id: str) -> PartMesh | None:
        """The mesh of the library part at ``path`` from memory or disk, without parsing; None if absent.

        Only meshes built as library parts (not as a model's single part) are found here.
        """
        key = ("mesh", str(path), "")
        mesh = self._memory_mesh(key, part_id, library_part=True)
        if mesh is None:
            mesh = self._disk_mesh(key, part_id)
        return mesh

    def _memory_mesh(self, key: tuple[str, str, str], part_id: str, library_part: bool = False) -> PartMesh | None:
        cached = self.library.geometry_cache.get(key)
        if cached is None:
            return None
        mesh, dependencies, is_library_part = cached  # type: ignore[misc]
        if (library_part and not is_library_part) or not self.unchanged(key, dependencies):
            return None
        self.dependencies[key] = dependencies
        return mesh if mesh.part_id == part_id else _renamed(mesh, part_id)

    def _disk_mesh(self, key: tuple[str, str, str], part_id: str) -> PartMesh | None:
        disk = self.library.mesh_cache
        if disk is None or self.library.root_of(Path(key[1])) is None:
            return None
        entry = disk.load(key[1], key[2])
        if entry is None:
            return None
        if not self.unchanged(key, entry.dependencies) or not self.resolves_the_same(entry.dependencies):
            disk.misses += 1
            return None
        disk.hits += 1
        arrays = entry.arrays
        mesh = PartMesh(part_id, entry.title, entry.source, arrays["vertices"], arrays["triangles"],
                        arrays["triangle_colours"], arrays["triangle_certified"], arrays["edge_lines"],
                        arrays["edge_colours"], arrays["optional_lines"], arrays["sharp_edges"],
                        [LDrawWarning(*row) for row in entry.warnings])
        self.library.geometry_cache[key] = (mesh, entry.dependencies, True)
        self.dependencies[key] = entry.dependencies
        return mesh

    def part_mesh(self, part_id: str, document: LDrawDocument, ldraw_file: LDrawFile, *,
                  keep_on_disk: bool = False) -> PartMesh:
        """Build (or fetch) the welded mesh of one part (written to the disk cache if ``keep_on_disk``)."""
        key = ("mesh", *file_key(document, ldraw_file))
        mesh = self._memory_mesh(key, part_id)
        if mesh is None and keep_on_disk:
            mesh = self._disk_mesh(key, part_id)
        if mesh is not None:
            return mesh
        subtree = self.flatten(document, ldraw_file)
        mesh = self._finish(key, part_id, ldraw_file.title, ldraw_file.source, subtree, keep_on_disk)
        disk = self.library.mesh_cache
        if (keep_on_disk and subtree.complete and disk is not None
                and self.library.root_of(Path(document.path)) is not None):
            dependencies = self.dependencies[key]
            if dependencies.settled():
                disk.store(key[1], key[2], {name: getattr(mesh, name) for name in MESH_ARRAYS}, mesh.title,
                           mesh.source, [(w.message, w.path, w.line) for w in mesh.warnings], dependencies)
        return mesh

    def loose_mesh(self, mesh_id: str, document: LDrawDocument, ldraw_file: LDrawFile,
                   references: list[SubfileReference]) -> PartMesh:
        """The mesh of the geometry a model or submodel draws itself: its type 2-5 lines and the
        subparts and primitives in ``references``."""
        key = ("loose", *file_key(document, ldraw_file))
        mesh = self._memory_mesh(key, mesh_id)  # type: ignore[arg-type]
        if mesh is not None:
            return mesh
        subtree = self.flatten(document, ldraw_file, references=references)
        own = set(ldraw_file.warnings)  # reported with the model itself
        subtree.warnings = tuple(warning for warning in subtree.warnings if warning not in own)
        name = ldraw_file.name if document.is_mpd else Path(document.path).name
        title = ldraw_file.title or name
        return self._finish(key, mesh_id, title, ldraw_file.source, subtree)

    def _finish(self, key: tuple[str, str, str], part_id: str, title: str, source: str,
                subtree: Subtree, library_part: bool = False) -> PartMesh:
        mesh = mesh_from_geometry(part_id, title, source, subtree.geometry)
        mesh.warnings = list(subtree.warnings)
        dependencies = Dependencies.merge([subtree.dependencies, self.colours_dependencies()])
        self.dependencies[key] = dependencies
        if subtree.complete:
            self.library.geometry_cache[key] = (mesh, dependencies, library_part)
            self._checked.add(key)
        return mesh


def _renamed(mesh: PartMesh, part_id: str) -> PartMesh:
    return PartMesh(part_id, mesh.title, mesh.source, mesh.vertices, mesh.triangles, mesh.triangle_colours,
                    mesh.triangle_certified, mesh.edge_lines, mesh.edge_colours, mesh.optional_lines,
                    mesh.sharp_edges, mesh.warnings)


def mesh_from_geometry(part_id: str, title: str, source: str, geometry: FlatGeometry) -> PartMesh:
    """Weld flattened triangles into an indexed float32/int32 mesh."""
    corners = geometry.triangles.reshape(-1, 3)
    quantised = np.round(corners / WELD_TOLERANCE_LDU).astype(np.int64)
    grid = _WeldGrid.of(quantised)
    if len(quantised):
        keys = grid.keys(quantised) if grid is not None else quantised
        unique, first, inverse = np.unique(keys, axis=0 if grid is None else None, return_index=True,
                                           return_inverse=True)
        vertices = corners[first].astype(np.float32)
        triangles = inverse.reshape(-1, 3).astype(np.int32)
    else:
        unique = np.zeros(0, np.int64)
        vertices = np.zeros((0, 3), np.float32)
        triangles = np.zeros((0, 3), np.int32)
    keep = (triangles[:, 0] != triangles[:, 1]) & (triangles[:, 1] != triangles[:, 2]) & (
        triangles[:, 0] != triangles[:, 2])
    triangles = triangles[keep]
    sharp = _edge_index_pairs(unique, grid, geometry.edges)
    return PartMesh(
        part_id=part_id,
        title=title,
        source=source,
        vertices=vertices,
        triangles=np.ascontiguousarray(triangles),
        triangle_colours=geometry.triangle_colours[keep].astype(np.int32),
        triangle_certified=geometry.triangle_certified[keep].copy(),
        edge_lines=geometry.edges.astype(np.float32),
        edge_colours=geometry.edge_colours.astype(np.int32),
        optional_lines=geometry.optional_lines.astype(np.float32),
        sharp_edges=sharp,
    )


@dataclass(frozen=True)
class _WeldGrid:
    """Packs quantised (x, y, z) points into one int64 each, in the same order as the rows.

    ``((x - x0) * ny + (y - y0)) * nz + (z - z0)`` sorts exactly as the rows do lexicographically,
    so welding on one int64 per point gives the same vertices, in the same order, as welding on
    rows, several times faster. Only used when the part's extent fits (it always does for real
    parts: 2**62 steps of 0.001 LDU).
    """

    low: np.ndarray
    high: np.ndarray
    ny: int
    nz: int

    @classmethod
    def of(cls, quantised: np.ndarray) -> "_WeldGrid | None":
        if not len(quantised):
            return None
        low, high = quantised.min(axis=0), quantised.max(axis=0)
        spans = [int(h) - int(lo) + 1 for lo, h in zip(low.tolist(), high.tolist())]
        if spans[0] * spans[1] * spans[2] >= 2 ** 62:
            return None
        return cls(low, high, spans[1], spans[2])

    def keys(self, quantised: np.ndarray) -> np.ndarray:
        offset = quantised - self.low
        return (offset[:, 0] * self.ny + offset[:, 1]) * self.nz + offset[:, 2]

    def inside(self, quantised: np.ndarray) -> np.ndarray:
        return ((quantised >= self.low) & (quantised <= self.high)).all(axis=1)


def _edge_index_pairs(unique_keys: np.ndarray, grid: _WeldGrid | None, edges: np.ndarray) -> np.ndarray:
    """Vertex-index pairs for edge lines whose both ends are mesh vertices."""
    if not len(edges) or not len(unique_keys):
        return np.zeros((0, 2), np.int32)
    ends = np.round(edges.reshape(-1, 3) / WELD_TOLERANCE_LDU).astype(np.int64)
    if grid is not None:
        # unique_keys is sorted, so a search finds each end point; ends outside the grid are absent
        keys = unique_keys
        inside = grid.inside(ends)
        probes = np.where(inside, grid.keys(np.where(inside[:, None], ends, grid.low)), -1)
    else:
        # unique_keys is sorted lexicographically, so a row search finds each end point.
        keys = unique_keys.view([("", np.int64)] * 3).reshape(-1)
        probes = np.ascontiguousarray(ends).view([("", np.int64)] * 3).reshape(-1)
    positions = np.searchsorted(keys, probes)
    positions = np.minimum(positions, len(keys) - 1)
    found = keys[positions] == probes
    pairs = positions.reshape(-1, 2)
    valid = found.reshape(-1, 2).all(axis=1) & (pairs[:, 0] != pairs[:, 1])
    pairs = np.sort(pairs[valid], axis=1)
    if not len(pairs):
        return np.zeros((0, 2), np.int32)
    count = len(keys)  # one int64 per pair, sorted as the rows are
    packed = np.unique(pairs[:, 0].astype(np.int64) * count + pairs[:, 1])
    return np.stack([packed // count, packed % count], axis=1).astype(np.int32)
