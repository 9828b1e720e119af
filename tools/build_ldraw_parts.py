#!/usr/bin/env python3
"""Generate madgen's own embedded LDraw parts library (``ldraw_parts/``).

madgen must run without the official LDraw library, so this script writes a small,
self-contained library in the standard LDraw layout::

    LDConfig.ldr      colour table (standard LDraw codes, names and values)
    parts/<n>.dat     the bricks, plates, tiles, slopes, round bricks and cones madgen's
                      scenes use, plus the official "~Moved to" aliases for old numbers
    p/*.dat           the primitives those parts need (16 segments per circle)
    p/48/*.dat        the same primitives with 48 segments (high resolution)
    p/8/*.dat         the same primitives with 8 segments (low resolution)

All geometry is generated procedurally here; no official file text is copied. Parts follow
the LDraw conventions: 1 LDU units, -Y up, origin at the centre of the top face of the body,
20 LDU stud pitch, 24 LDU brick and 8 LDU plate height, studs of radius 6 and height 4. Every
file is ``BFC CERTIFY CCW``: each face's normal (v1 - v0) x (v2 - v0) points out of the solid,
and every part is a closed surface (up to T-junctions). Sharp edges carry type 2 lines
(colour 24) and curved surfaces type 5 optional lines.

Parts are described by a table of specs (:data:`PARTS`) built with small helpers (brick,
slope, inverted slope, cheese slope, lathe); two generic builders turn them into LDraw:
:func:`build_prism_part` for straight, hollow parts (an extruded side profile with a cavity
underneath) and :func:`build_lathe_part` for round parts (a revolved profile made of standard
cylinder, cone, ring and disc primitives). The primitives are written for every name the
parts reference, in all three resolutions.

The output is deterministic: running the script twice gives byte-identical files.

Usage::

    python3 tools/build_ldraw_parts.py [--out ldraw_parts]
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

Vec3 = tuple[float, float, float]
Mat3 = tuple[float, float, float, float, float, float, float, float, float]
Point2 = tuple[float, float]

AUTHOR = "madgen parts generator (tools/build_ldraw_parts.py)"
LICENSE = "Licensed under the MIT License : see the madgen project licence"
IDENTITY: Mat3 = (1, 0, 0, 0, 1, 0, 0, 0, 1)
UP: Vec3 = (0.0, -1.0, 0.0)
DOWN: Vec3 = (0.0, 1.0, 0.0)

#: Primitive folders: reference prefix, folder below the library root, segments per circle,
#: title prefix and the ``!LDRAW_ORG`` type of the files there.
RESOLUTIONS: tuple[tuple[str, str, int, str, str], ...] = (
    ("", "p", 16, "", "Unofficial_Primitive"),
    ("48\\", "p/48", 48, "Hi-Res ", "Unofficial_48_Primitive"),
    ("8\\", "p/8", 8, "Lo-Res ", "Unofficial_8_Primitive"),
)

STUD_PITCH = 20
BRICK_HEIGHT = 24
PLATE_HEIGHT = 8
WALL = 4  # wall and top thickness of hollow parts
STUD_RADIUS = 6
TUBE_RADIUS = 8  # underside tube of 2-wide parts (stud4.dat), outer radius
TUBE_HOLE_RADIUS = 6  # and inner radius
POST_RADIUS = 4  # underside post of 1-wide parts (stud3.dat)
ROUND_2X2_TRUNCATE = 19.5  # stud10.dat stays this close to the axis of a round 2 x 2 part


# --------------------------------------------------------------------------------------------
# Formatting and low-level geometry


def fmt(value: float) -> str:
    """Format a coordinate the LDraw way: at most 4 decimals, no trailing zeros, no ``-0``."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _r4(value: float) -> float:
    """Round to the 4 decimals that end up in the files (and turn ``-0.0`` into ``0.0``)."""
    return round(value, 4) + 0.0


def unit_circle(segments: int) -> list[Point2]:
    """The ``segments`` points (cos, sin) of the unit circle, starting at +X, turning to +Z."""
    return [
        (_r4(math.cos(2 * math.pi * k / segments)), _r4(math.sin(2 * math.pi * k / segments)))
        for k in range(segments)
    ]


def _dot(a: Vec3, b: Vec3) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def polygon_normal(points: Sequence[Vec3]) -> Vec3:
    """Newell normal of a planar polygon: (v1 - v0) x (v2 - v0) direction for a CCW polygon."""
    nx = ny = nz = 0.0
    for i, a in enumerate(points):
        b = points[(i + 1) % len(points)]
        nx += (a[1] - b[1]) * (a[2] + b[2])
        ny += (a[2] - b[2]) * (a[0] + b[0])
        nz += (a[0] - b[0]) * (a[1] + b[1])
    return (nx, ny, nz)


# --------------------------------------------------------------------------------------------
# LDraw file bodies


