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
        triangles = self.triangles @ rotation.T + offset
        reverse = (np.linalg.det(rotation) < 0) != reference.invert
        if reverse:
            triangles = triangles[:, [0, 2, 1], :]
        return FlatGeometry(
            triangles,
            recolour(self.triangle_colours, reference.colour, colours),
            self.triangle_certified & reference.cull,
            self.edges @ rotation.T + offset,
            recolour(self.edge_colours, reference.colour, colours),
            self.optional_lines @ rotation.T + offset,
            recolour(self.optional_colours, reference.colour, colours),
        )

    @staticmethod
    def concatenate(parts: list["FlatGeometry"]) -> "FlatGeometry":
        """Join several geometries into one."""
        if len(parts) == 1:
            return parts[0]
        return FlatGeometry(*(np.concatenate([getattr(p, name) for p in parts]) for name in _FIELDS))


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


class GeometryBuilder:
    """Flattens part files against a library, collecting missing names and warnings."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.missing: dict[str, tuple[str, int]] = {}
        self.warnings: list[LDrawWarning] = []
        self._located: dict[tuple[str, str], tuple[LDrawDocument, LDrawFile] | None] = {}

    def file_geometry(self, document: LDrawDocument, ldraw_file: LDrawFile,
                      stack: tuple[str, ...] = ()) -> FlatGeometry:
        """The flattened geometry of ``ldraw_file`` (a file of ``document``), cached."""
        key = ("geometry", document.path, normalise_name(ldraw_file.name))
        cached = self.library.geometry_cache.get(key)
        if cached is not None:
            return cached  # type: ignore[return-value]
        stack = enter_file(stack, document, ldraw_file)
        self.warnings.extend(ldraw_file.warnings)
        pieces = [FlatGeometry.of_file(ldraw_file)]
        complete = True
        for reference in ldraw_file.references:
            target = self.locate(reference, document, ldraw_file.source)
            if target is None:
                complete = False
                continue
            child = self.file_geometry(*target, stack=stack)
            pieces.append(child.placed(reference, self.library.colours))
        geometry = FlatGeometry.concatenate(pieces)
        if complete:
            self.library.geometry_cache[key] = geometry
        return geometry

    def locate(self, reference: SubfileReference, document: LDrawDocument,
               source: str) -> tuple[LDrawDocument, LDrawFile] | None:
        """Find the file a reference names: an MPD sibling, then the library; None if missing.

        Found once per (document, name) while this builder lives (one load).
        """
        key = (document.path, reference.name)
        if key in self._located:
            found = self._located[key]
            if found is None:
                self.missing.setdefault(reference.name.replace("\\", "/").lower(), (source, reference.line))
            return found
        found = self._locate(reference, document, source)
        self._located[key] = found
        return found

    def _locate(self, reference: SubfileReference, document: LDrawDocument,
                source: str) -> tuple[LDrawDocument, LDrawFile] | None:
        sibling = document.embedded().get(normalise_name(reference.name))
        if sibling is not None:
            return document, sibling
        folder = Path(document.path).parent
        path = self.library.resolve(reference.name, relative_to=folder, where=source, line=reference.line)
        if path is None:
            self.missing.setdefault(reference.name.replace("\\", "/").lower(), (source, reference.line))
            return None
        document = self.library.document(path)
        return document, document.main

    def part_mesh(self, part_id: str, document: LDrawDocument, ldraw_file: LDrawFile) -> PartMesh:
        """Build (or fetch) the welded mesh of one part."""
        key = ("mesh", document.path, normalise_name(ldraw_file.name))
        cached = self.library.geometry_cache.get(key)
        if cached is not None:
            mesh: PartMesh = cached  # type: ignore[assignment]
            return mesh if mesh.part_id == part_id else _renamed(mesh, part_id)
        first_warning = len(self.warnings)
        geometry = self.file_geometry(document, ldraw_file)
        mesh = mesh_from_geometry(part_id, ldraw_file.title, ldraw_file.source, geometry)
        mesh.warnings = self.warnings[first_warning:]
        if not self.missing:
            self.library.geometry_cache[key] = mesh
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