class Body:
    """The geometry lines (types 1-5) of one LDraw file, plus the files it references."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.refs: set[str] = set()

    def ref(self, name: str, pos: Vec3 = (0, 0, 0), mat: Mat3 = IDENTITY, invert: bool = False) -> None:
        """Place sub-file ``name`` (type 1 line, colour 16); ``invert`` adds ``BFC INVERTNEXT``."""
        if invert:
            self.lines.append("0 BFC INVERTNEXT")
        numbers = " ".join(fmt(v) for v in (*pos, *mat))
        self.lines.append(f"1 16 {numbers} {name}")
        self.refs.add(name.split("\\")[-1])

    def face(self, points: Sequence[Vec3], outward: Vec3) -> None:
        """Add a triangle or quad (colour 16), wound so that its normal agrees with ``outward``."""
        assert len(points) in (3, 4)
        side = _dot(polygon_normal(points), outward)
        assert abs(side) > 1e-9, f"face {points} is edge-on to {outward}"
        ordered = list(points) if side > 0 else list(reversed(points))
        kind = "3" if len(points) == 3 else "4"
        self.lines.append(f"{kind} 16 " + " ".join(fmt(c) for p in ordered for c in p))

    def polygon(self, points: Sequence[Vec3], outward: Vec3) -> None:
        """Add a convex planar polygon as a fan of quads (and a last triangle when needed)."""
        first, k = points[0], 1
        while k + 1 < len(points):
            chunk = points[k:k + 3] if k + 3 <= len(points) else points[k:k + 2]
            self.face([first, *chunk], outward)
            k += len(chunk) - 1

    def edge(self, a: Vec3, b: Vec3) -> None:
        """Add an edge line (type 2, colour 24)."""
        self.lines.append("2 24 " + " ".join(fmt(c) for c in (*a, *b)))

    def optional(self, a: Vec3, b: Vec3, c: Vec3, d: Vec3) -> None:
        """Add an optional line (type 5, colour 24) from ``a`` to ``b`` with controls ``c``, ``d``."""
        self.lines.append("5 24 " + " ".join(fmt(v) for p in (a, b, c, d) for v in p))


def scale(sx: float, sy: float, sz: float) -> Mat3:
    """A diagonal (scale) matrix."""
    return (sx, 0, 0, 0, sy, 0, 0, 0, sz)


def file_text(title: str, name: str, org: str, body: Body) -> str:
    """A complete LDraw file: the standard header, ``BFC CERTIFY CCW`` and the body."""
    header = [
        f"0 {title}",
        f"0 Name: {name}",
        f"0 Author: {AUTHOR}",
        f"0 !LDRAW_ORG {org}",
        f"0 !LICENSE {LICENSE}",
        "",
        "0 BFC CERTIFY CCW",
        "",
    ]
    return "\n".join(header + body.lines) + "\n"


# --------------------------------------------------------------------------------------------
# Primitives (unit size, circles in the XZ plane around the Y axis)


def prim_edge(n: int, prefix: str) -> Body:
    """``4-4edge``: the unit circle at y=0 as edge lines."""
    body, c = Body(), unit_circle(n)
    for k in range(n):
        a, b = c[k], c[(k + 1) % n]
        body.edge((a[0], 0, a[1]), (b[0], 0, b[1]))
    return body


def prim_disc(n: int, prefix: str) -> Body:
    """``4-4disc``: the unit disc at y=0, facing up (-Y)."""
    body, c = Body(), unit_circle(n)
    for k in range(n):
        a, b = c[k], c[(k + 1) % n]
        body.face([(0, 0, 0), (a[0], 0, a[1]), (b[0], 0, b[1])], UP)
    return body


def prim_ndis(n: int, prefix: str) -> Body:
    """``4-4ndis``: the square [-1,1]^2 minus the unit disc at y=0, facing up (-Y)."""
    body, c = Body(), unit_circle(n)
    for k in range(n):
        a, b = c[k], c[(k + 1) % n]
        mid = (a[0] + b[0], a[1] + b[1])
        corner = (math.copysign(1, mid[0]), 0, math.copysign(1, mid[1]))
        body.face([(b[0], 0, b[1]), (a[0], 0, a[1]), corner], UP)
    return body


def _sides(body: Body, n: int, r0: float, r1: float) -> None:
    """Side quads of a cone/cylinder from radius ``r0`` at y=0 to ``r1`` at y=1, facing outward,
    with an optional line along every generator."""
    c = unit_circle(n)
    for k in range(n):
        a, b = c[k], c[(k + 1) % n]
        quad = [(a[0] * r0, 0, a[1] * r0), (b[0] * r0, 0, b[1] * r0), (b[0] * r1, 1, b[1] * r1),
                (a[0] * r1, 1, a[1] * r1)]
        body.face(quad, (a[0] + b[0], 0, a[1] + b[1]))
    for k in range(n):
        p, nxt, prv = c[k], c[(k + 1) % n], c[k - 1]
        body.optional((p[0] * r0, 0, p[1] * r0), (p[0] * r1, 1, p[1] * r1),
                      (nxt[0] * r0, 0, nxt[1] * r0), (prv[0] * r0, 0, prv[1] * r0))


def prim_cyli(n: int, prefix: str) -> Body:
    """``4-4cyli``: open unit cylinder from y=0 to y=1, facing outward."""
    body = Body()
    _sides(body, n, 1, 1)
    return body


def prim_ring(inner: int) -> Callable[[int, str], Body]:
    """``4-4ring<inner>``: the annulus from radius ``inner`` to ``inner + 1`` at y=0, facing up."""

    def build(n: int, prefix: str) -> Body:
        body, c = Body(), unit_circle(n)
        r0, r1 = inner, inner + 1
        for k in range(n):
            a, b = c[k], c[(k + 1) % n]
            body.face([(a[0] * r0, 0, a[1] * r0), (b[0] * r0, 0, b[1] * r0), (b[0] * r1, 0, b[1] * r1),
                       (a[0] * r1, 0, a[1] * r1)], UP)
        return body

    return build


def prim_cone(top: int) -> Callable[[int, str], Body]:
    """``4-4con<top>``: cone from radius ``top + 1`` at y=0 to radius ``top`` at y=1, outward."""

    def build(n: int, prefix: str) -> Body:
        body = Body()
        _sides(body, n, top + 1, top)
        return body

    return build


def prim_stud(n: int, prefix: str) -> Body:
    """``stud``: solid stud, radius 6 from y=0 up to y=-4, closed on top."""
    body = Body()
    body.ref(prefix + "4-4edge.dat", (0, 0, 0), scale(6, 1, 6))
    body.ref(prefix + "4-4edge.dat", (0, -4, 0), scale(6, 1, 6))
    body.ref(prefix + "4-4cyli.dat", (0, 0, 0), scale(6, -4, 6))
    body.ref(prefix + "4-4disc.dat", (0, -4, 0), scale(6, 1, 6))
    return body


def prim_stud2a(n: int, prefix: str) -> Body:
    """``stud2a``: hollow stud (outer radius 6, hole radius 4) from y=0 to y=-4, open at y=0,
    without the base edges."""
    body = Body()
    body.ref(prefix + "4-4edge.dat", (0, -4, 0), scale(4, 1, 4))
    body.ref(prefix + "4-4edge.dat", (0, -4, 0), scale(6, 1, 6))
    body.ref(prefix + "4-4cyli.dat", (0, -4, 0), scale(4, 4, 4), invert=True)
    body.ref(prefix + "4-4cyli.dat", (0, -4, 0), scale(6, 4, 6))
    body.ref(prefix + "4-4ring2.dat", (0, -4, 0), scale(2, 1, 2))
    return body


def prim_stud3(n: int, prefix: str) -> Body:
    """``stud3``: solid post, radius 4 from y=0 up to y=-4, closed at y=-4 (the underside post of
    1-wide parts, placed mirrored and stretched in Y)."""
    body = Body()
    body.ref(prefix + "4-4edge.dat", (0, -4, 0), scale(4, 1, 4))
    body.ref(prefix + "4-4edge.dat", (0, 0, 0), scale(4, 1, 4))
    body.ref(prefix + "4-4disc.dat", (0, -4, 0), scale(4, 1, 4))
    body.ref(prefix + "4-4cyli.dat", (0, -4, 0), scale(4, 4, 4))
    return body


def prim_stud4(n: int, prefix: str) -> Body:
    """``stud4``: open tube, radii 6 and 8, from y=0 up to y=-4 with its ring at y=-4 (the
    underside tube of 2-wide parts, placed mirrored and stretched in Y)."""
    body = Body()
    for y in (-4, 0):
        body.ref(prefix + "4-4edge.dat", (0, y, 0), scale(6, 1, 6))
        body.ref(prefix + "4-4edge.dat", (0, y, 0), scale(8, 1, 8))
    body.ref(prefix + "4-4cyli.dat", (0, -4, 0), scale(6, 4, 6), invert=True)
    body.ref(prefix + "4-4cyli.dat", (0, -4, 0), scale(8, 4, 8))
    body.ref(prefix + "4-4ring3.dat", (0, -4, 0), scale(2, 1, 2))
    return body


def stud10_outline(n: int) -> list[Point2]:
    """Footprint of ``stud10``: the stud circle with the points of its +X+Z quadrant pulled in
    towards (-10, -10) so that they stay within :data:`ROUND_2X2_TRUNCATE` of that point, the
    axis of a round 2 x 2 part whose stud sits at (10, 10)."""
    axis = (-10.0, -10.0)
    points = []
    for cx, cz in unit_circle(n):
        x, z = cx * STUD_RADIUS, cz * STUD_RADIUS
        dist = math.hypot(x - axis[0], z - axis[1])
        if cx >= 0 and cz >= 0 and dist > ROUND_2X2_TRUNCATE:
            f = ROUND_2X2_TRUNCATE / dist
            x, z = axis[0] + (x - axis[0]) * f, axis[1] + (z - axis[1]) * f
        points.append((_r4(x), _r4(z)))
    return points


def prim_stud10(n: int, prefix: str) -> Body:
    """``stud10``: solid stud from y=0 up to y=-4, truncated in its +X+Z quadrant for the top of
    round 2 x 2 parts (see :func:`stud10_outline`)."""
    body, ring = Body(), stud10_outline(n)
    for k in range(n):
        (ax, az), (bx, bz) = ring[k], ring[(k + 1) % n]
        body.face([(ax, 0, az), (bx, 0, bz), (bx, -4, bz), (ax, -4, az)], (ax + bx, 0, az + bz))
        body.face([(0, -4, 0), (ax, -4, az), (bx, -4, bz)], UP)
        body.edge((ax, 0, az), (bx, 0, bz))
        body.edge((ax, -4, az), (bx, -4, bz))
    for k in range(n):
        (px, pz), (nx, nz), (qx, qz) = ring[k], ring[(k + 1) % n], ring[k - 1]
        body.optional((px, 0, pz), (px, -4, pz), (nx, 0, nz), (qx, 0, qz))
    return body


#: Fixed-name primitives: name -> (title, builder(segments, reference prefix)).
PRIMITIVES: dict[str, tuple[str, Callable[[int, str], Body]]] = {
    "4-4edge.dat": ("Circle 1.0", prim_edge),
    "4-4disc.dat": ("Disc 1.0", prim_disc),
    "4-4ndis.dat": ("Disc Negative 1.0", prim_ndis),
    "4-4cyli.dat": ("Cylinder 1.0", prim_cyli),
    "stud.dat": ("Stud", prim_stud),
    "stud2a.dat": ("Stud Open without Base Edges", prim_stud2a),
    "stud3.dat": ("Stud Tube Solid", prim_stud3),
    "stud4.dat": ("Stud Tube Open", prim_stud4),
    "stud10.dat": ("Stud Truncated Laterally for Round  2 x  2 Parts", prim_stud10),
}


def primitive(name: str) -> tuple[str, Callable[[int, str], Body]]:
    """Title and builder of primitive ``name`` (fixed names, ``4-4ring<n>``, ``4-4con<n>``)."""
    if name in PRIMITIVES:
        return PRIMITIVES[name]
    ring = re.fullmatch(r"4-4ring(\d+)\.dat", name)
    if ring:
        return f"Ring {int(ring[1]):>2} x 1.0", prim_ring(int(ring[1]))
    cone = re.fullmatch(r"4-4con(\d+)\.dat", name)
    if cone:
        return f"Cone {int(cone[1]):>2} x 1.0", prim_cone(int(cone[1]))
    raise KeyError(f"no generator for primitive {name}")


# --------------------------------------------------------------------------------------------
# Face helpers shared by the part builders


@dataclass(frozen=True)
class Hole:
    """A round opening in a flat face, centred at (x, z), filled by a ``4-4ndis`` of ``size``."""

    x: float
    z: float
    size: float


def face_with_holes(body: Body, y: float, x0: float, x1: float, z0: float, z1: float,
                    holes: Sequence[Hole], facing: Vec3) -> None:
    """The horizontal rectangle [x0,x1] x [z0,z1] at height ``y`` minus round holes.

    Each hole gets a ``4-4ndis`` (its square minus its circle); the rest of the rectangle is cut
    into rectangles: full-width strips between hole rows, and pieces between the holes of a row.
    Holes of one row must share their Z extent; rows must not overlap.
    """
    up = facing[1] < 0
    rows: dict[tuple[float, float], list[Hole]] = {}
    for hole in holes:
        assert x0 <= hole.x - hole.size and hole.x + hole.size <= x1, hole
        assert z0 <= hole.z - hole.size and hole.z + hole.size <= z1, hole
        rows.setdefault((hole.z - hole.size, hole.z + hole.size), []).append(hole)

    def rect(xa: float, xb: float, za: float, zb: float) -> None:
        if xb - xa > 1e-9 and zb - za > 1e-9:
            body.face([(xa, y, za), (xb, y, za), (xb, y, zb), (xa, y, zb)], facing)

    z = z0
    for (r0, r1), row in sorted(rows.items()):
        assert r0 >= z - 1e-9, "hole rows overlap"
        rect(x0, x1, z, r0)
        x = x0
        for hole in sorted(row, key=lambda h: h.x):
            rect(x, hole.x - hole.size, r0, r1)
            body.ref("4-4ndis.dat", (hole.x, y, hole.z), scale(hole.size, 1 if up else -1, hole.size))
            x = hole.x + hole.size
        rect(x, x1, r0, r1)
        z = r1
    rect(x0, x1, z, z1)


def frame(body: Body, y: float, outer: tuple[float, float, float, float],
          inner: tuple[float, float, float, float], facing: Vec3) -> None:
    """The horizontal ring between rectangles ``outer`` and ``inner`` (x0, x1, z0, z1) as four
    trapezoids."""
    ox0, ox1, oz0, oz1 = outer
    ix0, ix1, iz0, iz1 = inner
    o = [(ox0, oz0), (ox1, oz0), (ox1, oz1), (ox0, oz1)]
    i = [(ix0, iz0), (ix1, iz0), (ix1, iz1), (ix0, iz1)]
    for k in range(4):
        a, b = k, (k + 1) % 4
        body.face([(o[a][0], y, o[a][1]), (o[b][0], y, o[b][1]), (i[b][0], y, i[b][1]),
                   (i[a][0], y, i[a][1])], facing)


def prism(body: Body, profile: Sequence[Point2], x0: float, x1: float, solid: bool,
          skip: Sequence[int]) -> None:
    """Extrude the convex side profile ``profile`` ((z, y) points) from x=x0 to x=x1.

    ``solid`` True makes the faces point away from the prism (a body), False makes them point
    into it (a cavity). Profile edge ``k`` runs from point k to point k+1; the faces of the edges
    in ``skip`` are left to the caller (studded tops, holed ceilings, open or framed bottoms).
    Edge lines go round both end caps and along X at every profile corner.
    """
    sign = 1 if solid else -1
    cz = sum(p[0] for p in profile) / len(profile)
    cy = sum(p[1] for p in profile) / len(profile)
    for x, out in ((x0, -1), (x1, 1)):
        body.polygon([(x, y, z) for z, y in profile], (sign * out, 0, 0))
    count = len(profile)
    for k in range(count):
        (za, ya), (zb, yb) = profile[k], profile[(k + 1) % count]
        body.edge((x0, ya, za), (x0, yb, zb))
        body.edge((x1, ya, za), (x1, yb, zb))
        body.edge((x0, ya, za), (x1, ya, za))
        if k in skip:
            continue
        normal = (yb - ya, -(zb - za))  # perpendicular to the edge in (z, y)
        if normal[0] * ((za + zb) / 2 - cz) + normal[1] * ((ya + yb) / 2 - cy) < 0:
            normal = (-normal[0], -normal[1])
        body.face([(x0, ya, za), (x1, ya, za), (x1, yb, zb), (x0, yb, zb)],
                  (0, sign * normal[1], sign * normal[0]))


def grid_centres(x0: float, x1: float, z0: float, z1: float) -> list[Point2]:
    """Centres of the stud-pitch cells covering the rectangle [x0,x1] x [z0,z1]."""
    nx, nz = round((x1 - x0) / STUD_PITCH), round((z1 - z0) / STUD_PITCH)
    return [(x0 + STUD_PITCH * (i + 0.5), z0 + STUD_PITCH * (j + 0.5)) for j in range(nz) for i in range(nx)]


def underside_supports(x0: float, x1: float, z0: float, z1: float) -> tuple[list[Point2], list[Point2]]:
    """Tubes and posts under a footprint [x0,x1] x [z0,z1]: tubes at the inner grid corners of a
    footprint at least 2 x 2 studs, posts between the studs of a 1 x N footprint."""
    nx, nz = round((x1 - x0) / STUD_PITCH), round((z1 - z0) / STUD_PITCH)
    xs = [x0 + STUD_PITCH * i for i in range(1, nx)]
    zs = [z0 + STUD_PITCH * j for j in range(1, nz)]
    if nx >= 2 and nz >= 2:
        return [(x, z) for z in zs for x in xs], []
    if nx == 1:
        return [], [((x0 + x1) / 2, z) for z in zs]
    return [], [(x, (z0 + z1) / 2) for x in xs]


# --------------------------------------------------------------------------------------------
# Straight parts: an extruded side profile with a cavity underneath


@dataclass(frozen=True)
class PrismPart:
    """A straight part: the side profile ``outer`` ((z, y) points, convex) extruded over
    ``studs_x`` stud pitches along X, hollowed by the profile ``cavity`` extruded over the inner
    width (one wall less on each side).

    ``top`` is the index of the outer edge that carries studs (or None for a smooth part),
    ``bottom`` the outer edge around the cavity opening, ``ceiling`` the horizontal cavity edge
    that holds the tubes or posts and ``opening`` the cavity edge left open.
    """

    number: str
    title: str
    studs_x: int
    outer: tuple[Point2, ...]
    cavity: tuple[Point2, ...]
    top: int | None
    bottom: int
    ceiling: int
    opening: int


def build_prism_part(spec: PrismPart) -> Body:
    """LDraw geometry of a :class:`PrismPart`: walls, studded or smooth top, framed bottom,
    cavity with ceiling, and the underside tubes (``stud4``) or posts (``stud3``)."""
    body = Body()
    half = spec.studs_x * STUD_PITCH / 2
    inner = half - WALL
    skip = [spec.bottom] + ([spec.top] if spec.top is not None else [])
    prism(body, spec.outer, -half, half, True, skip)
    prism(body, spec.cavity, -inner, inner, False, [spec.ceiling, spec.opening])

    def span(profile: Sequence[Point2], k: int) -> tuple[float, float, float]:
        (za, ya), (zb, yb) = profile[k], profile[(k + 1) % len(profile)]
        assert abs(ya - yb) < 1e-9, "top, bottom, ceiling and opening edges must be horizontal"
        return min(za, zb), max(za, zb), ya

    if spec.top is not None:
        z0, z1, y = span(spec.outer, spec.top)
        studs = grid_centres(-half, half, z0, z1)
        face_with_holes(body, y, -half, half, z0, z1, [Hole(x, z, STUD_RADIUS) for x, z in studs], UP)
        for x, z in studs:
            body.ref("stud.dat", (x, y, z))

    bz0, bz1, bottom_y = span(spec.outer, spec.bottom)
    oz0, oz1, open_y = span(spec.cavity, spec.opening)
    assert abs(bottom_y - open_y) < 1e-9
    frame(body, bottom_y, (-half, half, bz0, bz1), (-inner, inner, oz0, oz1), DOWN)

    cz0, cz1, ceiling_y = span(spec.cavity, spec.ceiling)
    tubes, posts = underside_supports(-half, half, bz0, bz1)
    holes = [Hole(x, z, TUBE_RADIUS) for x, z in tubes] + [Hole(x, z, POST_RADIUS) for x, z in posts]
    face_with_holes(body, ceiling_y, -inner, inner, cz0, cz1, holes, DOWN)
    stretch = -(bottom_y - ceiling_y) / 4  # stud3/stud4 span y=0..-4: flip and stretch them
    for x, z in tubes:
        body.ref("4-4disc.dat", (x, ceiling_y, z), scale(TUBE_HOLE_RADIUS, -1, TUBE_HOLE_RADIUS))
        body.ref("stud4.dat", (x, ceiling_y, z), scale(1, stretch, 1))
    for x, z in posts:
        body.ref("stud3.dat", (x, ceiling_y, z), scale(1, stretch, 1))
    return body


def box_profile(width: float, top: float, bottom: float) -> tuple[Point2, ...]:
    """Rectangular side profile ((z, y) points) ``width`` deep from y=top to y=bottom; edge 0
    is the top and edge 2 the bottom."""
    return ((width / 2, top), (-width / 2, top), (-width / 2, bottom), (width / 2, bottom))


def brick(number: str, title: str, studs_z: int, studs_x: int, height: int, studded: bool = True) -> PrismPart:
    """A brick, plate (``height`` 8) or tile (``studded`` False), ``studs_z`` x ``studs_x``."""
    depth = studs_z * STUD_PITCH
    return PrismPart(
        number, title, studs_x,
        outer=box_profile(depth, 0, height),
        cavity=box_profile(depth - 2 * WALL, WALL, height),
        top=0 if studded else None, bottom=2, ceiling=0, opening=2,
    )


def slope45(number: str, title: str, studs_x: int) -> PrismPart:
    """Slope 45 2 x N: one row of studs at z=0, the slope falling towards -Z to a 4 LDU lip at
    z=-30. The cavity ceiling is flat at y=12 under the studs so the tubes meet a flat face."""
    return PrismPart(
        number, title, studs_x,
        outer=((10, 0), (-10, 0), (-30, 20), (-30, 24), (10, 24)),
        cavity=((6, 12), (-18, 12), (-26, 20), (-26, 24), (6, 24)),
        top=0, bottom=3, ceiling=0, opening=3,
    )


def slope45_inverted(number: str, title: str, studs_x: int) -> PrismPart:
    """Inverted slope 45 2 x N: a full 2 x N studded top, a 4 LDU front lip at z=-30 and the
    slope running down and back to the 1 x N bottom (z=-10..10)."""
    return PrismPart(
        number, title, studs_x,
        outer=((10, 0), (-30, 0), (-30, 4), (-10, 24), (10, 24)),
        cavity=box_profile(20 - 2 * WALL, WALL, BRICK_HEIGHT),
        top=0, bottom=3, ceiling=0, opening=2,
    )


def slope31(number: str, title: str, studs_x: int) -> PrismPart:
    """Slope 31 1 x N x 2/3 ("cheese"): origin at the bottom, 4 LDU front at z=-10 rising at
    31 degrees to a 15.6 LDU back edge; no studs, shallow cavity underneath."""
    return PrismPart(
        number, title, studs_x,
        outer=((10, -15.6), (9.3333, -15.6), (-10, -4), (-10, 0), (10, 0)),
        cavity=box_profile(20 - 2 * WALL, -WALL, 0),
        top=None, bottom=3, ceiling=0, opening=2,
    )


# --------------------------------------------------------------------------------------------
# Round parts: a revolved profile of standard primitives


@dataclass(frozen=True)
class LathePart:
    """A round part around the Y axis: ``stud`` (a primitive placed at the origin, or None), then
    the open profile ``profile`` of (radius, y) points. The profile runs so that the outward
    normal of each step (dr, dy) is (dy, -dr); it starts where the stud (or the top face) ends
    and stops on the axis or where the stud's hole begins. Edge circles go on every corner of
    the profile, and on its first point when ``edge_start``. ``corner_studs`` puts four
    truncated studs (``stud10``) on a flat top at y=0 instead of a single stud."""

    number: str
    title: str
    stud: str | None
    profile: tuple[Point2, ...]
    edge_start: bool = False
    corner_studs: bool = False


def _standard_radii(r0: float, r1: float) -> tuple[int, list[int]]:
    """Split radii r0 < r1 into steps of one primitive unit: (unit, [r0/unit, ..., r1/unit])."""
    assert r0 == int(r0) and r1 == int(r1) and 0 < r0 < r1, (r0, r1)
    unit = math.gcd(int(r0), int(r1))
    return unit, list(range(int(r0) // unit, int(r1) // unit + 1))


def revolve_step(body: Body, a: Point2, b: Point2) -> None:
    """Revolve one profile step from (r, y) point ``a`` to ``b`` into standard primitives:
    a ring or disc (horizontal), a cylinder (vertical) or cones (slanted)."""
    (ra, ya), (rb, yb) = a, b
    outward = yb - ya  # radial component of the step's outward normal
    if ya == yb:
        flip = 1 if rb > ra else -1  # rings face up (-Y) when the profile runs outward
        lo, hi = min(ra, rb), max(ra, rb)
        if lo == 0:
            body.ref("4-4disc.dat", (0, ya, 0), scale(hi, flip, hi))
            return
        unit, steps = _standard_radii(lo, hi)
        for n in steps[:-1]:
            body.ref(f"4-4ring{n}.dat", (0, ya, 0), scale(unit, flip, unit))
    elif ra == rb:
        body.ref("4-4cyli.dat", (0, ya, 0), scale(ra, yb - ya, ra), invert=outward < 0)
    else:
        (r_small, y_small), (r_big, y_big) = sorted([a, b])
        unit, steps = _standard_radii(r_small, r_big)
        dy_dr = (y_big - y_small) / (r_big - r_small)
        for n in steps[:-1]:
            y_top = y_small + (n * unit - r_small) * dy_dr  # at radius n * unit
            y_wide = y_top + unit * dy_dr  # at radius (n + 1) * unit
            body.ref(f"4-4con{n}.dat", (0, y_wide, 0), scale(unit, y_top - y_wide, unit), invert=outward < 0)


def _corner(prev: Point2, here: Point2, after: Point2) -> bool:
    """Whether the profile turns at ``here``."""
    d1 = (here[0] - prev[0], here[1] - prev[1])
    d2 = (after[0] - here[0], after[1] - here[1])
    return abs(d1[0] * d2[1] - d1[1] * d2[0]) > 1e-9


#: Rotations about Y taking the truncated +X+Z quadrant of stud10 to each quadrant.
QUADRANT_TURNS: tuple[tuple[Point2, Mat3], ...] = (
    ((1, 1), IDENTITY),
    ((-1, 1), (0, 0, -1, 0, 1, 0, 1, 0, 0)),
    ((-1, -1), (-1, 0, 0, 0, 1, 0, 0, 0, -1)),
    ((1, -1), (0, 0, 1, 0, 1, 0, -1, 0, 0)),
)


def _cross(o: Point2, a: Point2, b: Point2) -> float:
    """Z of (a - o) x (b - o): positive when o -> a -> b turns counter-clockwise."""
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _area(points: Sequence[Point2]) -> float:
    """Signed area of a polygon (positive when counter-clockwise)."""
    return sum(_cross((0.0, 0.0), a, points[(k + 1) % len(points)]) for k, a in enumerate(points)) / 2


def annulus_triangles(outer: Sequence[Point2], inner: Sequence[Point2],
                      centre: Point2) -> list[tuple[Point2, Point2, Point2]]:
    """Triangulate the region between two convex polygons (``inner`` strictly inside ``outer``,
    ``centre`` inside ``inner``).

    Both outlines are walked counter-clockwise around ``centre``, starting at the outer corner
    of smallest angle and the inner corner nearest to it; each step closes the triangle with
    the shorter new diagonal among those that stay clear of the inner polygon.
    """

    def ccw(points: Sequence[Point2]) -> list[Point2]:
        return sorted(points, key=lambda p: math.atan2(p[1] - centre[1], p[0] - centre[0]))

    o, i = ccw(outer), ccw(inner)
    first = min(range(len(i)), key=lambda k: math.dist(i[k], o[0]))
    i = i[first:] + i[:first]
    o, i = o + o[:1], i + i[:1]

    def inside_edge(p: Point2, k: int) -> bool:  # p on the inner side of inner edge k -> k+1
        return _cross(i[k % (len(i) - 1)], i[(k + 1) % (len(i) - 1)], p) > 1e-9

    triangles = []
    a = b = 0
    while a < len(o) - 1 or b < len(i) - 1:
        advance_outer = a < len(o) - 1 and not (inside_edge(o[a + 1], b - 1) and inside_edge(o[a + 1], b))
        advance_inner = b < len(i) - 1 and not inside_edge(o[a], b)
        if advance_outer and advance_inner:
            advance_outer = math.dist(o[a + 1], i[b]) <= math.dist(o[a], i[b + 1])
        assert advance_outer or advance_inner, "annulus cannot be stitched"
        if advance_outer:
            triangles.append((o[a], o[a + 1], i[b]))
            a += 1
        else:
            triangles.append((o[a], i[b + 1], i[b]))
            b += 1
    covered = sum(_area(t) for t in triangles)
    assert all(_area(t) > 0 for t in triangles), "annulus triangle turned over"
    assert abs(covered - (_area(o[:-1]) - _area(i[:-1]))) < 1e-6, "annulus triangles overlap"
    return triangles


def round_top_with_corner_studs(body: Body, radius: float) -> None:
    """Flat round top of radius ``radius`` at y=0 carrying four ``stud10`` studs at (+-10, +-10),
    triangulated quadrant by quadrant around each stud's footprint."""
    circle = unit_circle(16)
    footprint = stud10_outline(16)
    for (sx, sz), m in QUADRANT_TURNS:
        centre = (STUD_PITCH / 2 * sx, STUD_PITCH / 2 * sz)
        body.ref("stud10.dat", (centre[0], 0, centre[1]), m)
        hole = [(_r4(centre[0] + m[0] * x + m[2] * z), _r4(centre[1] + m[6] * x + m[8] * z)) for x, z in footprint]
        arc = [(radius * cx, radius * cz) for cx, cz in circle if cx * sx >= 0 and cz * sz >= 0]
        for tri in annulus_triangles([(0.0, 0.0), *arc], hole, centre):
            body.face([(x, 0, z) for x, z in tri], UP)


def build_lathe_part(spec: LathePart) -> Body:
    """LDraw geometry of a :class:`LathePart`."""
    body = Body()
    if spec.stud:
        body.ref(spec.stud)
    if spec.corner_studs:
        round_top_with_corner_studs(body, spec.profile[0][0])
    profile = spec.profile
    for a, b in zip(profile, profile[1:]):
        revolve_step(body, a, b)
    corners = [p for prev, p, nxt in zip(profile, profile[1:], profile[2:]) if _corner(prev, p, nxt)]
    if spec.edge_start:
        corners.insert(0, profile[0])
    for r, y in corners:
        if r > 0:
            body.ref("4-4edge.dat", (0, y, 0), scale(r, 1, r))
    return body


# --------------------------------------------------------------------------------------------
# The parts table


@dataclass(frozen=True)
class Alias:
    """An official "~Moved to" file: part ``number`` is now ``target``."""

    number: str
    target: str


def build_alias(spec: Alias) -> Body:
    """The single identity reference of a "~Moved to" file."""
    body = Body()
    body.ref(f"{spec.target}.dat")
    return body


PartSpec = PrismPart | LathePart

PARTS: tuple[PartSpec, ...] = (
    brick("3005", "Brick  1 x  1", 1, 1, BRICK_HEIGHT),
    brick("3004", "Brick  1 x  2", 1, 2, BRICK_HEIGHT),
    brick("3622", "Brick  1 x  3", 1, 3, BRICK_HEIGHT),
    brick("3010", "Brick  1 x  4", 1, 4, BRICK_HEIGHT),
    brick("3009", "Brick  1 x  6", 1, 6, BRICK_HEIGHT),
    brick("3008", "Brick  1 x  8", 1, 8, BRICK_HEIGHT),
    brick("3003", "Brick  2 x  2", 2, 2, BRICK_HEIGHT),
    brick("3002", "Brick  2 x  3", 2, 3, BRICK_HEIGHT),
    brick("3001", "Brick  2 x  4", 2, 4, BRICK_HEIGHT),
    brick("2456", "Brick  2 x  6", 2, 6, BRICK_HEIGHT),
    brick("3007", "Brick  2 x  8", 2, 8, BRICK_HEIGHT),
    brick("3024", "Plate  1 x  1", 1, 1, PLATE_HEIGHT),
    brick("3023b", "Plate  1 x  2", 1, 2, PLATE_HEIGHT),
    brick("3623", "Plate  1 x  3", 1, 3, PLATE_HEIGHT),
    brick("3710", "Plate  1 x  4", 1, 4, PLATE_HEIGHT),
    brick("3666", "Plate  1 x  6", 1, 6, PLATE_HEIGHT),
    brick("3460", "Plate  1 x  8", 1, 8, PLATE_HEIGHT),
    brick("3022", "Plate  2 x  2", 2, 2, PLATE_HEIGHT),
    brick("3021", "Plate  2 x  3", 2, 3, PLATE_HEIGHT),
    brick("3020", "Plate  2 x  4", 2, 4, PLATE_HEIGHT),
    brick("3795", "Plate  2 x  6", 2, 6, PLATE_HEIGHT),
    brick("3034", "Plate  2 x  8", 2, 8, PLATE_HEIGHT),
    brick("3070b", "Tile  1 x  1 with Groove", 1, 1, PLATE_HEIGHT, studded=False),
    brick("3069b", "Tile  1 x  2 with Groove", 1, 2, PLATE_HEIGHT, studded=False),
    brick("3068b", "Tile  2 x  2 with Groove", 2, 2, PLATE_HEIGHT, studded=False),
    slope31("54200", "Slope Brick 31  1 x  1 x  0.667", 1),
    slope31("85984", "Slope Brick 31  1 x  2 x  0.667", 2),
    slope45("3040b", "Slope Brick 45  2 x  1", 1),
    slope45("3039", "Slope Brick 45  2 x  2", 2),
    slope45("3038", "Slope Brick 45  2 x  3", 3),
    slope45("3037", "Slope Brick 45  2 x  4", 4),
    slope45_inverted("3665a", "Slope Brick 45  2 x  1 Inverted without Inner Stopper Ring", 1),
    slope45_inverted("3660a", "Slope Brick 45  2 x  2 Inverted without Inner Stopper Ring", 2),
    LathePart("98138", "Tile  1 x  1 Round with Groove", None,
              ((0, 0), (10, 0), (10, 8), (6, 8), (6, 4), (0, 4))),
    LathePart("6141", "Plate  1 x  1 Round", "stud.dat",
              ((6, 0), (10, 0), (10, 3), (8, 3), (8, 8), (6, 8), (6, 3), (0, 3))),
    LathePart("3062b", "Brick  1 x  1 Round with Hollow Stud", "stud2a.dat",
              ((6, 0), (10, 0), (10, 19), (8, 19), (8, 24), (6, 24), (6, 4), (4, 4), (4, 0)), edge_start=True),
    LathePart("3941", "Brick  2 x  2 Round without Reinforcement", None,
              ((20, 0), (20, 24), (16, 24), (16, 4), (8, 4), (8, 24), (6, 24), (6, 4), (0, 4)),
              edge_start=True, corner_studs=True),
    LathePart("4589", "Cone  1 x  1", "stud2a.dat",
              ((6, 0), (10, 19), (8, 19), (8, 24), (6, 24), (6, 18), (4, 18), (4, 0)), edge_start=True),
    LathePart("3942c", "Cone  2 x  2 x  2 with Hollow Stud Open", "stud2a.dat",
              ((6, 0), (10, 0), (20, 44), (20, 48), (16, 48), (16, 44), (8, 4), (4, 4), (4, 0)),
              edge_start=True),
)

ALIASES: tuple[Alias, ...] = (
    Alias("3023", "3023b"),
    Alias("3040", "3040b"),
    Alias("3665", "3665a"),
    Alias("3660", "3660a"),
    Alias("4073", "6141"),
)


# --------------------------------------------------------------------------------------------
# Colour table (standard LDraw codes, names and values)

#: Colour table sections: (comment, rows of (code, name, value, edge, extra attributes)) in the
#: official ``!COLOUR`` syntax, with the standard LDraw.org codes, names and values. (The
#: LDraw.org table has no MATTE_METALLIC colour, so neither has this one.)
COLOUR_SECTIONS: tuple[tuple[str, tuple[tuple[int, str, str, str, str], ...]], ...] = (
    ("LDraw special colours", (
        (16, 'Main_Colour', '#FFFF80', '#333333', ''),
        (24, 'Edge_Colour', '#7F7F7F', '#333333', ''),
    )),
    ("Solid colours", (
        (0, 'Black', '#1B2A34', '#808080', ''),
        (1, 'Blue', '#1E5AA8', '#333333', ''),
        (2, 'Green', '#00852B', '#333333', ''),
        (3, 'Dark_Turquoise', '#069D9F', '#333333', ''),
        (4, 'Red', '#B40000', '#333333', ''),
        (5, 'Dark_Pink', '#D3359D', '#333333', ''),
        (6, 'Brown', '#543324', '#1E1E1E', ''),
        (7, 'Light_Grey', '#8A928D', '#333333', ''),
        (8, 'Dark_Grey', '#545955', '#333333', ''),
        (9, 'Light_Blue', '#97CBD9', '#333333', ''),
        (10, 'Bright_Green', '#58AB41', '#333333', ''),
        (11, 'Light_Turquoise', '#00AAA4', '#333333', ''),
        (12, 'Salmon', '#F06D61', '#333333', ''),
        (13, 'Pink', '#F6A9BB', '#333333', ''),
        (14, 'Yellow', '#FAC80A', '#333333', ''),
        (15, 'White', '#F4F4F4', '#333333', ''),
        (17, 'Light_Green', '#ADD9A8', '#333333', ''),
        (18, 'Light_Yellow', '#FFD67F', '#333333', ''),
        (19, 'Tan', '#D7BA8C', '#333333', ''),
        (20, 'Light_Violet', '#AFBED6', '#333333', ''),
        (22, 'Purple', '#671F81', '#333333', ''),
        (23, 'Dark_Blue_Violet', '#0E3E9A', '#333333', ''),
        (25, 'Orange', '#D67923', '#333333', ''),
        (26, 'Magenta', '#901F76', '#333333', ''),
        (27, 'Lime', '#A5CA18', '#333333', ''),
        (28, 'Dark_Tan', '#897D62', '#333333', ''),
        (29, 'Bright_Pink', '#FF9ECD', '#333333', ''),
        (30, 'Medium_Lavender', '#A06EB9', '#333333', ''),
        (31, 'Lavender', '#CDA4DE', '#333333', ''),
        (68, 'Very_Light_Orange', '#FDC383', '#333333', ''),
        (69, 'Bright_Reddish_Lilac', '#8A12A8', '#333333', ''),
        (70, 'Reddish_Brown', '#5F3109', '#808080', ''),
        (71, 'Light_Bluish_Grey', '#969696', '#333333', ''),
        (72, 'Dark_Bluish_Grey', '#646464', '#333333', ''),
        (73, 'Medium_Blue', '#7396C8', '#333333', ''),
        (74, 'Medium_Green', '#7FC475', '#333333', ''),
        (77, 'Light_Pink', '#FECCCF', '#333333', ''),
        (78, 'Light_Nougat', '#FFC995', '#333333', ''),
        (84, 'Medium_Nougat', '#AA7D55', '#333333', ''),
        (85, 'Medium_Lilac', '#441A91', '#333333', ''),
        (86, 'Light_Brown', '#7B5D41', '#333333', ''),
        (89, 'Blue_Violet', '#1C58A7', '#333333', ''),
        (92, 'Nougat', '#BB805A', '#333333', ''),
        (100, 'Light_Salmon', '#F9B7A5', '#333333', ''),
        (110, 'Violet', '#26469A', '#333333', ''),
        (112, 'Medium_Violet', '#4861AC', '#333333', ''),
        (115, 'Medium_Lime', '#B7D425', '#333333', ''),
        (118, 'Aqua', '#9CD6CC', '#333333', ''),
        (120, 'Light_Lime', '#DEEA92', '#333333', ''),
        (125, 'Light_Orange', '#F9A777', '#333333', ''),
        (128, 'Dark_Nougat', '#AD6140', '#333333', ''),
        (151, 'Very_Light_Bluish_Grey', '#C8C8C8', '#333333', ''),
        (191, 'Bright_Light_Orange', '#FCAC00', '#333333', ''),
        (212, 'Bright_Light_Blue', '#9DC3F7', '#333333', ''),
        (216, 'Rust', '#872B17', '#333333', ''),
        (218, 'Reddish_Lilac', '#8E5597', '#333333', ''),
        (219, 'Lilac', '#564E9D', '#333333', ''),
        (226, 'Bright_Light_Yellow', '#FFEC6C', '#333333', ''),
        (232, 'Sky_Blue', '#77C9D8', '#333333', ''),
        (272, 'Dark_Blue', '#19325A', '#333333', ''),
        (288, 'Dark_Green', '#00451A', '#808080', ''),
        (295, 'Flamingo_Pink', '#FF94C2', '#333333', ''),
        (308, 'Dark_Brown', '#352100', '#808080', ''),
        (313, 'Maersk_Blue', '#ABD9FF', '#333333', ''),
        (320, 'Dark_Red', '#720012', '#333333', ''),
        (321, 'Dark_Azure', '#469BC3', '#333333', ''),
        (322, 'Medium_Azure', '#68C3E2', '#333333', ''),
        (323, 'Light_Aqua', '#D3F2EA', '#333333', ''),
        (326, 'Yellowish_Green', '#E2F99A', '#333333', ''),
        (330, 'Olive_Green', '#77774E', '#333333', ''),
        (335, 'Sand_Red', '#88605E', '#333333', ''),
        (351, 'Medium_Dark_Pink', '#F785B1', '#333333', ''),
        (353, 'Coral', '#FF6D77', '#333333', ''),
        (366, 'Earth_Orange', '#D86D2C', '#333333', ''),
        (368, 'Neon_Yellow', '#EDFF21', '#333333', ''),
        (370, 'Medium_Brown', '#755945', '#333333', ''),
        (371, 'Medium_Tan', '#CCA373', '#333333', ''),
        (373, 'Sand_Purple', '#75657D', '#333333', ''),
        (378, 'Sand_Green', '#708E7C', '#333333', ''),
        (379, 'Sand_Blue', '#70819A', '#333333', ''),
        (402, 'Reddish_Orange', '#CA4C0B', '#333333', ''),
        (422, 'Sienna_Brown', '#915C3C', '#333333', ''),
        (423, 'Umber_Brown', '#543F33', '#333333', ''),
        (450, 'Fabuland_Brown', '#D27744', '#333333', ''),
        (462, 'Medium_Orange', '#F58624', '#333333', ''),
        (484, 'Dark_Orange', '#91501C', '#333333', ''),
        (503, 'Very_Light_Grey', '#BCB4A5', '#333333', ''),
        (507, 'Light_Orange_Brown', '#FA9C1C', '#333333', ''),
        (508, 'Fabuland_Red', '#FF8014', '#333333', ''),
        (509, 'Fabuland_Orange', '#CF8A47', '#333333', ''),
        (510, 'Fabuland_Lime', '#78FC78', '#333333', ''),
    )),
    ("Transparent colours", (
        (33, 'Trans_Dark_Blue', '#0020A0', '#000B38', 'ALPHA 128'),
        (34, 'Trans_Green', '#237841', '#174F2B', 'ALPHA 128'),
        (35, 'Trans_Bright_Green', '#56E646', '#27AF18', 'ALPHA 128'),
        (36, 'Trans_Red', '#C91A09', '#660D05', 'ALPHA 128'),
        (37, 'Trans_Dark_Pink', '#DF6695', '#B9275F', 'ALPHA 128'),
        (38, 'Trans_Neon_Orange', '#FF800D', '#A85100', 'ALPHA 128'),
        (39, 'Trans_Very_Light_Blue', '#C1DFF0', '#6FB4DC', 'ALPHA 128'),
        (40, 'Trans_Brown', '#635F52', '#2A2823', 'ALPHA 128'),
        (41, 'Trans_Medium_Blue', '#559AB7', '#326276', 'ALPHA 128'),
        (42, 'Trans_Neon_Green', '#C0FF00', '#739900', 'ALPHA 128'),
        (43, 'Trans_Light_Blue', '#AEE9EF', '#59D1DE', 'ALPHA 128'),
        (44, 'Trans_Bright_Reddish_Lilac', '#96709F', '#5F4365', 'ALPHA 128'),
        (45, 'Trans_Pink', '#FC97AC', '#F9345B', 'ALPHA 128'),
        (46, 'Trans_Yellow', '#F5CD2F', '#B49208', 'ALPHA 128'),
        (47, 'Trans_Clear', '#FCFCFC', '#C9C9C9', 'ALPHA 128'),
        (52, 'Trans_Purple', '#A5A5CB', '#6464A6', 'ALPHA 128'),
        (54, 'Trans_Neon_Yellow', '#DAB000', '#755E00', 'ALPHA 128'),
        (57, 'Trans_Orange', '#F08F1C', '#9E5C0A', 'ALPHA 128'),
    )),
    ("Chrome colours", (
        (60, 'Chrome_Antique_Brass', '#645A4C', '#665B4D', 'CHROME'),
        (61, 'Chrome_Blue', '#6C96BF', '#3D638A', 'CHROME'),
        (62, 'Chrome_Green', '#3CB371', '#226741', 'CHROME'),
        (63, 'Chrome_Pink', '#AA4D8E', '#632C52', 'CHROME'),
        (64, 'Chrome_Black', '#1B2A34', '#3D5F76', 'CHROME'),
        (334, 'Chrome_Gold', '#DFC176', '#C2982E', 'CHROME'),
        (383, 'Chrome_Silver', '#CECECE', '#9C9C9C', 'CHROME'),
    )),
    ("Pearlescent colours", (
        (83, 'Pearl_Black', '#0A1327', '#333333', 'PEARLESCENT'),
        (134, 'Copper', '#764D3B', '#333333', 'PEARLESCENT'),
        (135, 'Pearl_Light_Grey', '#A0A0A0', '#333333', 'PEARLESCENT'),
        (137, 'Metallic_Blue', '#5B7590', '#333333', 'PEARLESCENT'),
        (142, 'Pearl_Light_Gold', '#DEAC66', '#333333', 'PEARLESCENT'),
        (147, 'Pearl_Dark_Gold', '#83724F', '#333333', 'PEARLESCENT'),
        (148, 'Pearl_Dark_Grey', '#484D48', '#333333', 'PEARLESCENT'),
        (150, 'Pearl_Very_Light_Grey', '#989B99', '#333333', 'PEARLESCENT'),
        (179, 'Pearl_Silver', '#898788', '#333333', 'PEARLESCENT'),
        (183, 'Pearl_White', '#F6F2DF', '#333333', 'PEARLESCENT'),
        (297, 'Pearl_Gold', '#AA7F2E', '#333333', 'PEARLESCENT'),
    )),
    ("Metallic colours", (
        (80, 'Metallic_Silver', '#767676', '#333333', 'METAL'),
        (81, 'Metallic_Green', '#C2C06F', '#333333', 'METAL'),
        (82, 'Metallic_Gold', '#DBAC34', '#333333', 'METAL'),
        (87, 'Metallic_Dark_Grey', '#3E3C39', '#333333', 'METAL'),
        (300, 'Metallic_Copper', '#C27F53', '#333333', 'METAL'),
    )),
    ("Milky and glow-in-the-dark colours", (
        (79, 'Milky_White', '#EEEEEE', '#BABABA', 'ALPHA 240'),
        (21, 'Glow_In_Dark_Opaque', '#E0FFB0', '#B8FF4D', 'ALPHA 240 LUMINANCE 15'),
        (294, 'Glow_In_Dark_Trans', '#BDC6AD', '#8D9D72', 'ALPHA 240 LUMINANCE 15'),
        (329, 'Glow_In_Dark_White', '#F5F3D7', '#E0DA85', 'ALPHA 240 LUMINANCE 15'),
    )),
    ("Glitter colours", (
        (114, 'Glitter_Trans_Dark_Pink', '#DF6695', '#B9275F', 'ALPHA 128 MATERIAL GLITTER VALUE #B92790 FRACTION 0.17 VFRACTION 0.2 SIZE 1'),
        (117, 'Glitter_Trans_Clear', '#EEEEEE', '#BABABA', 'ALPHA 128 MATERIAL GLITTER VALUE #FFFFFF FRACTION 0.08 VFRACTION 0.1 SIZE 1'),
        (129, 'Glitter_Trans_Purple', '#640061', '#000000', 'ALPHA 128 MATERIAL GLITTER VALUE #8F00CC FRACTION 0.03 VFRACTION 0.4 SIZE 1'),
    )),
    ("Speckle colours", (
        (75, 'Speckle_Black_Copper', '#000000', '#AB6038', 'MATERIAL SPECKLE VALUE #AB6038 FRACTION 0.4 MINSIZE 1 MAXSIZE 3'),
        (76, 'Speckle_Dark_Bluish_Grey_Silver', '#635F61', '#898788', 'MATERIAL SPECKLE VALUE #898788 FRACTION 0.4 MINSIZE 1 MAXSIZE 3'),
        (132, 'Speckle_Black_Silver', '#000000', '#898788', 'MATERIAL SPECKLE VALUE #898788 FRACTION 0.4 MINSIZE 1 MAXSIZE 3'),
        (133, 'Speckle_Black_Gold', '#000000', '#DBAC34', 'MATERIAL SPECKLE VALUE #DBAC34 FRACTION 0.4 MINSIZE 1 MAXSIZE 3'),
    )),
    ("Rubber colours", (
        (65, 'Rubber_Yellow', '#FAC80A', '#333333', 'RUBBER'),
        (256, 'Rubber_Black', '#1B2A34', '#808080', 'RUBBER'),
        (273, 'Rubber_Blue', '#1E5AA8', '#333333', 'RUBBER'),
        (324, 'Rubber_Red', '#B40000', '#333333', 'RUBBER'),
        (350, 'Rubber_Orange', '#D67923', '#333333', 'RUBBER'),
        (375, 'Rubber_Light_Grey', '#8A928D', '#333333', 'RUBBER'),
        (406, 'Rubber_Dark_Blue', '#19325A', '#333333', 'RUBBER'),
        (449, 'Rubber_Purple', '#671F81', '#333333', 'RUBBER'),
        (490, 'Rubber_Lime', '#A5CA18', '#333333', 'RUBBER'),
        (496, 'Rubber_Light_Bluish_Grey', '#969696', '#333333', 'RUBBER'),
        (504, 'Rubber_Flat_Silver', '#898788', '#333333', 'RUBBER'),
        (511, 'Rubber_White', '#F4F4F4', '#333333', 'RUBBER'),
        (67, 'Rubber_Trans_Clear', '#FCFCFC', '#C9C9C9', 'ALPHA 128 RUBBER'),
    )),
)


def ldconfig_text() -> str:
    """``LDConfig.ldr``: the colour table in the official ``!COLOUR`` syntax."""
    lines = [
        "0 LDraw Colour Configuration (madgen embedded library)",
        "0 Name: LDConfig.ldr",
        f"0 Author: {AUTHOR}",
        "0 !LDRAW_ORG Configuration",
        f"0 !LICENSE {LICENSE}",
        "",
        "0 // Standard LDraw colour codes, names and values (a subset of the LDraw.org table).",
    ]
    for comment, rows in COLOUR_SECTIONS:
        lines += ["", f"0 // {comment}"]
        for code, name, value, edge, extra in rows:
            line = f"0 !COLOUR {name:<34} CODE {code:>5}   VALUE {value}   EDGE {edge}"
            lines.append(f"{line}   {extra}" if extra else line)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Writing the library


def build_part(spec: PartSpec | Alias) -> Body:
    """LDraw geometry of one entry of :data:`PARTS` or :data:`ALIASES`."""
    if isinstance(spec, PrismPart):
        return build_prism_part(spec)
    if isinstance(spec, LathePart):
        return build_lathe_part(spec)
    return build_alias(spec)


def primitive_files(roots: set[str]) -> dict[str, str]:
    """Every primitive reachable from the names in ``roots``, in all three resolutions."""
    needed: set[str] = set()
    pending = sorted(roots)
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        needed.add(name)
        pending.extend(sorted(primitive(name)[1](16, "").refs - needed))
    files: dict[str, str] = {}
    for name in sorted(needed):
        title, build = primitive(name)
        for prefix, folder, segments, title_prefix, org in RESOLUTIONS:
            files[f"{folder}/{name}"] = file_text(title_prefix + title, prefix + name, org, build(segments, prefix))
    return files


def library_files() -> dict[str, str]:
    """The whole library: path below the root -> file text."""
    files = {"LDConfig.ldr": ldconfig_text()}
    refs: set[str] = set()
    for spec in PARTS:
        body = build_part(spec)
        refs |= body.refs
        files[f"parts/{spec.number}.dat"] = file_text(spec.title, f"{spec.number}.dat", "Unofficial_Part", body)
    for alias in ALIASES:
        files[f"parts/{alias.number}.dat"] = file_text(
            f"~Moved to {alias.target}", f"{alias.number}.dat", "Unofficial_Part Alias", build_part(alias))
    files.update(primitive_files(refs))
    return dict(sorted(files.items()))


def write_library(out: Path) -> list[Path]:
    """Write the library as ``out`` (``\\n`` line endings) and return the paths written.

    The files are written into a fresh sibling folder that then replaces ``out``, so stale files
    from an earlier run never survive and an interrupted run leaves the old library intact.
    """
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    written = []
    for relative, text in library_files().items():
        path = staging / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(out / relative)
    staging.chmod(0o755)
    if out.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
        out.rename(retired / out.name)
        staging.rename(out)
        shutil.rmtree(retired)
    else:
        staging.rename(out)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_out = Path(__file__).resolve().parent.parent / "ldraw_parts"
    parser.add_argument("--out", type=Path, default=default_out, help=f"library root (default: {default_out})")
    args = parser.parse_args(argv)
    written = write_library(args.out)
    print(f"wrote {len(written)} files under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
