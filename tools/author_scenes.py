#!/usr/bin/env python3
"""Author the 20 MAD-Sim LEGO animal scenes as LDraw models.

The PAD benchmark's MAD-Sim dataset renders 20 LEGO animal toys.  This tool
regenerates brick-built versions of them from compact, readable descriptions
and writes ``scenes/<NNName>.ldr`` plus ``scenes/<NNName>.yaml`` for each one.

How it works
------------
1. **Description** - every animal is one function (see ``ANIMALS``) that builds
   a :class:`Model` out of solid shapes (``Ellipsoid``, ``Box``, ``Disc``,
   tapered ``Limb``), each with an LDraw colour and a body-region *group*
   (``head``, ``leg_front_left``, ...).  Horizontal coordinates are in studs
   (20 LDU), heights in plates (8 LDU) above the ground; the animal faces -Z
   and +X is its left.  Later shapes overwrite earlier ones, ``paint``
   recolours existing voxels (stripes, bellies, masks; ``Slab`` and
   ``HalfSpace`` help there) and ``carve`` removes them.  Small details
   (eyes, horns, beaks, fangs, ears) are explicit parts set into the surface,
   resting on top of it or hanging below it.
2. **Voxelisation** - the model declares horizontal *bands* (brick bands are 3
   plates, plate bands 1 plate).  Shapes are sampled at the centre of every
   (stud x stud x band) cell; limbs at every plate so sloping limbs stay
   connected from band to band.
3. **Packing** - band by band, bottom to top, every colour region is covered
   greedily with the largest fitting rectangular parts (bricks in brick bands,
   plates in plate bands), starting from the most constrained cells,
   preferring parts that touch something above or below and alternating
   orientation and scan direction between bands so that joints are staggered
   and parts interlock.  Exposed top edges of brick bands are capped with 45
   degree slopes facing outwards (overhanging lower edges with inverted
   slopes), exposed plate tops with tiles, and groups may ask for round 1x1
   caps instead.  A repair pass then re-splits parts until the whole model is
   one stud-connected structure.
4. **Checks** - the written ``.ldr`` text is parsed back and verified with an
   occupancy grid at (stud, stud, plate) resolution: allowed parts, colours
   and Y-only rotations, no overlapping volume, no stud under an underside
   that cannot take it, slopes facing open space, every part joined to every
   other through stud connections (one component), the model standing on the
   ground with its centre of mass over its footprint, >= 60 parts, >= 3
   colours and an ``eye`` group; the YAML must load back.  The part
   catalogue itself is checked against the official LDraw geometry when the
   library is available.  Any failure raises :class:`ModelError` and the
   tool exits non-zero.
5. **Previews** (``--preview DIR``) - a small numpy z-buffer rasteriser draws
   front / side / top / three-quarter views of simplified part meshes per
   model plus a contact sheet of all models at one scale.

Usage::

    python3 tools/author_scenes.py                  # write scenes/*.ldr|yaml
    python3 tools/author_scenes.py --preview /tmp/p  # also write preview PNGs
    python3 tools/author_scenes.py --only 11Pig      # rebuild selected scenes
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
SCENES_DIR = REPO_ROOT / "scenes"
DEFAULT_LDRAW_DIR = Path("/work/shared/ldraw")

STUD = 20  # LDU per stud (horizontal grid pitch)
PLATE = 8  # LDU per plate (vertical grid pitch)
BRICK = 3  # plates per brick
Y_SCALE = PLATE / STUD  # plates -> studs, for isotropic distances

MIN_PARTS = 60
MIN_COLOURS = 3

Vec3 = tuple[float, float, float]


class ModelError(RuntimeError):
    """Raised when a model violates a construction or content rule."""


# --------------------------------------------------------------------------
# Colours (standard LDraw codes, values from LDConfig.ldr)
# --------------------------------------------------------------------------

COLOURS: dict[int, tuple[str, str]] = {
    0: ("Black", "#1B2A34"),
    1: ("Blue", "#1E5AA8"),
    2: ("Green", "#00852B"),
    4: ("Red", "#B40000"),
    5: ("Dark_Pink", "#D3359D"),
    6: ("Brown", "#543324"),
    7: ("Light_Grey", "#8A928D"),
    8: ("Dark_Grey", "#545955"),
    13: ("Pink", "#F6A9BB"),
    14: ("Yellow", "#FAC80A"),
    15: ("White", "#F4F4F4"),
    19: ("Tan", "#D7BA8C"),
    25: ("Orange", "#D67923"),
    26: ("Magenta", "#901F76"),
    27: ("Lime", "#A5CA18"),
    28: ("Dark_Tan", "#897D62"),
    30: ("Medium_Lavender", "#A06EB9"),
    31: ("Lavender", "#CDA4DE"),
    70: ("Reddish_Brown", "#5F3109"),
    71: ("Light_Bluish_Grey", "#969696"),
    72: ("Dark_Bluish_Grey", "#646464"),
    73: ("Medium_Blue", "#7396C8"),
    78: ("Light_Nougat", "#FFC995"),
    84: ("Medium_Nougat", "#AA7D55"),
    92: ("Nougat", "#BB805A"),
    191: ("Bright_Light_Orange", "#FCAC00"),
    226: ("Bright_Light_Yellow", "#FFEC6C"),
    272: ("Dark_Blue", "#19325A"),
    288: ("Dark_Green", "#00451A"),
    308: ("Dark_Brown", "#352100"),
    320: ("Dark_Red", "#720012"),
    322: ("Medium_Azure", "#68C3E2"),
    484: ("Dark_Orange", "#91501C"),
}

# Colour names used in the animal descriptions.
BLACK, BLUE, GREEN, RED, DARK_PINK, BROWN, PINK, YELLOW, WHITE = 0, 1, 2, 4, 5, 6, 13, 14, 15
TAN, ORANGE, LIME, DARK_TAN, MEDIUM_LAVENDER, REDDISH_BROWN = 19, 25, 27, 28, 30, 70
LBG, DBG, MEDIUM_NOUGAT, BRIGHT_LIGHT_ORANGE, BRIGHT_LIGHT_YELLOW = 71, 72, 84, 191, 226
DARK_BLUE, DARK_GREEN, DARK_BROWN, DARK_RED = 272, 288, 308, 320
MEDIUM_AZURE, DARK_ORANGE = 322, 484


# --------------------------------------------------------------------------
# Part catalogue
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PartDef:
    """Grid geometry of one LDraw part in its own (identity) orientation.

    The footprint is ``width`` studs along local X by ``depth`` studs along
    local Z, centred on the origin, except for 45 degree (inverted) slopes
    whose origin sits over the back row: they span z = -30..10 LDU and their
    slope faces local -Z.  ``top`` is the LDU offset from the origin to the top
    of the body (0, or -16 for the cheese slopes whose origin is at the bottom).
    ``studs`` / ``accepts`` say which footprint cells carry a stud on top and
    take a stud from below: ``all``, ``back`` (the row at local z = 0) or
    ``none``.
    """

    number: str
    kind: str  # brick | plate | tile | slope | inverted | cheese | round | cone
    width: int
    depth: int
    height: int  # plates
    top: int = 0
    studs: str = "all"
    accepts: str = "all"

    @property
    def z_range(self) -> tuple[int, int]:
        """Local Z extent of the footprint in LDU."""
        if self.kind in ("slope", "inverted"):
            return -30, 10
        return -10 * self.depth, 10 * self.depth

    def local_cells(self) -> list[tuple[int, int, bool, bool]]:
        """Footprint cells as (x, z) LDU centres with (has_stud, takes_stud)."""
        z0, z1 = self.z_range
        cells = []
        for cx in range(-10 * self.width + 10, 10 * self.width, STUD):
            for cz in range(z0 + 10, z1, STUD):
                back = cz > -10
                stud = self.studs == "all" or (self.studs == "back" and back)
                take = self.accepts == "all" or (self.accepts == "back" and back)
                cells.append((cx, cz, stud, take))
        return cells


def _catalogue() -> dict[str, PartDef]:
    """The allowed parts (all exist in the official LDraw library)."""
    parts: list[PartDef] = []
    rect = {(1, 1): ("3005", "3024"), (2, 1): ("3004", "3023b"), (3, 1): ("3622", "3623"),
            (4, 1): ("3010", "3710"), (6, 1): ("3009", "3666"), (8, 1): ("3008", "3460"),
            (2, 2): ("3003", "3022"), (3, 2): ("3002", "3021"), (4, 2): ("3001", "3020"),
            (6, 2): ("2456", "3795"), (8, 2): ("3007", "3034")}
    for (w, d), (brick, plate) in rect.items():
        parts.append(PartDef(brick, "brick", w, d, BRICK))
        parts.append(PartDef(plate, "plate", w, d, 1))
    for number, w, d in (("3070b", 1, 1), ("3069b", 2, 1), ("3068b", 2, 2)):
        parts.append(PartDef(number, "tile", w, d, 1, studs="none"))
    for number, w in (("3040b", 1), ("3039", 2), ("3038", 3), ("3037", 4)):
        parts.append(PartDef(number, "slope", w, 2, BRICK, studs="back"))
    for number, w in (("3665a", 1), ("3660a", 2)):
        parts.append(PartDef(number, "inverted", w, 2, BRICK, accepts="back"))
    for number, w in (("54200", 1), ("85984", 2)):
        parts.append(PartDef(number, "cheese", w, 1, 2, top=-16, studs="none"))
    parts += [
        PartDef("98138", "round", 1, 1, 1, studs="none"),
        PartDef("3062b", "round", 1, 1, BRICK),
        PartDef("6141", "round", 1, 1, 1),
        PartDef("3941", "round", 2, 2, BRICK),
        PartDef("4589", "cone", 1, 1, BRICK),
        PartDef("3942c", "cone", 2, 2, 2 * BRICK, studs="none"),
    ]
    return {p.number: p for p in parts}


PARTS = _catalogue()

# World footprint (size along X, size along Z) -> part number, per packing family.
BRICK_SIZES = {(p.width, p.depth): p.number for p in PARTS.values() if p.kind == "brick"}
PLATE_SIZES = {(p.width, p.depth): p.number for p in PARTS.values() if p.kind == "plate"}
TILE_SIZES = {(p.width, p.depth): p.number for p in PARTS.values() if p.kind == "tile"}
SLOPE_BY_WIDTH = {p.width: p.number for p in PARTS.values() if p.kind == "slope"}
INVERTED_BY_WIDTH = {p.width: p.number for p in PARTS.values() if p.kind == "inverted"}

IDENTITY = (1, 0, 0, 0, 1, 0, 0, 0, 1)
# Rotation about Y that turns local -Z (the way slopes face) towards a direction.
FACING: dict[str, tuple[int, ...]] = {
    "-z": IDENTITY,
    "+z": (-1, 0, 0, 0, 1, 0, 0, 0, -1),
    "+x": (0, 0, -1, 0, 1, 0, 1, 0, 0),
    "-x": (0, 0, 1, 0, 1, 0, -1, 0, 0),
}
ROT90 = FACING["-x"]  # used for rectangles whose long side runs along Z
DIRECTIONS: dict[str, tuple[int, int]] = {"-z": (0, -1), "+z": (0, 1), "-x": (-1, 0), "+x": (1, 0)}


@dataclass(frozen=True)
class Placement:
    """One part instance: an LDraw type-1 line plus its body-region group."""

    number: str
    colour: int
    group: str
    pos: tuple[int, int, int]  # LDU
    rot: tuple[int, ...] = IDENTITY

    @property
    def part(self) -> PartDef:
        """Catalogue entry of the part."""
        return PARTS[self.number]

    def levels(self) -> tuple[int, int]:
        """Plate levels [bottom, top) occupied (level 0 is on the ground)."""
        top = -(self.pos[1] + self.part.top)
        if top % PLATE:
            raise ModelError(f"{self.number} at y={self.pos[1]} is off the plate grid")
        top //= PLATE
        return top - self.part.height, top

    def cells(self) -> list[tuple[int, int, bool, bool]]:
        """World footprint cells (x, z) with (has_stud, takes_stud)."""
        r = self.rot
        out = []
        for cx, cz, stud, take in self.part.local_cells():
            wx = r[0] * cx + r[2] * cz + self.pos[0]
            wz = r[6] * cx + r[8] * cz + self.pos[2]
            if (wx - 10) % STUD or (wz - 10) % STUD:
                raise ModelError(f"{self.number} at {self.pos} is off the stud grid")
            out.append(((wx - 10) // STUD, (wz - 10) // STUD, stud, take))
        return out


def place_part(number: str, colour: int, group: str, x: int, z: int, bottom: int,
               facing: str = "-z") -> Placement:
    """Place a part so its footprint's min corner is cell (x, z), bottom at plate ``bottom``."""
    pdef = PARTS[number]
    rot = FACING[facing]
    centres = [(rot[0] * cx + rot[2] * cz, rot[6] * cx + rot[8] * cz)
               for cx, cz, _, _ in pdef.local_cells()]
    px = STUD * x + 10 - min(c[0] for c in centres)
    pz = STUD * z + 10 - min(c[1] for c in centres)
    y = -PLATE * (bottom + pdef.height) - pdef.top
    return Placement(number, colour, group, (px, y, pz), rot)


def rect_placement(number: str, colour: int, group: str, x: int, z: int, sx: int, sz: int,
                   bottom: int) -> Placement:
    """Place a rectangular part covering cells [x, x+sx) x [z, z+sz)."""
    pdef = PARTS[number]
    rot = IDENTITY if (pdef.width, pdef.depth) == (sx, sz) else ROT90
    cx = STUD * x + 10 * sx
    cz = STUD * z + 10 * sz
    y = -PLATE * (bottom + pdef.height) - pdef.top
    return Placement(number, colour, group, (cx, y, cz), rot)


# --------------------------------------------------------------------------
# Shapes (x, z in studs; y in plates above the ground)
# --------------------------------------------------------------------------


class Shape:
    """A solid region; ``contains`` is evaluated on numpy arrays of cell centres."""

    def contains(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Boolean mask of the points inside the shape."""
        raise NotImplementedError

    def bounds(self) -> tuple[Vec3, Vec3]:
        """Axis-aligned bounds (lo, hi)."""
        raise NotImplementedError

    def contains_band(self, x: np.ndarray, y0: np.ndarray, y1: np.ndarray, z: np.ndarray
                      ) -> np.ndarray:
        """Whether cells spanning heights y0..y1 belong to the shape (sampled at the centre)."""
        return self.contains(x, (y0 + y1) / 2, z)

    def mirrored(self) -> Shape:
        """The shape reflected in the x = 0 plane."""
        raise NotImplementedError

    def centre_x(self) -> float:
        """X coordinate of the bounds centre (used to name left/right sides)."""
        lo, hi = self.bounds()
        return (lo[0] + hi[0]) / 2


def _flip(p: Vec3) -> Vec3:
    return (-p[0], p[1], p[2])


@dataclass(frozen=True)
class Ellipsoid(Shape):
    """Axis-aligned ellipsoid; radii in (studs, plates, studs)."""

    centre: Vec3
    radii: Vec3

    def contains(self, x, y, z):
        c, r = self.centre, self.radii
        return ((x - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((z - c[2]) / r[2]) ** 2 <= 1.0

    def bounds(self):
        c, r = self.centre, self.radii
        return (c[0] - r[0], c[1] - r[1], c[2] - r[2]), (c[0] + r[0], c[1] + r[1], c[2] + r[2])

    def mirrored(self):
        return Ellipsoid(_flip(self.centre), self.radii)


@dataclass(frozen=True)
class Box(Shape):
    """Axis-aligned box containing the cell centres strictly between lo and hi."""

    lo: Vec3
    hi: Vec3

    def contains(self, x, y, z):
        lo, hi = self.lo, self.hi
        return ((x > lo[0]) & (x < hi[0]) & (y > lo[1]) & (y < hi[1])
                & (z > lo[2]) & (z < hi[2]))

    def bounds(self):
        return self.lo, self.hi

    def mirrored(self):
        return Box((-self.hi[0], self.lo[1], self.lo[2]), (-self.lo[0], self.hi[1], self.hi[2]))


@dataclass(frozen=True)
class Disc(Shape):
    """Upright elliptic cylinder: centre (x, z), radii (rx, rz) in studs, heights y0..y1."""

    centre: tuple[float, float]
    radii: tuple[float, float]
    y: tuple[float, float]

    def contains(self, x, y, z):
        (cx, cz), (rx, rz) = self.centre, self.radii
        inside = ((x - cx) / rx) ** 2 + ((z - cz) / rz) ** 2 <= 1.0
        return inside & (y > self.y[0]) & (y < self.y[1])

    def bounds(self):
        (cx, cz), (rx, rz) = self.centre, self.radii
        return (cx - rx, self.y[0], cz - rz), (cx + rx, self.y[1], cz + rz)

    def mirrored(self):
        return Disc((-self.centre[0], self.centre[1]), self.radii, self.y)


@dataclass(frozen=True)
class Limb(Shape):
    """Tapered capsule from ``a`` (radius ``r0``) to ``b`` (radius ``r1``), radii in studs.

    Heights are converted to studs (1 plate = 0.4 stud) for the distance test,
    so a limb looks equally thick in every direction.
    """

    a: Vec3
    b: Vec3
    r0: float
    r1: float | None = None

    def contains(self, x, y, z):
        r1 = self.r0 if self.r1 is None else self.r1
        a = np.array([self.a[0], self.a[1] * Y_SCALE, self.a[2]])
        d = np.array([self.b[0], self.b[1] * Y_SCALE, self.b[2]]) - a
        px, py, pz = x - a[0], y * Y_SCALE - a[1], z - a[2]
        t = np.clip((px * d[0] + py * d[1] + pz * d[2]) / max(float(d @ d), 1e-9), 0.0, 1.0)
        dist2 = (px - t * d[0]) ** 2 + (py - t * d[1]) ** 2 + (pz - t * d[2]) ** 2
        radius = self.r0 + (r1 - self.r0) * t
        return dist2 <= radius ** 2 + 1e-9

    def contains_band(self, x, y0, y1, z):
        """Limbs are sampled at every plate of a band, so a sloping limb keeps overlapping
        from one band to the next and stays stud-connected."""
        inside = np.zeros(np.broadcast(x, y0, z).shape, dtype=bool)
        for offset in (0.5, 1.5, 2.5):
            inside |= self.contains(x, y0 + offset, z) & (y0 + offset < y1)
        return inside

    def bounds(self):
        r = max(self.r0, self.r0 if self.r1 is None else self.r1)
        lo = tuple(min(p, q) - s for p, q, s in zip(self.a, self.b, (r, r / Y_SCALE, r)))
        hi = tuple(max(p, q) + s for p, q, s in zip(self.a, self.b, (r, r / Y_SCALE, r)))
        return lo, hi

    def mirrored(self):
        return Limb(_flip(self.a), _flip(self.b), self.r0, self.r1)


@dataclass(frozen=True)
class Slab(Shape):
    """Infinite slab |(p - point) . normal| <= half (studs); used for paint stripes."""

    point: Vec3
    normal: Vec3
    half: float

    def contains(self, x, y, z):
        n = np.array(self.normal, dtype=float)
        n /= np.linalg.norm(n)
        d = ((x - self.point[0]) * n[0] + (y - self.point[1]) * Y_SCALE * n[1]
             + (z - self.point[2]) * n[2])
        return np.abs(d) <= self.half

    def bounds(self):
        inf = float("inf")
        return (-inf, -inf, -inf), (inf, inf, inf)

    def mirrored(self):
        n = self.normal
        return Slab(_flip(self.point), (-n[0], n[1], n[2]), self.half)


@dataclass(frozen=True)
class HalfSpace(Shape):
    """Everything on the ``normal`` side of a plane through ``point`` (studs, y scaled).

    Used with ``paint`` for colour boundaries; a tilted boundary lets the
    colours overlap from band to band, which keeps both sides stud-connected.
    """

    point: Vec3
    normal: Vec3

    def contains(self, x, y, z):
        n = self.normal
        return ((x - self.point[0]) * n[0] + (y - self.point[1]) * Y_SCALE * n[1]
                + (z - self.point[2]) * n[2]) >= 0

    def bounds(self):
        inf = float("inf")
        return (-inf, -inf, -inf), (inf, inf, inf)

    def mirrored(self):
        n = self.normal
        return HalfSpace(_flip(self.point), (-n[0], n[1], n[2]))


# --------------------------------------------------------------------------
# Model description
# --------------------------------------------------------------------------


@dataclass
class ShapeOp:
    """Add, carve or paint voxels inside a shape."""

    kind: str  # add | carve | paint
    shape: Shape
    colour: int = -1
    group: str | None = None
    only: tuple[str, ...] = ()  # paint: restrict to groups with these prefixes
    surface: bool = False  # paint: only voxels with an empty neighbour


@dataclass
class PartOp:
    """Place an explicit detail part.

    ``mode`` is ``top`` (resting on the highest thing in its footprint
    columns, optionally below ``level``), ``under``
    (hanging below the lowest voxel at or above ``level``) or ``face``
    (replacing the outermost voxel hit by a ray travelling against ``facing``
    in the band containing ``level``).
    """

    mode: str
    number: str
    colour: int
    group: str
    x: int
    z: int
    level: int | None
    facing: str = "-z"


@dataclass
class Model:
    """A brick-built animal described by shapes and detail parts."""

    name: str
    description: str
    bands: str = ""  # e.g. "2b 3p": 2 brick bands, 3 plate bands, then bricks
    prefer_groups: list[str] = field(default_factory=list)
    ops: list[ShapeOp | PartOp] = field(default_factory=list)
    caps: dict[str, tuple[str, str]] = field(default_factory=dict)

    # -- shapes ---------------------------------------------------------
    def add(self, shape: Shape, colour: int, group: str, mirror: bool = False) -> Model:
        """Fill a shape; with ``mirror`` also its reflection ({side} -> left/right)."""
        for s, g in _sides(shape, group, mirror):
            self.ops.append(ShapeOp("add", s, colour, g))
        return self

    def carve(self, shape: Shape, mirror: bool = False) -> Model:
        """Remove all voxels inside a shape."""
        for s, _ in _sides(shape, "", mirror):
            self.ops.append(ShapeOp("carve", s))
        return self

    def paint(self, shape: Shape, colour: int, only: Sequence[str] = (), surface: bool = False,
              group: str | None = None, mirror: bool = False) -> Model:
        """Recolour existing voxels inside a shape (optionally regrouping them)."""
        for s, g in _sides(shape, group or "", mirror):
            self.ops.append(ShapeOp("paint", s, colour, g or None, tuple(only), surface))
        return self

    # -- details --------------------------------------------------------
    def part(self, mode: str, number: str, colour: int, group: str, x: int, z: int,
             level: int | None = None, facing: str = "-z", mirror: bool = False) -> Model:
        """Add an explicit part (see :class:`PartOp`); ``mirror`` adds the reflection."""
        op = PartOp(mode, number, colour, group, x, z, level, facing)
        if not mirror:
            self.ops.append(_named(op, x + 0.5))
            return self
        pdef = PARTS[number]
        size = pdef.depth if facing in ("+x", "-x") else pdef.width
        if mode == "face" and facing in ("+x", "-x"):
            size = 1
        flipped = {"+x": "-x", "-x": "+x"}.get(facing, facing)
        mx = -x - size
        self.ops.append(_named(op, x + 0.5))
        twin = PartOp(mode, number, colour, group, mx, z, level, flipped)
        self.ops.append(_named(twin, mx + 0.5))
        return self

    def eyes(self, x: int, level: int, colour: int = BLACK, number: str = "3062b",
             facing: str = "-z", z: int = 0, group: str = "eye_{side}") -> Model:
        """A mirrored pair of eyes set into the face surface.

        ``facing="-z"`` looks for the face along columns x / -x-1 from the front;
        ``"+x"`` looks from the side along row ``z``.
        """
        if facing == "-z":
            return self.part("face", number, colour, group, x, 0, level, "-z", mirror=True)
        return self.part("face", number, colour, group, 0, z, level, facing, mirror=True)

    def cap(self, groups: Iterable[str], top: str = "slope", bottom: str = "slope") -> Model:
        """Capping style for groups (prefix match): top slope|round|none, bottom slope|none.

        ``slope`` caps exposed brick edges with slopes and exposed plates with
        tiles, ``round`` uses 1x1 round bricks / round plates (a woolly look).
        """
        for g in groups:
            self.caps[g] = (top, bottom)
        return self

    def cap_style(self, group: str) -> tuple[str, str]:
        """Capping style of a group (longest matching prefix; default slopes)."""
        best = ("", ("slope", "slope"))
        for prefix, style in self.caps.items():
            if group.startswith(prefix) and len(prefix) > len(best[0]):
                best = (prefix, style)
        return best[1]


def _side_name(group: str, x: float) -> str:
    return group.replace("{side}", "left" if x > 0 else "right")


def _sides(shape: Shape, group: str, mirror: bool) -> list[tuple[Shape, str]]:
    out = [(shape, _side_name(group, shape.centre_x()))]
    if mirror:
        m = shape.mirrored()
        out.append((m, _side_name(group, m.centre_x())))
    return out


def _named(op: PartOp, x: float) -> PartOp:
    op.group = _side_name(op.group, x)
    return op


# --------------------------------------------------------------------------
# Voxelisation and packing
# --------------------------------------------------------------------------


def parse_bands(spec: str, levels: int) -> list[tuple[int, int]]:
    """Turn a band spec like ``"2b 3p"`` into [(bottom level, height)] covering ``levels``."""
    heights: list[int] = []
    for token in spec.split():
        count, kind = int(token[:-1]), token[-1]
        heights += [BRICK if kind == "b" else 1] * count
    bands, level = [], 0
    for h in heights:
        bands.append((level, h))
        level += h
    while level < levels:
        bands.append((level, BRICK))
        level += BRICK
    return bands


class Builder:
    """Voxelises a :class:`Model` and packs it into LDraw parts."""

    def __init__(self, model: Model):
        self.model = model
        adds = [op.shape for op in model.ops if isinstance(op, ShapeOp) and op.kind == "add"]
        lo = np.min([s.bounds()[0] for s in adds], axis=0)
        hi = np.max([s.bounds()[1] for s in adds], axis=0)
        self.x0 = math.floor(lo[0]) - 2
        self.z0 = math.floor(lo[2]) - 2
        nx = math.ceil(hi[0]) + 2 - self.x0
        nz = math.ceil(hi[2]) + 2 - self.z0
        self.bands = parse_bands(model.bands, math.ceil(hi[1]))
        self.level_band = {}
        for b, (bottom, h) in enumerate(self.bands):
            for lv in range(bottom, bottom + h):
                self.level_band[lv] = b
        shape = (len(self.bands), nx, nz)
        self.colour = np.full(shape, -1, dtype=np.int32)
        self.group = np.full(shape, -1, dtype=np.int32)
        self.groups: list[str] = []
        # Explicit parts and the plate levels they occupy: (level, x, z) -> index.
        self.parts: list[Placement] = []
        self.explicit: dict[tuple[int, int, int], int] = {}
        # Packed and explicit parts by the plate level of their top (filled by pack).
        self._tops: dict[int, list[Placement]] = {}

    # -- helpers ------------------------------------------------------------
    def _group_id(self, name: str) -> int:
        if name not in self.groups:
            self.groups.append(name)
        return self.groups.index(name)

    def _grid_points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Cell centres x, z and band bottoms/tops y0, y1 broadcast over the grid."""
        nb, nx, nz = self.colour.shape
        full = (nb, nx, nz)
        y0 = np.array([bottom for bottom, _ in self.bands], dtype=float)[:, None, None]
        y1 = np.array([bottom + h for bottom, h in self.bands], dtype=float)[:, None, None]
        x = (self.x0 + np.arange(nx) + 0.5)[None, :, None]
        z = (self.z0 + np.arange(nz) + 0.5)[None, None, :]
        return tuple(np.broadcast_to(a, full) for a in (x, y0, y1, z))

    def _surface(self) -> np.ndarray:
        """Filled voxels with at least one empty face neighbour."""
        filled = self.colour >= 0
        padded = np.pad(filled, 1)
        inner = np.ones_like(filled)
        for axis in range(3):
            for shift in (-1, 1):
                inner &= np.roll(padded, shift, axis=axis)[1:-1, 1:-1, 1:-1]
        return filled & ~inner

    def _matches(self, only: tuple[str, ...]) -> np.ndarray:
        """Filled voxels whose group starts with one of ``only`` (all when empty)."""
        if not only:
            return self.colour >= 0
        ids = [i for i, g in enumerate(self.groups) if g.startswith(only)]
        return np.isin(self.group, ids)

    def _inside(self, x: int, z: int) -> bool:
        """Whether world cell (x, z) lies on the voxel grid."""
        return 0 <= x - self.x0 < self.colour.shape[1] and 0 <= z - self.z0 < self.colour.shape[2]

    def occupied(self, level: int, x: int, z: int) -> bool:
        """Whether plate level ``level`` at world cell (x, z) holds a voxel or a part."""
        if (level, x, z) in self.explicit:
            return True
        b = self.level_band.get(level)
        if b is None or not self._inside(x, z):
            return False
        return bool(self.colour[b, x - self.x0, z - self.z0] >= 0)

    def level_mask(self, level: int) -> np.ndarray:
        """Occupancy (voxels and explicit parts) of one plate level over the grid."""
        b = self.level_band.get(level)
        mask = self.colour[b] >= 0 if b is not None else np.zeros(self.colour.shape[1:], bool)
        for (lv, x, z) in self.explicit:
            if lv == level and self._inside(x, z):
                mask[x - self.x0, z - self.z0] = True
        return mask

    # -- voxelisation ---------------------------------------------------------
    def voxelise(self) -> None:
        """Apply all shape operations to the voxel grid."""
        x, y0, y1, z = self._grid_points()
        for op in self.model.ops:
            if not isinstance(op, ShapeOp):
                continue
            inside = op.shape.contains_band(x, y0, y1, z)
            if op.kind == "add":
                self.colour[inside] = op.colour
                self.group[inside] = self._group_id(op.group)
            elif op.kind == "carve":
                self.colour[inside] = -1
                self.group[inside] = -1
            else:
                mask = inside & self._matches(op.only)
                if op.surface:
                    mask &= self._surface()
                self.colour[mask] = op.colour
                if op.group:
                    self.group[mask] = self._group_id(op.group)

    # -- explicit parts -------------------------------------------------------
    def _column_top(self, x: int, z: int, below: int | None) -> int:
        """Level above the highest occupied one of a column below ``below`` (0: empty)."""
        start = below - 1 if below is not None else max(
            [max(self.level_band)] + [lv for lv, _, _ in self.explicit])
        for lv in range(start, -1, -1):
            if self.occupied(lv, x, z):
                return lv + 1
        return 0

    def _face_cell(self, op: PartOp) -> tuple[int, int, int]:
        """(band, x, z) of the outermost voxel a face detail replaces."""
        b = self.level_band.get(op.level)
        if b is None:
            raise ModelError(f"{self.model.name}: level {op.level} outside the bands")
        dx, dz = DIRECTIONS[op.facing]
        filled = self.colour[b] >= 0
        if dz:
            col = filled[op.x - self.x0, :]
            idx = np.nonzero(col)[0]
            if not len(idx):
                raise ModelError(f"{self.model.name}: no surface for {op.group} at x={op.x}")
            k = idx.min() if dz < 0 else idx.max()
            return b, op.x, int(k) + self.z0
        row = filled[:, op.z - self.z0]
        idx = np.nonzero(row)[0]
        if not len(idx):
            raise ModelError(f"{self.model.name}: no surface for {op.group} at z={op.z}")
        i = idx.min() if dx < 0 else idx.max()
        return b, int(i) + self.x0, op.z

    def place_details(self) -> None:
        """Resolve all part operations into placements that override voxels."""
        for op in self.model.ops:
            if not isinstance(op, PartOp):
                continue
            pdef = PARTS[op.number]
            if op.mode == "face":
                b, x, z = self._face_cell(op)
                bottom, h = self.bands[b]
                if pdef.height != h or (pdef.width, pdef.depth) != (1, 1):
                    raise ModelError(f"{self.model.name}: {op.number} does not fit a band of {h}")
                p = place_part(op.number, op.colour, op.group, x, z, bottom, op.facing)
            else:
                probe = place_part(op.number, op.colour, op.group, op.x, op.z, 0, op.facing)
                cols = [(c[0], c[1]) for c in probe.cells()]
                if op.mode == "top":
                    tops = [self._column_top(x, z, op.level) for x, z in cols]
                    if not any(tops):
                        raise ModelError(f"{self.model.name}: nothing to rest {op.group} on")
                    bottom = max(tops)
                elif op.mode == "under":
                    lows = []
                    for x, z in cols:
                        if not self.occupied(op.level, x, z):
                            raise ModelError(f"{self.model.name}: nothing at level {op.level}, "
                                             f"cell ({x}, {z}) to hang {op.group} from")
                        lv = op.level
                        while lv > 0 and self.occupied(lv - 1, x, z):
                            lv -= 1
                        lows.append(lv)
                    bottom = min(lows) - pdef.height
                else:
                    raise ModelError(f"unknown part mode {op.mode}")
                p = place_part(op.number, op.colour, op.group, op.x, op.z, bottom, op.facing)
            self._claim(p)

    def _claim(self, p: Placement) -> None:
        """Register a detail part and remove the voxels it replaces."""
        lo, hi = p.levels()
        index = len(self.parts)
        self.parts.append(p)
        for x, z, _, _ in p.cells():
            for lv in range(lo, hi):
                if (lv, x, z) in self.explicit:
                    raise ModelError(f"{self.model.name}: detail {p.number} ({p.group}) overlaps "
                                     f"another detail at level {lv}, cell ({x}, {z})")
                self.explicit[(lv, x, z)] = index
                b = self.level_band.get(lv)
                if b is None or not self._inside(x, z):
                    continue
                i, k = x - self.x0, z - self.z0
                if self.colour[b, i, k] >= 0:
                    bottom, h = self.bands[b]
                    if bottom < lo or bottom + h > hi:
                        raise ModelError(f"{self.model.name}: detail {p.number} ({p.group}) only "
                                         f"partly fills band {b} at ({x}, {z})")
                    self.colour[b, i, k] = -1
                    self.group[b, i, k] = -1

    # -- packing ---------------------------------------------------------------
    def pack(self) -> list[Placement]:
        """Cover all voxels with parts, band by band; returns all placements."""
        placed = list(self.parts)
        self._tops = {}
        for p in placed:
            self._tops.setdefault(p.levels()[1], []).append(p)
        for b, (bottom, h) in enumerate(self.bands):
            key = self.colour[b]
            free = key >= 0
            above = self.level_mask(bottom + h)
            below = self.level_mask(bottom - 1) if bottom else np.ones_like(free)
            style_top = np.full(free.shape, "none", dtype=object)
            style_bottom = np.full(free.shape, "none", dtype=object)
            for gid, name in enumerate(self.groups):
                top, bot = self.model.cap_style(name)
                style_top[self.group[b] == gid] = top
                style_bottom[self.group[b] == gid] = bot
            out: list[Placement] = []
            if h == BRICK:
                solid = self.level_mask(bottom) | self.level_mask(bottom + 1) \
                    | self.level_mask(bottom + 2)
                real_below = below if bottom else ~below
                cap_top = free & ~above & (style_top == "slope")
                out += self._slopes(b, key, free, solid, cap_top, SLOPE_BY_WIDTH, real_below, above)
                cap_bottom = free & ~below & (style_bottom == "slope")
                out += self._slopes(b, key, free, solid, cap_bottom, INVERTED_BY_WIDTH, above,
                                    below)
                rounds = free & ~above & below & (style_top == "round")
                out += self._singles(b, free, rounds, "3062b")
                out += self._cover(b, key, free, free.copy(), BRICK_SIZES)
            else:
                rounds = free & ~above & below & (style_top == "round")
                out += self._singles(b, free, rounds, "6141")
                tiles = free & ~above & below & (style_top == "slope")
                out += self._cover(b, key, free, tiles, TILE_SIZES)
                out += self._cover(b, key, free, free.copy(), PLATE_SIZES)
            for p in out:
                self._tops.setdefault(p.levels()[1], []).append(p)
            placed += out
        return placed

    def _decode(self, b: int, cells: Sequence[tuple[int, int]]) -> tuple[int, str]:
        """Colour and majority group (ties: first cell's group) of cells in band b."""
        ids = [int(self.group[b, i, k]) for i, k in cells]
        best = max(ids, key=lambda g: (ids.count(g), g == ids[0]))
        return int(self.colour[b, cells[0][0], cells[0][1]]), self.groups[best]

    def _singles(self, b: int, free: np.ndarray, mask: np.ndarray, number: str
                 ) -> list[Placement]:
        """One 1x1 part per free ``mask`` cell of band b."""
        out = []
        for i, k in zip(*np.nonzero(mask & free)):
            colour, group = self._decode(b, [(i, k)])
            out.append(place_part(number, colour, group, int(i) + self.x0, int(k) + self.z0,
                                  self.bands[b][0]))
            free[i, k] = False
        return out

    def _slopes(self, b: int, key: np.ndarray, free: np.ndarray, solid: np.ndarray,
                cap: np.ndarray,
                widths: dict[int, str], held: np.ndarray, held_back: np.ndarray
                ) -> list[Placement]:
        """Cap exposed edges: a front cell with open space beyond it and a back cell behind.

        ``solid`` marks cells of the band taken by voxels or detail parts.
        A slope must be held by something: ``held`` marks cells where the
        slope's fully studded side (bottom of a slope, top of an inverted
        slope) meets another part, ``held_back`` where its back-row-only side
        does.
        """
        out = []
        while True:
            best = None
            for facing in ("-z", "+z", "-x", "+x"):
                dx, dz = DIRECTIONS[facing]
                for run in self._slope_runs(key, free, solid, cap, dx, dz, held, held_back):
                    cand = (len(run), facing, run)
                    if best is None or cand[0] > best[0]:
                        best = cand
            if best is None:
                return out
            _, facing, run = best
            width = max(w for w in widths if w <= len(run))
            cells = run[:width]
            dx, dz = DIRECTIONS[facing]
            fronts = list(cells)
            backs = [(i - dx, k - dz) for i, k in cells]
            colour, group = self._decode(b, fronts + backs)
            for i, k in fronts + backs:
                free[i, k] = False
            xs = [c[0] for c in fronts + backs]
            zs = [c[1] for c in fronts + backs]
            out.append(place_part(widths[width], colour, group, min(xs) + self.x0,
                                  min(zs) + self.z0, self.bands[b][0], facing))

    @staticmethod
    def _slope_runs(key: np.ndarray, free: np.ndarray, solid: np.ndarray, cap: np.ndarray,
                    dx: int, dz: int,
                    held: np.ndarray, held_back: np.ndarray) -> list[list[tuple[int, int]]]:
        """Runs of front cells (along the edge) that can take a slope facing (dx, dz)."""
        nx, nz = free.shape
        ok = np.zeros_like(free)
        for i in range(nx):
            for k in range(nz):
                if not (cap[i, k] and free[i, k]):
                    continue
                oi, ok_ = i + dx, k + dz
                if 0 <= oi < nx and 0 <= ok_ < nz and solid[oi, ok_]:
                    continue  # not an edge in this direction
                bi, bk = i - dx, k - dz
                if not (0 <= bi < nx and 0 <= bk < nz and free[bi, bk]
                        and key[bi, bk] == key[i, k]):
                    continue
                ok[i, k] = held[i, k] or held[bi, bk] or held_back[bi, bk]
        runs = []
        # runs along the edge direction (perpendicular to the facing)
        px, pz = (1, 0) if dz else (0, 1)
        seen = np.zeros_like(ok)
        for i in range(nx):
            for k in range(nz):
                if not ok[i, k] or seen[i, k]:
                    continue
                run = []
                ci, ck = i, k
                while 0 <= ci < nx and 0 <= ck < nz and ok[ci, ck] and key[ci, ck] == key[i, k]:
                    run.append((ci, ck))
                    seen[ci, ck] = True
                    ci, ck = ci + px, ck + pz
                runs.append(run)
        return runs

    def _cover(self, b: int, key: np.ndarray, free: np.ndarray, mask: np.ndarray,
               sizes: dict[tuple[int, int], str]) -> list[Placement]:
        """Cover the free ``mask`` cells of band b with parts (see :func:`greedy_rects`)."""
        bottom, h = self.bands[b]
        contact = self.level_mask(bottom + h) | (self.level_mask(bottom - 1) if bottom else False)
        rects = greedy_rects(np.where(free, key, -1), mask & free, contact,
                             self._below_ids(bottom), sizes, b % 2 == 0, (b // 2) % 2 == 1)
        out = []
        for x0, z0, sx, sz in rects:
            free[x0:x0 + sx, z0:z0 + sz] = False
            colour, group = self._decode(b, [(a, c) for a in range(x0, x0 + sx)
                                             for c in range(z0, z0 + sz)])
            number = sizes.get((sx, sz)) or sizes[(sz, sx)]
            out.append(rect_placement(number, colour, group, x0 + self.x0, z0 + self.z0,
                                      sx, sz, bottom))
        return out

    def _below_ids(self, bottom: int) -> np.ndarray:
        """Index of the part whose top is at ``bottom`` per cell (-1: none), packed so far."""
        ids = np.full(self.colour.shape[1:], -1, dtype=np.int64)
        if bottom == 0:
            return ids
        for idx, p in enumerate(self._tops.get(bottom, [])):
            for x, z, stud, _ in p.cells():
                if stud and self._inside(x, z):
                    ids[x - self.x0, z - self.z0] = idx
        return ids


    # -- connectivity repair -----------------------------------------------
    def repair(self, placed: list[Placement]) -> list[Placement]:
        """Re-split packed parts until every part is stud-connected to the rest.

        For the loose components (all but the largest), these changes are
        tried: turning all their slopes and tiles into plain bricks and
        plates (which carry studs everywhere); *growing* a loose part: one
        rectangle in its colour that also takes cells of neighbouring packed
        parts of its band - same-coloured cells, or cells of another colour
        that are hidden inside the body (a tongue tucked between the layers
        above and below) - with the neighbours' remaining cells re-covered by
        plain parts; finally the whole same-coloured region of the band around
        a loose part is re-covered in either orientation.  A change is kept
        when it reduces the number of loose parts; the loop stops when the
        model is one component or nothing helps (the check then fails loudly).
        """
        explicit = len(self.parts)
        loose = _loose_count(placed)
        while loose:
            comps = components(placed)
            trials = (t for comp in reversed(comps[1:])
                      for t in self._repair_options(placed, comp, explicit))
            trial = next((t for t in trials if _loose_count(t) < loose), None)
            if trial is None:
                return placed
            placed, loose = trial, _loose_count(trial)
        return placed

    def _repair_options(self, placed: list[Placement], comp: list[int], explicit: int
                        ) -> Iterable[list[Placement]]:
        """Candidate layouts that may join the loose component ``comp`` to the rest."""
        occupied = {(lv, x, z) for p in placed for lv in range(*p.levels())
                    for x, z, _, _ in p.cells()}
        capped = [i for i in comp if i >= explicit and placed[i].part.kind in
                  ("slope", "inverted", "tile")]
        if capped:
            new = []
            for i in capped:
                p = placed[i]
                new += _recover({(x, z) for x, z, _, _ in p.cells()}, p.colour, p.group,
                                p.levels(), occupied)
            yield [r for k, r in enumerate(placed) if k not in capped] + new
        for idx in comp:
            if idx >= explicit:
                yield from self._grow_options(placed, idx, explicit, occupied)
        for idx in comp:
            if idx >= explicit:
                yield from self._repack_options(placed, idx, explicit, occupied)

    @staticmethod
    def _repack_options(placed: list[Placement], idx: int, explicit: int,
                        occupied: set[tuple[int, int, int]]) -> Iterable[list[Placement]]:
        """Re-cover the whole same-coloured region around a loose part, both orientations."""
        p = placed[idx]
        levels = p.levels()
        lo, hi = levels
        owner: dict[tuple[int, int], int] = {}
        for j in range(explicit, len(placed)):
            q = placed[j]
            if q.levels() == levels and q.colour == p.colour:
                for x, z, _, _ in q.cells():
                    owner[(x, z)] = j
        region, stack = set(), [c[:2] for c in p.cells()]
        while stack:
            c = stack.pop()
            if c in region or c not in owner:
                continue
            region.add(c)
            stack += [(c[0] + dx, c[1] + dz) for dx, dz in DIRECTIONS.values()]
        involved = sorted({owner[c] for c in region})
        x0 = min(x for x, _ in region) - 1
        z0 = min(z for _, z in region) - 1
        shape = (max(x for x, _ in region) - x0 + 2, max(z for _, z in region) - z0 + 2)
        mask = np.zeros(shape, dtype=bool)
        contact = np.zeros(shape, dtype=bool)
        for x, z in region:
            mask[x - x0, z - z0] = True
            contact[x - x0, z - z0] = _touches(occupied, (x, z), levels)
        below = np.full(shape, -1, dtype=np.int64)
        for j, q in enumerate(placed):
            if q.levels()[1] == lo:
                for x, z, stud, _ in q.cells():
                    if stud and 0 <= x - x0 < shape[0] and 0 <= z - z0 < shape[1]:
                        below[x - x0, z - z0] = j
        sizes = BRICK_SIZES if hi - lo == BRICK else PLATE_SIZES
        rest = [r for k, r in enumerate(placed) if k not in involved]
        for along_x in (True, False):
            new = []
            for rx, rz, sx, sz in greedy_rects(np.where(mask, 0, -1), mask, contact, below,
                                               sizes, along_x, False):
                cells = [(x + x0, z + z0) for x in range(rx, rx + sx) for z in range(rz, rz + sz)]
                groups = [placed[owner[c]].group for c in cells]
                group = max(groups, key=lambda g: (groups.count(g), g == groups[0]))
                new.append(rect_placement(sizes.get((sx, sz)) or sizes[(sz, sx)], p.colour, group,
                                          rx + x0, rz + z0, sx, sz, lo))
            yield rest + new

    @staticmethod
    def _grow_options(placed: list[Placement], idx: int, explicit: int,
                      occupied: set[tuple[int, int, int]]) -> Iterable[list[Placement]]:
        """Layouts where a loose part grows into cells of its band neighbours."""
        p = placed[idx]
        levels = p.levels()
        sizes = BRICK_SIZES if levels[1] - levels[0] == BRICK else PLATE_SIZES
        mine = {(x, z) for x, z, _, _ in p.cells()}
        owner: dict[tuple[int, int], int] = {}
        for j in range(explicit, len(placed)):
            q = placed[j]
            if j != idx and q.levels() == levels:
                for x, z, _, _ in q.cells():
                    if q.colour == p.colour or _hidden(occupied, (x, z), levels):
                        owner[(x, z)] = j
        allowed = mine | set(owner)
        shapes = sorted({(w, d) for w, d in sizes} | {(d, w) for w, d in sizes})
        rects = set()
        for px, pz in mine:
            for sx, sz in shapes:
                for x0 in range(px - sx + 1, px + 1):
                    for z0 in range(pz - sz + 1, pz + 1):
                        cells = {(x, z) for x in range(x0, x0 + sx) for z in range(z0, z0 + sz)}
                        if cells <= allowed and cells - mine:
                            rects.add((x0, z0, sx, sz))
        for x0, z0, sx, sz in sorted(rects, key=lambda r: (-r[2] * r[3], r)):
            inside = {(x, z) for x in range(x0, x0 + sx) for z in range(z0, z0 + sz)}
            touched = sorted({owner[c] for c in inside - mine})
            kept = [r for k, r in enumerate(placed) if k != idx and k not in touched]
            for along_x in (True, False):
                new = [rect_placement(sizes.get((sx, sz)) or sizes[(sz, sx)], p.colour, p.group,
                                      x0, z0, sx, sz, levels[0])]
                new += _recover(mine - inside, p.colour, p.group, levels, occupied, along_x)
                for j in touched:
                    q = placed[j]
                    rest = {(x, z) for x, z, _, _ in q.cells()} - inside
                    new += _recover(rest, q.colour, q.group, levels, occupied, along_x)
                yield kept + new


def greedy_rects(key: np.ndarray, mask: np.ndarray, contact: np.ndarray, below: np.ndarray,
                 sizes: dict[tuple[int, int], str], along_x: bool, reverse: bool
                 ) -> list[tuple[int, int, int, int]]:
    """Greedily cover ``mask`` cells with allowed rectangles of uniform ``key``.

    The next anchor is the most constrained cell (fewest uncovered same-key
    neighbours, ties broken by a scan order along X or Z, optionally reversed)
    so that corners and peninsulas join a neighbour rather than being left as
    isolated 1x1 stacks.  Among the rectangles holding the anchor, those
    touching anything above or below (``contact``) win, then the largest,
    then the one resting on most distinct parts below (``below`` holds part
    ids, -1 for none), then the preferred orientation.  Returns rectangles
    (x0, z0, sx, sz) in array coordinates.
    """
    nx, nz = mask.shape
    ii, kk = np.meshgrid(np.arange(nx), np.arange(nz), indexing="ij")
    if reverse:
        ii, kk = nx - 1 - ii, nz - 1 - kk
    rank = kk * nx + ii if along_x else ii * nz + kk
    shapes = sorted({(w, d) for w, d in sizes} | {(d, w) for w, d in sizes})
    todo = mask.copy()
    out = []
    while todo.any():
        same = np.pad(np.where(todo, key, -1), 1, constant_values=-1)
        centre = same[1:-1, 1:-1]
        degree = sum((same[1 + dx:1 + dx + nx, 1 + dz:1 + dz + nz] == centre).astype(int)
                     for dx, dz in DIRECTIONS.values())
        order = np.where(todo, degree * rank.size + rank, np.iinfo(np.int64).max)
        i, k = np.unravel_index(int(np.argmin(order)), order.shape)
        region = todo & (key == key[i, k])
        table = np.pad(region.astype(int).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        best = None
        for sx, sz in shapes:
            for x0 in range(max(i - sx + 1, 0), min(i, nx - sx) + 1):
                for z0 in range(max(k - sz + 1, 0), min(k, nz - sz) + 1):
                    filled = (table[x0 + sx, z0 + sz] - table[x0, z0 + sz]
                              - table[x0 + sx, z0] + table[x0, z0])
                    if filled != sx * sz:
                        continue
                    ids = below[x0:x0 + sx, z0:z0 + sz]
                    score = (bool(contact[x0:x0 + sx, z0:z0 + sz].any()), sx * sz,
                             len(np.unique(ids[ids >= 0])), (sx >= sz) == along_x)
                    if best is None or score > best[0]:
                        best = (score, x0, z0, sx, sz)
        _, x0, z0, sx, sz = best
        todo[x0:x0 + sx, z0:z0 + sz] = False
        out.append((x0, z0, sx, sz))
    return out


def _recover(cells: set[tuple[int, int]], colour: int, group: str, levels: tuple[int, int],
             occupied: set[tuple[int, int, int]], along_x: bool = True) -> list[Placement]:
    """Plain bricks or plates (by band height) covering a cell set, preferring contact."""
    if not cells:
        return []
    lo, hi = levels
    sizes = BRICK_SIZES if hi - lo == BRICK else PLATE_SIZES
    x0 = min(x for x, _ in cells)
    z0 = min(z for _, z in cells)
    shape = (max(x for x, _ in cells) - x0 + 1, max(z for _, z in cells) - z0 + 1)
    mask = np.zeros(shape, dtype=bool)
    contact = np.zeros(shape, dtype=bool)
    for x, z in cells:
        mask[x - x0, z - z0] = True
        contact[x - x0, z - z0] = _touches(occupied, (x, z), levels)
    rects = greedy_rects(np.where(mask, 0, -1), mask, contact, np.full(shape, -1), sizes,
                         along_x, False)
    return [rect_placement(sizes.get((sx, sz)) or sizes[(sz, sx)], colour, group,
                           rx + x0, rz + z0, sx, sz, lo) for rx, rz, sx, sz in rects]


def _touches(occupied: set[tuple[int, int, int]], cell: tuple[int, int],
             levels: tuple[int, int]) -> bool:
    """Whether a cell over plate levels [lo, hi) has anything directly above or below."""
    x, z = cell
    lo, hi = levels
    return (hi, x, z) in occupied or (lo > 0 and (lo - 1, x, z) in occupied)


def _hidden(occupied: set[tuple[int, int, int]], cell: tuple[int, int],
            levels: tuple[int, int]) -> bool:
    """Whether a cell over plate levels [lo, hi) is enclosed on all six sides."""
    x, z = cell
    lo, hi = levels
    if (hi, x, z) not in occupied or (lo and (lo - 1, x, z) not in occupied):
        return False
    return all((lv, x + dx, z + dz) in occupied
               for lv in range(lo, hi) for dx, dz in DIRECTIONS.values())


def _loose_count(placed: Sequence[Placement]) -> int:
    """Number of parts outside the largest stud-connected component."""
    return sum(len(c) for c in components(placed)[1:])


def build(model: Model) -> list[Placement]:
    """Voxelise, detail and pack a model into placements (not yet checked).

    The result is shifted by whole studs so that its footprint is centred on
    x = z = 0.
    """
    builder = Builder(model)
    builder.voxelise()
    builder.place_details()
    placed = builder.repair(builder.pack())
    cells = [c for p in placed for c in p.cells()]
    shift = [-round((min(c[i] for c in cells) + max(c[i] for c in cells) + 1) / 2) * STUD
             for i in (0, 1)]
    return [Placement(p.number, p.colour, p.group,
                      (p.pos[0] + shift[0], p.pos[1], p.pos[2] + shift[1]), p.rot) for p in placed]


# --------------------------------------------------------------------------
# LDraw text
# --------------------------------------------------------------------------


def to_ldr(category: str, model: Model, placements: Sequence[Placement]) -> str:
    """Serialise a model as a plain LDraw file, one build step per plate level."""
    lines = [f"0 {model.name}", f"0 Name: {category}.ldr",
             "0 Author: madgen scene generator (tools/author_scenes.py)",
             "0 !LICENSE Licensed under MIT (madgen project)", "0 !CATEGORY Animal", ""]
    ordered = sorted(enumerate(placements), key=lambda ip: (ip[1].levels()[0], ip[0]))
    step = None
    for _, p in ordered:
        bottom = p.levels()[0]
        if step is not None and bottom != step:
            lines.append("0 STEP")
        step = bottom
        lines.append(f"0 MLCAD BTG {p.group}")
        nums = " ".join(str(v) for v in (*p.pos, *p.rot))
        lines.append(f"1 {p.colour} {nums} {p.number}.dat")
    return "\n".join(lines) + "\n"


def parse_ldr(text: str) -> list[Placement]:
    """Read placements back from :func:`to_ldr` output (every part needs its BTG line)."""
    placements, group = [], None
    for n, line in enumerate(text.splitlines(), 1):
        tok = line.split()
        if tok[:3] == ["0", "MLCAD", "BTG"]:
            group = " ".join(tok[3:])
        elif tok and tok[0] == "1":
            if group is None:
                raise ModelError(f"line {n}: part without a preceding '0 MLCAD BTG' group")
            vals = [float(t) for t in tok[2:14]]
            if any(not v.is_integer() for v in vals):
                raise ModelError(f"line {n}: non-integer position or rotation")
            number = tok[14].removesuffix(".dat")
            pos = tuple(int(v) for v in vals[:3])
            rot = tuple(int(v) for v in vals[3:])
            placements.append(Placement(number, int(tok[1]), group, pos, rot))
            group = None
    return placements


def to_yaml(category: str, model: Model) -> str:
    """The scene's metadata file."""
    groups = ", ".join(model.prefer_groups)
    return (f"category: {category}\nname: {model.name}\nmodel: {category}.ldr\n"
            f"description: {model.description}\n"
            "missing:\n"
            "  eligible: auto          # later stages compute visible, non-internal parts\n"
            f"  prefer_groups: [{groups}]\n")


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------


@dataclass
class Report:
    """Summary numbers of a checked model."""

    parts: int
    colours: int
    size: tuple[int, int, int]  # studs along X, Z and height in plates
    groups: int


def components(placements: Sequence[Placement]) -> list[list[int]]:
    """Groups of part indices joined by stud connections, largest first."""
    studs: dict[tuple[int, int, int], int] = {}
    for idx, p in enumerate(placements):
        top = p.levels()[1]
        for x, z, stud, _ in p.cells():
            if stud:
                studs[(top, x, z)] = idx
    parent = list(range(len(placements)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for idx, p in enumerate(placements):
        bottom = p.levels()[0]
        for x, z, _, take in p.cells():
            other = studs.get((bottom, x, z)) if take else None
            if other is not None:
                parent[find(idx)] = find(other)
    roots: dict[int, list[int]] = {}
    for idx in range(len(placements)):
        roots.setdefault(find(idx), []).append(idx)
    return sorted(roots.values(), key=lambda c: (-len(c), c[0]))


def check_model(name: str, placements: Sequence[Placement], prefer_groups: Sequence[str] = ()
                ) -> Report:
    """Verify a model's parts, occupancy, connectivity and content; raise ModelError.

    Checked: allowed parts, colours and Y-only rotations; no two parts share
    a (stud, stud, plate) cell; no stud pokes into an underside that cannot
    take it; slopes face open space; all parts form one stud-connected component; the model stands
    on level 0 with its centre of mass over its ground footprint; at least
    MIN_PARTS parts and MIN_COLOURS colours; an ``eye`` group; the preferred
    Missing-defect groups exist.
    """
    errors: list[str] = []
    rotations = set(FACING.values())
    for p in placements:
        if p.number not in PARTS:
            errors.append(f"part {p.number} is not allowed")
        if p.colour not in COLOURS:
            errors.append(f"colour {p.colour} is not allowed ({p.number}, {p.group})")
        if p.rot not in rotations:
            errors.append(f"rotation {p.rot} is not a Y rotation ({p.number}, {p.group})")
    if errors:
        raise ModelError(f"{name}: " + "; ".join(errors[:10]))

    occupancy: dict[tuple[int, int, int], int] = {}
    footprints = []
    for idx, p in enumerate(placements):
        lo, hi = p.levels()
        cells = p.cells()
        footprints.append((lo, hi, cells))
        for x, z, _, _ in cells:
            for lv in range(lo, hi):
                other = occupancy.setdefault((lv, x, z), idx)
                if other != idx:
                    q = placements[other]
                    errors.append(f"{p.number} ({p.group}) overlaps {q.number} ({q.group}) "
                                  f"at level {lv}, cell ({x}, {z})")
    if errors:
        raise ModelError(f"{name}: " + "; ".join(errors[:10]))
    for p, (lo, hi, cells) in zip(placements, footprints):
        for x, z, stud, _ in cells:
            above = occupancy.get((hi, x, z))
            if stud and above is not None:
                q = placements[above]
                if not next(take for cx, cz, _, take in q.cells() if (cx, cz) == (x, z)):
                    errors.append(f"stud of {p.number} ({p.group}) hits the underside of "
                                  f"{q.number} ({q.group}) at ({x}, {z})")
        if p.part.kind in ("slope", "inverted"):
            dx, dz = -p.rot[2], -p.rot[8]  # where local -Z (the slope face) points
            for x, z, stud, take in cells:
                front = not stud if p.part.kind == "slope" else not take
                if front and any((lv, x + dx, z + dz) in occupancy for lv in range(lo, hi)):
                    errors.append(f"{p.number} ({p.group}) faces into a neighbour at ({x}, {z})")
    if errors:
        raise ModelError(f"{name}: " + "; ".join(errors[:10]))

    comps = components(placements)
    if len(comps) > 1:
        loose = [f"{placements[i].number}/{placements[i].group}@{footprints[i][2][0][:2]}"
                 f"L{footprints[i][0]}" for comp in comps[1:] for i in comp]
        raise ModelError(f"{name}: {len(comps)} separate components; loose parts: "
                         + ", ".join(loose[:12]))

    bottoms = [lo for lo, _, _ in footprints]
    if min(bottoms) != 0:
        raise ModelError(f"{name}: lowest part is at level {min(bottoms)}, not on the ground")
    ground = np.array([(x, z) for lo, _, cells in footprints if lo == 0 for x, z, _, _ in cells])
    weights, centres = [], []
    for lo, hi, cells in footprints:
        for x, z, _, _ in cells:
            weights.append(hi - lo)
            centres.append((x + 0.5, z + 0.5))
    com = np.average(np.array(centres), axis=0, weights=weights)
    if np.any(com < ground.min(axis=0)) or np.any(com > ground.max(axis=0) + 1):
        raise ModelError(f"{name}: centre of mass {com} is outside the ground footprint")

    colours = {p.colour for p in placements}
    groups = {p.group for p in placements}
    if len(placements) < MIN_PARTS:
        raise ModelError(f"{name}: only {len(placements)} parts (< {MIN_PARTS})")
    if len(colours) < MIN_COLOURS:
        raise ModelError(f"{name}: only {len(colours)} colours (< {MIN_COLOURS})")
    if not any("eye" in g for g in groups):
        raise ModelError(f"{name}: no part in an eye group")
    unknown = [g for g in prefer_groups if g not in groups]
    if unknown:
        raise ModelError(f"{name}: prefer_groups not in the model: {unknown}")
    xs = [x for _, _, cells in footprints for x, _, _, _ in cells]
    zs = [z for _, _, cells in footprints for _, z, _, _ in cells]
    tops = [hi for _, hi, _ in footprints]
    size = (max(xs) - min(xs) + 1, max(zs) - min(zs) + 1, max(tops))
    return Report(len(placements), len(colours), size, len(groups))


def _official_points(path: Path, root: Path, cache: dict[str, np.ndarray]) -> np.ndarray:
    """All vertices of an official LDraw file, with sub-files resolved recursively."""
    key = str(path)
    if key in cache:
        return cache[key]
    chunks = []
    for line in path.read_text(errors="ignore").splitlines():
        tok = line.split()
        if not tok:
            continue
        if tok[0] == "1":
            name = " ".join(tok[14:]).lower().replace("\\", "/")
            sub = next((root / d / name for d in ("parts", "p") if (root / d / name).exists()),
                       None)
            if sub is None:
                raise ModelError(f"official library lacks {name} (used by {path.name})")
            v = [float(t) for t in tok[2:14]]
            pts = _official_points(sub, root, cache)
            if len(pts):
                chunks.append(pts @ np.array(v[3:]).reshape(3, 3).T + np.array(v[:3]))
        elif tok[0] in ("2", "3", "4", "5"):
            n = min(int(tok[0]), 4)
            chunks.append(np.array([float(t) for t in tok[2:2 + 3 * n]]).reshape(n, 3))
    pts = np.concatenate(chunks) if chunks else np.zeros((0, 3))
    cache[key] = pts
    return pts


def verify_catalogue(ldraw_dir: Path) -> None:
    """Check the catalogue footprints and slope directions against official geometry."""
    cache: dict[str, np.ndarray] = {}
    for number, pdef in PARTS.items():
        path = ldraw_dir / "parts" / f"{number}.dat"
        pts = _official_points(path, ldraw_dir, cache)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        z0, z1 = pdef.z_range
        want_lo = (-10 * pdef.width, z0)
        want_hi = (10 * pdef.width, z1)
        bottom = pdef.top + PLATE * pdef.height
        ok = (np.allclose((lo[0], lo[2]), want_lo, atol=0.01)
              and np.allclose((hi[0], hi[2]), want_hi, atol=0.01)
              and abs(hi[1] - bottom) < 0.01 and pdef.top - 4.01 <= lo[1] <= pdef.top + 0.5)
        if not ok:
            raise ModelError(f"catalogue geometry of {number} disagrees with {path}: "
                             f"{lo.round(2)} .. {hi.round(2)}")
        if pdef.kind in ("slope", "cheese", "inverted"):
            front = pts[np.abs(pts[:, 2] - z0) < 1.0]
            back = pts[np.abs(pts[:, 2] - z1) < 1.0]
            if pdef.kind == "inverted":
                facing_front = front[:, 1].max() < back[:, 1].max() - PLATE
            else:
                facing_front = front[:, 1].min() > back[:, 1].min() + PLATE
            if not facing_front:
                raise ModelError(f"{number} does not face local -Z as the catalogue assumes")


# --------------------------------------------------------------------------
# Preview renderer (orthographic, z-buffered, flat shaded simplified meshes)
# --------------------------------------------------------------------------

VIEWS: dict[str, tuple[float, float]] = {  # name -> (yaw, pitch) in degrees
    "front": (0.0, 0.0),
    "side": (-90.0, 0.0),
    "top": (0.0, 90.0),
    "three-quarter": (-35.0, 28.0),
}


def _prism_x(section: Sequence[tuple[float, float]], x0: float, x1: float) -> list[np.ndarray]:
    """Faces of a prism along X with a convex (z, y) cross-section."""
    a = [np.array([x0, y, z]) for z, y in section]
    b = [np.array([x1, y, z]) for z, y in section]
    faces = [np.array(a), np.array(b)]
    for i in range(len(section)):
        j = (i + 1) % len(section)
        faces.append(np.array([a[i], a[j], b[j], b[i]]))
    return faces


def _cylinder(cx: float, cz: float, r0: float, r1: float, y0: float, y1: float,
              sides: int = 12, caps: bool = True) -> list[np.ndarray]:
    """Faces of a frustum with radius r0 at y0 and r1 at y1 (``caps``: both end faces)."""
    ang = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    ring0 = np.stack([cx + r0 * np.cos(ang), np.full(sides, y0), cz + r0 * np.sin(ang)], 1)
    ring1 = np.stack([cx + r1 * np.cos(ang), np.full(sides, y1), cz + r1 * np.sin(ang)], 1)
    faces = [ring0, ring1] if caps else [ring0]
    for i in range(sides):
        j = (i + 1) % sides
        faces.append(np.array([ring0[i], ring0[j], ring1[j], ring1[i]]))
    return faces


def part_faces(p: Placement) -> list[np.ndarray]:
    """Simplified world-space polygons of a placed part (body plus studs)."""
    d = p.part
    w = 10 * d.width
    top, bottom = d.top, d.top + PLATE * d.height
    z0, z1 = d.z_range
    if d.kind == "slope":
        body = _prism_x([(10, 0), (10, 24), (-30, 24), (-30, 20), (-10, 0)], -w, w)
    elif d.kind == "inverted":
        body = _prism_x([(10, 0), (10, 24), (-10, 24), (-30, 4), (-30, 0)], -w, w)
    elif d.kind == "cheese":
        body = _prism_x([(10, -16), (10, 0), (-10, 0), (-10, -4)], -w, w)
    elif d.kind == "round":
        body = _cylinder(0, 0, w, w, top, bottom)
    elif d.kind == "cone":
        body = _cylinder(0, 0, w, 0.4 * w if d.width == 1 else 0.3 * w, bottom, top)
    else:
        body = _prism_x([(z1, top), (z1, bottom), (z0, bottom), (z0, top)], -w, w)
    centre = np.mean(np.concatenate(body), axis=0)
    faces = [(f, centre) for f in body]
    for cx, cz, stud, _ in d.local_cells():
        if stud:
            faces += [(f, np.array([cx, top - 2, cz]))
                      for f in _cylinder(cx, cz, 6, 6, top - 4, top, 6, caps=False)]
    rot = np.array(p.rot, dtype=float).reshape(3, 3)
    pos = np.array(p.pos, dtype=float)
    out = []
    for f, c in faces:
        wf = f @ rot.T + pos
        wc = c @ rot.T + pos
        n = np.cross(wf[1] - wf[0], wf[2] - wf[0])
        if np.dot(n, wf[0] - wc) < 0:
            wf = wf[::-1]
        out.append(wf)
    return out


def _rgb(colour: int) -> np.ndarray:
    h = COLOURS[colour][1]
    return np.array([int(h[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)


def _view_matrix(yaw: float, pitch: float) -> np.ndarray:
    a, b = math.radians(yaw), math.radians(pitch)
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    return rx @ ry


class Scene:
    """Triangles of a model ready for rendering from several views."""

    def __init__(self, placements: Sequence[Placement]):
        tris, cols, ids = [], [], []
        face_id = 0
        for p in placements:
            rgb = _rgb(p.colour)
            for f in part_faces(p):
                face_id += 1
                for i in range(1, len(f) - 1):
                    tris.append((f[0], f[i], f[i + 1]))
                    cols.append(rgb)
                    ids.append(face_id)
        self.tris = np.array(tris)
        self.cols = np.array(cols)
        self.ids = np.array(ids)

    def extent(self, yaw: float, pitch: float) -> tuple[np.ndarray, np.ndarray]:
        """Projected (min, max) of the scene in a view, in LDU."""
        v = self.tris.reshape(-1, 3) @ _view_matrix(yaw, pitch).T
        return v[:, :2].min(axis=0), v[:, :2].max(axis=0)

    def render(self, yaw: float, pitch: float, scale: float, size: int) -> np.ndarray:
        """Render an RGB image; ``scale`` is pixels per LDU, the scene is centred."""
        m = _view_matrix(yaw, pitch)
        v = self.tris @ m.T
        lo, hi = self.extent(yaw, pitch)
        offset = size / 2 - (lo + hi) / 2 * scale
        sx = v[..., 0] * scale + offset[0]
        sy = v[..., 1] * scale + offset[1]
        depth = v[..., 2]
        normals = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
        normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
        light = np.array([-0.45, -0.75, -0.5])
        light /= np.linalg.norm(light)
        shade = 0.62 + 0.38 * np.clip(normals @ light, 0, 1)
        zbuf = np.full((size, size), np.inf)
        img = np.full((size, size, 3), 235.0)
        fid = np.zeros((size, size), dtype=np.int64)
        for t in np.nonzero(normals[:, 2] < 0)[0]:
            x, y, z = sx[t], sy[t], depth[t]
            x0, x1 = max(int(x.min()), 0), min(int(math.ceil(x.max())), size - 1)
            y0, y1 = max(int(y.min()), 0), min(int(math.ceil(y.max())), size - 1)
            if x0 > x1 or y0 > y1:
                continue
            px, py = np.meshgrid(np.arange(x0, x1 + 1) + 0.5, np.arange(y0, y1 + 1) + 0.5)
            den = (y[1] - y[2]) * (x[0] - x[2]) + (x[2] - x[1]) * (y[0] - y[2])
            if abs(den) < 1e-9:
                continue
            w0 = ((y[1] - y[2]) * (px - x[2]) + (x[2] - x[1]) * (py - y[2])) / den
            w1 = ((y[2] - y[0]) * (px - x[2]) + (x[0] - x[2]) * (py - y[2])) / den
            w2 = 1 - w0 - w1
            d = w0 * z[0] + w1 * z[1] + w2 * z[2]
            sub = zbuf[y0:y1 + 1, x0:x1 + 1]
            hit = (w0 >= -1e-6) & (w1 >= -1e-6) & (w2 >= -1e-6) & (d < sub)
            sub[hit] = d[hit]
            img[y0:y1 + 1, x0:x1 + 1][hit] = self.cols[t] * shade[t]
            fid[y0:y1 + 1, x0:x1 + 1][hit] = self.ids[t]
        edge = np.zeros_like(fid, dtype=bool)
        edge[:, 1:] |= fid[:, 1:] != fid[:, :-1]
        edge[1:, :] |= fid[1:, :] != fid[:-1, :]
        img[edge] *= 0.45
        return img.clip(0, 255).astype(np.uint8)


def write_previews(out_dir: Path, built: Sequence[tuple[str, list[Placement]]],
                   size: int = 360) -> None:
    """Write one 2x2 view grid per model and a contact sheet of all models."""
    from PIL import Image, ImageDraw

    out_dir.mkdir(parents=True, exist_ok=True)
    scenes = [(cat, Scene(pl)) for cat, pl in built]
    sheet_scale = min(0.9 * size / max(np.max(s.extent(*VIEWS["three-quarter"])[1]
                                              - s.extent(*VIEWS["three-quarter"])[0])
                                       for _, s in scenes), 1.0)
    tiles = []
    for cat, scene in scenes:
        span = max(np.max(scene.extent(*v)[1] - scene.extent(*v)[0]) for v in VIEWS.values())
        scale = 0.9 * size / span
        grid = Image.new("RGB", (2 * size, 2 * size), "white")
        for n, (view, (yaw, pitch)) in enumerate(VIEWS.items()):
            im = Image.fromarray(scene.render(yaw, pitch, scale, size))
            ImageDraw.Draw(im).text((6, 6), f"{cat} {view}", fill=(0, 0, 0))
            grid.paste(im, ((n % 2) * size, (n // 2) * size))
        grid.save(out_dir / f"{cat}.png")
        tile = Image.fromarray(scene.render(*VIEWS["three-quarter"], sheet_scale, size))
        ImageDraw.Draw(tile).text((6, 6), cat, fill=(0, 0, 0))
        tiles.append(tile)
    cols = 5
    rows = math.ceil(len(tiles) / cols)
    sheet = Image.new("RGB", (cols * size, rows * size), "white")
    for n, tile in enumerate(tiles):
        sheet.paste(tile, ((n % cols) * size, (n // cols) * size))
    sheet.save(out_dir / "contact_sheet.png")


# --------------------------------------------------------------------------
# Animal descriptions
# --------------------------------------------------------------------------
# Coordinates: x, z in studs (animal faces -z, +x is its left), y in plates
# above the ground (3 plates = 1 brick).  Cells are sampled at their centres,
# so a shape centred on x = 0 is an even number of studs wide.


def gorilla() -> Model:
    """Silverback gorilla standing upright, long arms reaching down to its knuckles."""
    m = Model("Gorilla", "An upright black gorilla with a broad chest, long arms resting on "
              "its knuckles, a dark grey face and chest and a light grey silver back.",
              prefer_groups=["eye_left", "eye_right", "hand_left", "hand_right", "arm_left",
                             "arm_right", "head"])
    m.add(Box((1, 0, -3), (3, 3, 1)), DBG, "foot_{side}", mirror=True)
    m.add(Box((1, 3, -1.5), (3, 12, 1.5)), BLACK, "leg_{side}", mirror=True)
    m.add(Ellipsoid((0, 23, 0.5), (4.5, 13, 3.5)), BLACK, "body")
    m.add(Ellipsoid((0, 31, 0.5), (6.2, 6, 3.5)), BLACK, "shoulders")
    m.paint(Box((-6, 16, 2), (6, 34, 8)), LBG, only=("body", "shoulders"), surface=True)
    m.paint(Box((-3.5, 14, -6), (3.5, 30, -1)), DBG, only=("body",), surface=True)
    m.add(Ellipsoid((0, 38, -1.5), (2.8, 7, 2.8)), BLACK, "head")
    m.paint(Box((-3, 30, -6), (3, 39, -1.5)), DBG, only=("head",), surface=True)
    m.add(Limb((5, 31, 0.5), (6.5, 16, -0.5), 1.5, 1.3), BLACK, "arm_{side}", mirror=True)
    m.add(Limb((6.5, 16, -0.5), (6.5, 4, -1.5), 1.3), BLACK, "arm_{side}", mirror=True)
    m.add(Box((5, 0, -3), (8, 4, 0)), DBG, "hand_{side}", mirror=True)
    m.eyes(1, 37)
    return m


def unicorn() -> Model:
    """White unicorn with a golden horn and a rainbow mane and tail."""
    m = Model("Unicorn", "A white horse with its head held high, a golden cone horn, a rainbow "
              "mane and tail in pink, purple, blue and yellow and pink hooves.",
              prefer_groups=["horn", "eye_left", "eye_right", "ear_left", "ear_right", "tail",
                             "mane"])
    for z in (-6, 4):
        m.add(Box((1, 0, z), (3, 20, z + 2)), WHITE, "leg_{side}", mirror=True)
    m.paint(Box((-4, 0, -8), (4, 3, 8)), PINK, only=("leg",))
    m.add(Ellipsoid((0, 23, 0), (3.2, 9.5, 7)), WHITE, "body")
    m.add(Ellipsoid((0, 25, -5), (3, 7, 3)), WHITE, "chest")
    m.add(Limb((0, 27, -5.5), (0, 40, -9), 1.9, 1.5), WHITE, "neck")
    m.add(Ellipsoid((0, 42, -10), (2, 5, 2.3)), WHITE, "head")
    m.add(Limb((0, 41, -11), (0, 35, -14.5), 1.5, 1.3), WHITE, "muzzle")
    m.add(Limb((0, 31, -3.8), (0, 46, -8), 1.1), DARK_PINK, "mane")
    m.add(Limb((0, 29, 7), (0, 22, 9.5), 1.2), DARK_PINK, "tail")
    m.add(Limb((0, 22, 9.5), (0, 10, 10), 1.2, 1.5), DARK_PINK, "tail")
    for n, colour in enumerate((DARK_PINK, MEDIUM_LAVENDER, MEDIUM_AZURE, YELLOW, PINK)):
        m.paint(Box((-4, 9 + 7 * n, -12), (4, 16 + 7 * n, 14)), colour, only=("tail",))
        m.paint(Box((-4, 30 + 3 * n, -12), (4, 33 + 3 * n, 14)), colour, only=("mane",))
    m.eyes(0, 42, facing="+x", z=-11)
    m.part("top", "3062b", BRIGHT_LIGHT_ORANGE, "horn", 0, -11)
    m.part("top", "4589", YELLOW, "horn", 0, -11)
    m.part("top", "3040b", WHITE, "ear_{side}", 1, -10, facing="+z", mirror=True)
    return m


def mallard() -> Model:
    """Mallard drake: green head, white collar, brown chest, grey body, yellow bill."""
    m = Model("Mallard", "A mallard drake with a green head, white neck ring, brown chest, "
              "light grey body, black tail curl, blue wing patch, yellow bill and orange feet.",
              bands="4b 12p", prefer_groups=["bill", "eye_left", "eye_right", "tail",
                                             "wing_left", "wing_right"])
    m.add(Box((1, 0, -2), (2, 3, 1)), ORANGE, "foot_{side}", mirror=True)
    m.add(Ellipsoid((0, 8, 0.5), (3.2, 6, 5.5)), LBG, "body")
    m.paint(Box((-4, 0, -6), (4, 20, -2)), REDDISH_BROWN, only=("body",))
    m.add(Ellipsoid((2.6, 9, 1.5), (1, 3, 3.5)), LBG, "wing_{side}", mirror=True)
    m.paint(Box((-4, 6, 1), (4, 10, 4)), DARK_BLUE, only=("wing",), surface=True)
    m.add(Limb((0, 10, 5), (0, 15, 6.5), 1.0), BLACK, "tail")
    m.add(Limb((0, 12, -3.5), (0, 16, -3.5), 1.2), WHITE, "neck")
    m.add(Ellipsoid((0, 19, -4), (1.8, 4.5, 2.2)), GREEN, "head")
    m.add(Box((-1, 16, -8), (1, 18, -3)), YELLOW, "bill")
    m.eyes(0, 20, facing="+x", z=-5, number="6141")
    return m


def turtle() -> Model:
    """Turtle with a flat, patterned, domed shell and four stubby legs."""
    m = Model("Turtle", "A turtle with a low dark green domed shell with green plates, a dark "
              "tan rim, four stubby green legs, a short tail and a round head.",
              bands="1b 10p", prefer_groups=["head", "eye_left", "eye_right", "leg_front_left",
                                             "leg_front_right", "tail"])
    m.add(Ellipsoid((0, 3, 0), (5, 9.5, 7)), DARK_GREEN, "shell")
    m.carve(Box((-9, -1, -9), (9, 3, 9)))
    for z, name in ((-5, "front"), (3, "back")):
        m.add(Box((3, 0, z), (6, 3, z + 2)), GREEN, f"leg_{name}_{{side}}", mirror=True)
    m.add(Box((-3, 0, -4), (3, 3, 4)), DARK_TAN, "belly")
    for x, z in ((0, -3), (0, 3), (2.8, 0), (-2.8, 0), (0, 0), (2.5, -4), (-2.5, -4),
                 (2.5, 4), (-2.5, 4)):
        m.paint(Disc((x, z), (1.1, 1.1), (4, 20)), GREEN, only=("shell",), surface=True)
    m.paint(Box((-9, 3, -9), (9, 4, 9)), DARK_TAN, only=("shell",))
    m.add(Limb((0, 5, -6), (0, 6.5, -9.5), 1.4), GREEN, "head")
    m.add(Box((-1, 3, 5), (1, 5, 9)), GREEN, "tail")
    m.eyes(0, 7, facing="+x", z=-10, number="6141")
    return m


def whale() -> Model:
    """Long dark blue whale with a white belly, side flippers and a broad tail fluke."""
    m = Model("Whale", "A long dark blue whale resting on its white belly, with pectoral "
              "flippers, a dorsal fin, a tapering tail and a wide horizontal tail fluke.",
              bands="1b 2p 3b 2p", prefer_groups=["fluke", "flipper_left", "flipper_right",
                                            "eye_left", "eye_right", "fin"])
    m.add(Ellipsoid((0, 11, -3), (5.2, 13, 13)), DARK_BLUE, "body")
    m.add(Limb((0, 12, 7), (0, 14, 19), 3.6, 1.3), DARK_BLUE, "tail")
    m.add(Disc((0, 21.5), (6.5, 2.6), (14, 16)), DARK_BLUE, "fluke")
    m.carve(Disc((0, 24.5), (1.2, 1.5), (0, 30)))
    m.add(Disc((5.5, -7), (2.5, 1.8), (3, 5)), WHITE, "flipper_{side}", mirror=True)
    m.add(Limb((0, 23, 5), (0, 26, 7), 0.8), DARK_BLUE, "fin")
    m.paint(Box((-9, 0, -17), (9, 3, 17)), WHITE, only=("body", "tail"))
    m.paint(Box((-9, 3, -17), (9, 9, -9)), WHITE, only=("body",), surface=True)
    m.eyes(0, 10, facing="+x", z=-12)
    return m


def bird() -> Model:
    """Small songbird: blue back, orange breast, yellow beak, thin legs."""
    m = Model("Bird", "A small blue songbird with an orange breast, dark blue wings, a yellow "
              "beak, a raised tail and thin grey legs.", bands="1b 9p",
              prefer_groups=["beak", "eye_left", "eye_right", "tail", "wing_left", "wing_right"])
    m.add(Box((1, 0, -1), (2, 3, 1)), DBG, "leg_{side}", mirror=True)
    m.add(Ellipsoid((0, 8, 0.5), (2.6, 6, 3.5)), BLUE, "body")
    m.paint(Box((-3, 0, -5), (3, 11, -0.5)), ORANGE, only=("body",))
    m.add(Ellipsoid((0, 15, -2), (2, 4.5, 2)), BLUE, "head")
    m.add(Box((-1, 12, -6), (1, 15, -2)), YELLOW, "beak")
    m.add(Limb((0, 9, 3), (0, 13, 7), 0.8), BLUE, "tail")
    m.add(Ellipsoid((1.8, 9, 1), (1.2, 4, 2.5)), DARK_BLUE, "wing_{side}", mirror=True)
    m.eyes(0, 16, facing="+x", z=-3)
    return m


def owl() -> Model:
    """Upright brown owl with ear tufts, a pale face disc and big yellow eyes."""
    m = Model("Owl", "An upright reddish brown owl with pointed ear tufts, a tan face disc, big "
              "yellow and black eyes, an orange beak, a dark tan belly, brown wings and orange "
              "feet.", bands="1p",
              prefer_groups=["eye_left", "eye_right", "beak", "tuft_left", "tuft_right",
                             "wing_left", "wing_right"])
    m.add(Box((0, 0, -4), (2, 1, 2)), ORANGE, "foot_{side}", mirror=True)
    m.add(Ellipsoid((0, 14, 0.5), (4.5, 13, 4)), REDDISH_BROWN, "body")
    m.add(Disc((0, 0.5), (3, 3), (1, 4)), REDDISH_BROWN, "body")
    m.paint(Ellipsoid((0, 12, -3), (3, 9, 2)), DARK_TAN, only=("body",), surface=True)
    m.add(Ellipsoid((0, 29, 0.5), (4.5, 9, 3.8)), REDDISH_BROWN, "head")
    m.paint(Box((-4, 22, -6), (4, 35, -2)), TAN, only=("head",), surface=True)
    m.paint(Ellipsoid((1.5, 31, -4), (1.6, 4, 2)), YELLOW, only=("head",), surface=True,
            mirror=True)
    m.add(Ellipsoid((4, 14, 1), (1.2, 9, 3)), BROWN, "wing_{side}", mirror=True)
    m.add(Box((-1, 25, -7), (1, 29, -2)), ORANGE, "beak")
    m.eyes(1, 31)
    m.part("top", "3040b", REDDISH_BROWN, "tuft_{side}", 2, 0, facing="+x", mirror=True)
    return m


def sabertooth() -> Model:
    """Sabre-toothed cat: deep chest, big head and two long white fangs."""
    m = Model("Sabertooth", "A large sabre-toothed cat in medium nougat with a deep chest, a tan "
              "belly and muzzle, dark tan stripes on its back, a stubby tail, a black nose and "
              "two long white fangs.",
              prefer_groups=["fang_left", "fang_right", "eye_left", "eye_right", "ear_left",
                             "ear_right", "tail"])
    for z, name in ((-7, "front"), (4, "back")):
        m.add(Box((1, 0, z), (4, 16, z + 3)), MEDIUM_NOUGAT, f"leg_{name}_{{side}}", mirror=True)
    m.add(Ellipsoid((0, 24, 0.5), (3.6, 9, 7.5)), MEDIUM_NOUGAT, "body")
    m.add(Ellipsoid((0, 23, -4.5), (3.9, 10, 3.5)), MEDIUM_NOUGAT, "chest")
    m.add(Ellipsoid((0, 24, 5), (3.7, 8.5, 3)), MEDIUM_NOUGAT, "hips")
    m.paint(Box((-5, 0, -10), (5, 18, 10)), TAN, only=("body", "chest", "hips"), surface=True)
    for z in (-1.5, 1.5, 4.5):
        m.paint(Slab((0, 0, z), (0, 0.4, 1), 0.5), DARK_TAN, only=("body", "hips"), surface=True)
    m.add(Limb((0, 25, -6), (0, 27, -10), 2.6), MEDIUM_NOUGAT, "neck")
    m.add(Ellipsoid((0, 28, -11.5), (3.4, 7, 3)), MEDIUM_NOUGAT, "head")
    m.add(Box((-2, 21, -16), (2, 27, -11)), TAN, "muzzle")
    m.add(Box((-1, 18, -14), (1, 21, -10)), TAN, "jaw")
    m.add(Limb((0, 26, 9), (0, 22, 12), 1.0), MEDIUM_NOUGAT, "tail")
    m.part("face", "3062b", BLACK, "nose_{side}", 0, 0, 25, mirror=True)
    m.eyes(1, 29)
    for number in ("3062b", "3062b", "6141"):
        m.part("under", number, WHITE, "fang_{side}", 1, -16, 21, mirror=True)
    m.part("top", "54200", MEDIUM_NOUGAT, "ear_{side}", 2, -11, facing="-z", mirror=True)
    return m


def swan() -> Model:
    """White swan floating low, with an S-shaped neck and an orange beak."""
    m = Model("Swan", "A white swan with a long S-shaped neck, raised wing tips, a black "
              "knob and an orange beak.",
              prefer_groups=["beak", "eye_left", "eye_right", "wing_left", "wing_right", "tail"])
    m.add(Ellipsoid((0, 4, 2), (4.2, 11, 7.5)), WHITE, "body")
    m.add(Ellipsoid((2.6, 14, 4), (1.5, 6, 5.5)), WHITE, "wing_{side}", mirror=True)
    m.add(Limb((0, 9, 8.5), (0, 14, 11), 1.2), WHITE, "tail")
    for a, b in (((0, 11, -3.5), (0, 22, -6.5)), ((0, 22, -6.5), (0, 31, -5)),
                 ((0, 31, -5), (0, 37, -2.5))):
        m.add(Limb(a, b, 1.1), WHITE, "neck")
    m.add(Ellipsoid((0, 39, -4), (1.4, 4, 2.4)), WHITE, "head")
    m.add(Box((-1, 36, -8), (1, 39, -4)), ORANGE, "beak")
    m.paint(Box((-1, 39, -7), (1, 43, -5)), BLACK, only=("head",), surface=True)
    m.eyes(0, 40, facing="+x", z=-4)
    return m


def sheep() -> Model:
    """Woolly white sheep with a black face and black legs."""
    m = Model("Sheep", "A woolly white sheep built from round bricks, with a black head, black "
              "ears and black legs with grey hooves.",
              prefer_groups=["ear_left", "ear_right", "eye_left", "eye_right", "head", "tail"])
    for z in (-5, 3):
        m.add(Box((1, 0, z), (3, 9, z + 2)), BLACK, "leg_{side}", mirror=True)
    m.paint(Box((-4, 0, -8), (4, 3, 8)), LBG, only=("leg",))
    m.add(Ellipsoid((0, 19, 0), (4.6, 10.5, 7.5)), WHITE, "body")
    m.add(Ellipsoid((0, 23, -8.5), (2.2, 6, 2.6)), BLACK, "head")
    m.add(Ellipsoid((0, 28, -8), (2.3, 3, 2.2)), WHITE, "wool_cap")
    m.add(Box((1, 24, -9), (4, 27, -7)), BLACK, "ear_{side}", mirror=True)
    m.add(Limb((0, 21, 7), (0, 17, 8.5), 0.9), WHITE, "tail")
    m.cap(["body", "wool", "tail"], top="round", bottom="none")
    m.eyes(1, 22, colour=WHITE)
    return m


def pig() -> Model:
    """Pink pig: round body on four short legs, flat dark-pink snout, curly tail."""
    m = Model("Pig", "A small pink pig with a round body, short legs with dark pink trotters, "
              "a dark pink snout with black nostrils, floppy ears and a curly tail.",
              bands="2b 6p", prefer_groups=["eye_left", "eye_right", "ear_left", "ear_right",
                                            "snout", "tail"])
    m.add(Ellipsoid((0, 11, 0.5), (3.6, 8, 6)), PINK, "body")
    for z in (-4, 3):
        m.add(Box((1, 0, z), (3, 6, z + 2)), PINK, "leg_{side}", mirror=True)
    m.paint(Box((-4, 0, -9), (4, 3, 9)), DARK_PINK, only=("leg",))
    m.add(Ellipsoid((0, 13, -5.5), (3.1, 7, 3)), PINK, "head")
    m.add(Box((-2, 8, -10), (2, 14, -6)), DARK_PINK, "snout")
    m.add(Box((0, 12, 6), (1, 18, 7)), PINK, "tail")
    m.add(Box((0, 15, 6), (1, 18, 8)), PINK, "tail")
    m.eyes(1, 16)
    m.part("face", "6141", BLACK, "nostril_{side}", 0, 0, 10, mirror=True)
    m.part("top", "85984", PINK, "ear_{side}", 1, -6, facing="-z", mirror=True)
    return m


def zalika() -> Model:
    """Zebra-like striped horse with black mane, muzzle and hooves."""
    m = Model("Zalika", "A sturdy zebra-like horse, white with diagonal black stripes, a short "
              "upright black mane, a black muzzle, dark grey hooves and a tufted tail.",
              prefer_groups=["eye_left", "eye_right", "ear_left", "ear_right", "mane", "tail"])
    for z in (-6, 4):
        m.add(Box((1, 0, z), (3, 17, z + 2)), WHITE, "leg_{side}", mirror=True)
    m.add(Ellipsoid((0, 21, 0), (3.6, 8.5, 8)), WHITE, "body")
    m.add(Limb((0, 24, -5.5), (0, 31, -10.5), 2, 1.6), WHITE, "neck")
    m.add(Ellipsoid((0, 31, -12), (2, 5.5, 2.5)), WHITE, "head")
    m.add(Limb((0, 30, -12.5), (0, 24, -15.5), 1.5, 1.2), WHITE, "muzzle")
    m.add(Limb((0, 28, -4.5), (0, 35, -10), 0.9), BLACK, "mane")
    m.add(Limb((0, 24, 7.5), (0, 12, 10), 1), WHITE, "tail")
    for z in range(-12, 12, 3):
        m.paint(Slab((0, 20, z), (0, 1, 1), 0.55), BLACK, only=("body",), surface=True)
    for y in (5, 10, 25, 30, 36):
        m.paint(Slab((0, y, 0), (0, 1, 0), 0.5), BLACK, only=("leg", "neck", "head"),
                surface=True)
    m.paint(Box((-4, 0, -9), (4, 3, 9)), DBG, only=("leg",))
    m.paint(HalfSpace((0, 26, -14.5), (0, -0.6, -0.8)), BLACK, only=("muzzle",))
    m.paint(Box((-2, 8, 8), (2, 15, 12)), BLACK, only=("tail",))
    m.eyes(0, 31, facing="+x", z=-13)
    m.part("top", "3040b", WHITE, "ear_{side}", 1, -12, facing="+z", mirror=True)
    return m


def pheonix() -> Model:
    """Fire bird with wings spread wide in red, orange and yellow and a long tail."""
    m = Model("Pheonix", "A fiery phoenix standing tall with its wings raised and spread wide, "
              "red along the top fading through orange to yellow feather tips, a long flame "
              "tail, a yellow crest and beak.",
              prefer_groups=["crest", "beak", "eye_left", "eye_right", "wing_left",
                             "wing_right", "tail"])
    m.add(Box((1, 0, -3), (3, 3, 0)), YELLOW, "foot_{side}", mirror=True)
    m.add(Box((1, 3, -2), (2, 12, 0)), YELLOW, "leg_{side}", mirror=True)
    m.add(Ellipsoid((0, 21, 0), (3.2, 11, 3.2)), RED, "body")
    m.add(Ellipsoid((0, 36, -1), (2.4, 5.5, 2.4)), RED, "head")
    m.add(Box((-1, 33, -5.5), (1, 36, -1)), YELLOW, "beak")
    shoulder = (2.5, 29, 1)
    m.add(Limb(shoulder, (14, 46, 1.5), 1.6, 1.0), RED, "wing_{side}", mirror=True)
    m.add(Ellipsoid((8, 30, 1.2), (5.5, 8, 1.2)), RED, "wing_{side}", mirror=True)
    for start, end in (((6, 30, 1), (9, 18, 1.5)), ((9, 34, 1), (13, 22, 1.5)),
                       ((12, 39, 1.5), (16, 30, 1.5)), ((13, 43, 1.5), (18, 38, 1.5))):
        m.add(Limb(start, end, 1.4, 0.8), RED, "wing_{side}", mirror=True)
    down = (0.51, -0.86, 0)  # perpendicular to the wing's leading edge, pointing away
    for offset, colour in ((1.2, ORANGE), (2.8, BRIGHT_LIGHT_ORANGE), (4.6, YELLOW)):
        point = (shoulder[0] + offset * down[0], shoulder[1] + offset * down[1] / Y_SCALE, 0)
        m.paint(HalfSpace(point, down), colour, only=("wing",), mirror=True)
    m.add(Limb((0, 18, 2), (0, 3, 9), 1.6, 2.4), RED, "tail")
    m.paint(HalfSpace((0, 10, 5), (0, -0.7, 0.7)), ORANGE, only=("tail",))
    m.paint(HalfSpace((0, 6, 7), (0, -0.7, 0.7)), YELLOW, only=("tail",))
    m.paint(Ellipsoid((0, 22, -3), (2.2, 8, 1.5)), DARK_RED, only=("body",), surface=True)
    m.eyes(0, 36, facing="+x", z=-2)
    m.part("top", "3942c", YELLOW, "crest", -1, -2)
    m.part("top", "4589", ORANGE, "crest", 0, 0, mirror=True)
    return m


def elephant() -> Model:
    """Big grey elephant with huge ears, a long trunk and white tusks."""
    m = Model("Elephant", "A big light bluish grey elephant with thick round legs, huge dark "
              "grey ears, a long trunk reaching the ground, white tusks and a thin tail.",
              prefer_groups=["tusk_left", "tusk_right", "ear_left", "ear_right", "trunk",
                             "eye_left", "eye_right", "tail"])
    for z, name in ((-6, "front"), (5, "back")):
        m.add(Disc((3, z), (1.8, 1.8), (0, 19)), LBG, f"leg_{name}_{{side}}", mirror=True)
    m.add(Ellipsoid((0, 29, 0), (6, 12.5, 10)), LBG, "body")
    m.add(Ellipsoid((0, 34, -11), (4, 10, 3.8)), LBG, "head")
    m.add(Ellipsoid((5.5, 31, -10), (4.5, 12, 1)), DBG, "ear_{side}", mirror=True)
    m.add(Box((1, 26, -11), (5, 38, -9)), DBG, "ear_{side}", mirror=True)
    m.add(Limb((0, 29, -14), (0, 17, -15.5), 1.5, 1.3), LBG, "trunk")
    m.add(Limb((0, 17, -15.5), (0, 3, -15), 1.3, 1.1), LBG, "trunk")
    m.add(Limb((0, 3, -15), (0, 5, -17), 1), LBG, "trunk")
    m.add(Limb((0, 30, 10), (0, 18, 11.5), 0.7), LBG, "tail")
    m.eyes(2, 36)
    for number in ("3062b", "3062b", "6141"):
        m.part("under", number, WHITE, "tusk_{side}", 2, -13, 28, mirror=True)
    return m


def parrot() -> Model:
    """Scarlet macaw perched on a wooden stand."""
    m = Model("Parrot", "A colourful scarlet macaw perched on a reddish brown wooden stand, "
              "with a red body, yellow, green and blue wings, a long blue tail, a white face "
              "and a black beak.", bands="2p",
              prefer_groups=["beak", "eye_left", "eye_right", "tail", "wing_left", "wing_right"])
    m.add(Box((-5, 0, -4), (5, 2, 4)), DARK_TAN, "stand_base")
    m.add(Box((-1, 2, -1), (1, 20, 1)), REDDISH_BROWN, "stand_post")
    m.add(Box((-4, 20, -1), (4, 23, 1)), REDDISH_BROWN, "perch")
    m.cap(["perch", "stand"], top="none", bottom="none")
    m.add(Box((0, 23, -1), (2, 26, 1)), DBG, "foot_{side}", mirror=True)
    m.add(Ellipsoid((0, 34, 0), (2.6, 10, 2.6)), RED, "body")
    m.add(Ellipsoid((0, 45, -0.5), (2.1, 5.5, 2.2)), RED, "head")
    m.paint(Box((-3, 42, -4), (3, 48, -1.5)), WHITE, only=("head",), surface=True)
    m.add(Box((-1, 40, -5), (1, 46, -1)), BLACK, "beak")
    m.add(Ellipsoid((2.2, 34, 1), (0.9, 8, 2.2)), YELLOW, "wing_{side}", mirror=True)
    m.paint(Box((-4, 20, -4), (4, 33, 4)), GREEN, only=("wing",))
    m.paint(Box((-4, 20, -4), (4, 30, 4)), BLUE, only=("wing",))
    m.add(Box((-1, 8, 2), (1, 31, 4)), BLUE, "tail")
    m.paint(Box((-4, 0, -9), (4, 12, 9)), RED, only=("tail",))
    m.eyes(0, 46, facing="+x", z=-1)
    return m


def cat() -> Model:
    """Sitting orange tabby cat with pointed ears and a tail curled round its paws."""
    m = Model("Cat", "A sitting orange tabby cat with dark orange stripes, a white chest, "
              "muzzle and paws, pointed cone ears, lime eyes and a tail curled around its feet.",
              bands="1b 3p", prefer_groups=["ear_left", "ear_right", "eye_left", "eye_right",
                                            "tail", "leg_front_left", "leg_front_right"])
    m.add(Ellipsoid((0, 7, 2), (3.8, 8, 4)), ORANGE, "haunch")
    m.add(Ellipsoid((0, 17, 0.5), (2.8, 11, 2.8)), ORANGE, "body")
    m.add(Box((1, 0, -3), (2, 14, -1)), ORANGE, "leg_front_{side}", mirror=True)
    for y in (8, 14, 20, 32):
        m.paint(Slab((0, y, 0), (0, 1, 0.3), 0.45), DARK_ORANGE,
                only=("body", "haunch", "head", "leg"), surface=True)
    m.paint(Box((-3, 0, -5), (3, 3, 0)), WHITE, only=("leg",))
    m.paint(Box((-2, 8, -4), (2, 24, -1)), WHITE, only=("body",), surface=True)
    m.add(Ellipsoid((0, 30, -1), (3, 6.5, 2.8)), ORANGE, "head")
    m.add(Box((-1, 26, -5), (1, 29, -2)), WHITE, "muzzle")
    m.add(Limb((-3.5, 1.5, 4), (-4, 1.5, -2), 0.9), ORANGE, "tail")
    m.add(Limb((-3.5, 1.5, 4), (0, 1.5, 6.5), 0.9), ORANGE, "tail")
    m.eyes(1, 31, colour=LIME)
    m.part("top", "4589", ORANGE, "ear_{side}", 2, -1, mirror=True)
    return m


def scorpion() -> Model:
    """Scorpion: low segmented body, eight legs, big claws and a curled tail."""
    m = Model("Scorpion", "A dark red scorpion with eight reddish brown legs, two big pincers in "
              "front and a segmented tail raised and curled over its back ending in a black "
              "stinger.", bands="6p",
              prefer_groups=["stinger", "claw_left", "claw_right", "eye_left", "eye_right",
                             "tail"])
    m.add(Ellipsoid((0, 5, 0), (3, 3.5, 5.5)), DARK_RED, "body")
    for n, z in enumerate((-3, -1, 1, 3)):
        m.add(Box((1, 3, z), (5, 5, z + 1)), REDDISH_BROWN, f"leg{n + 1}_{{side}}", mirror=True)
        m.add(Box((4, 0, z), (5, 3, z + 1)), REDDISH_BROWN, f"leg{n + 1}_{{side}}", mirror=True)
    m.add(Limb((1.5, 5, -4.5), (3.5, 5.5, -8), 0.8), DARK_RED, "arm_{side}", mirror=True)
    m.add(Ellipsoid((3.5, 5.5, -10.5), (1.6, 3.5, 2.4)), DARK_RED, "claw_{side}", mirror=True)
    m.carve(Box((3, 0, -14), (4, 20, -10.5)), mirror=True)
    for a, b in (((0, 6, 4), (0, 14, 7)), ((0, 14, 7), (0, 24, 8)), ((0, 24, 8), (0, 30, 6)),
                 ((0, 30, 6), (0, 31, 3))):
        m.add(Limb(a, b, 1), DARK_RED, "tail")
    m.part("under", "3665a", BLACK, "stinger", -1, 2, 30, facing="-z")
    m.part("top", "98138", BLACK, "eye_{side}", 0, -4, mirror=True)
    return m


def obesobeso() -> Model:
    """A plump, round, bird-like creature with tiny wings, feet and a tuft."""
    m = Model("Obesobeso", "A plump round bird-like creature, a bright light yellow ball with a "
              "white belly, tiny yellow wings, an orange beak and feet, big eyes and a tuft.",
              prefer_groups=["beak", "eye_left", "eye_right", "tuft", "wing_left", "wing_right"])
    m.add(Box((0.5, 0, -5), (2.5, 3, -1)), ORANGE, "foot_{side}", mirror=True)
    m.add(Ellipsoid((0, 14, 0), (5.5, 13, 5.5)), BRIGHT_LIGHT_YELLOW, "body")
    m.carve(Box((-8, -1, -8), (8, 1, 8)))
    m.paint(Ellipsoid((0, 10, -3), (3.5, 8, 3)), WHITE, only=("body",), surface=True)
    m.add(Ellipsoid((5.2, 13, 1), (1, 4, 2)), YELLOW, "wing_{side}", mirror=True)
    m.add(Box((-1, 15, -7), (1, 18, -5)), ORANGE, "beak")
    m.eyes(1, 19, colour=BLACK)
    m.part("top", "4589", YELLOW, "tuft", 0, 0)
    return m


def bear() -> Model:
    """Big brown bear on all fours with a shoulder hump and round ears."""
    m = Model("Bear", "A big reddish brown bear on all fours with a shoulder hump, round ears, a "
              "medium nougat muzzle, a black nose and a stubby tail.",
              prefer_groups=["ear_left", "ear_right", "eye_left", "eye_right", "nose", "tail"])
    for z, name in ((-6, "front"), (4, "back")):
        m.add(Box((1, 0, z), (4.5, 13, z + 3)), REDDISH_BROWN, f"leg_{name}_{{side}}",
              mirror=True)
    m.add(Ellipsoid((0, 21, 0), (5, 10, 9.5)), REDDISH_BROWN, "body")
    m.add(Ellipsoid((0, 26, -4), (4.4, 8, 4)), REDDISH_BROWN, "hump")
    m.add(Ellipsoid((0, 23, -10.5), (3.4, 7.5, 3.2)), REDDISH_BROWN, "head")
    m.add(Box((-2, 18, -15), (2, 24, -12)), MEDIUM_NOUGAT, "muzzle")
    m.part("face", "3062b", BLACK, "nose", 0, 0, 22)
    m.part("face", "3062b", REDDISH_BROWN, "tail", 0, 0, 22, facing="+z")
    m.eyes(1, 25)
    m.part("top", "3941", REDDISH_BROWN, "ear_{side}", 2, -11, mirror=True)
    return m


def puppy() -> Model:
    """Small tan puppy with a big head, floppy brown ears and a raised tail."""
    m = Model("Puppy", "A small tan puppy with a big head, a white chest and muzzle, floppy "
              "dark brown ears, a black nose and a raised tail.", bands="2b 8p",
              prefer_groups=["ear_left", "ear_right", "eye_left", "eye_right", "nose", "tail"])
    for z in (-3, 2):
        m.add(Box((1, 0, z), (3, 6, z + 2)), TAN, "leg_{side}", mirror=True)
    m.add(Ellipsoid((0, 11, 0.5), (3, 7, 4.5)), TAN, "body")
    m.paint(Box((-3, 0, -5), (3, 14, -2)), WHITE, only=("body",), surface=True)
    m.add(Ellipsoid((0, 20, -4), (3.2, 7, 3)), TAN, "head")
    m.add(Box((-1, 15, -8), (1, 19, -4)), WHITE, "muzzle")
    m.add(Box((2, 13, -5), (4, 23, -3)), DARK_BROWN, "ear_{side}", mirror=True)
    m.add(Limb((0, 16, 4.5), (0, 23, 6.5), 0.8), TAN, "tail")
    m.part("top", "3069b", BLACK, "nose", -1, -8)
    m.eyes(1, 21)
    return m


ANIMALS: list[tuple[str, Callable[[], Model]]] = [
    ("01Gorilla", gorilla), ("02Unicorn", unicorn), ("03Mallard", mallard),
    ("04Turtle", turtle), ("05Whale", whale), ("06Bird", bird), ("07Owl", owl),
    ("08Sabertooth", sabertooth), ("09Swan", swan), ("10Sheep", sheep), ("11Pig", pig),
    ("12Zalika", zalika), ("13Pheonix", pheonix), ("14Elephant", elephant),
    ("15Parrot", parrot), ("16Cat", cat), ("17Scorpion", scorpion),
    ("18Obesobeso", obesobeso), ("19Bear", bear), ("20Puppy", puppy),
]


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def generate(category: str, factory: Callable[[], Model], out_dir: Path
             ) -> tuple[Report, list[Placement]]:
    """Build, check and write one scene; returns its report and checked placements."""
    model = factory()
    text = to_ldr(category, model, build(model))
    placements = parse_ldr(text)
    report = check_model(category, placements, model.prefer_groups)
    meta = to_yaml(category, model)
    loaded = yaml.safe_load(meta)
    if loaded["model"] != f"{category}.ldr" or loaded["missing"]["prefer_groups"] != \
            model.prefer_groups or loaded["description"] != model.description:
        raise ModelError(f"{category}: metadata does not survive a YAML round trip")
    (out_dir / f"{category}.ldr").write_text(text)
    (out_dir / f"{category}.yaml").write_text(meta)
    return report, placements


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate all scenes, print a summary table and optionally write previews."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=SCENES_DIR, help="scene directory")
    ap.add_argument("--preview", type=Path, help="also write preview PNGs into this directory")
    ap.add_argument("--only", nargs="*", default=[], help="categories to build (default all)")
    ap.add_argument("--ldraw", type=Path,
                    default=Path(os.environ.get("LDRAWDIR", DEFAULT_LDRAW_DIR)),
                    help="official LDraw library to verify the part catalogue against")
    args = ap.parse_args(argv)
    unknown = sorted(set(args.only) - {category for category, _ in ANIMALS})
    if unknown:
        ap.error(f"unknown categories: {', '.join(unknown)}")
    if (args.ldraw / "parts").is_dir():
        verify_catalogue(args.ldraw)
    else:
        print(f"note: no LDraw library at {args.ldraw}, part catalogue not cross-checked",
              file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    built, failed = [], []
    print(f"{'category':<14}{'parts':>6}{'colours':>8}{'groups':>7}   bbox (studs x, z; plates)")
    for category, factory in ANIMALS:
        if args.only and category not in args.only:
            continue
        try:
            report, placements = generate(category, factory, args.out)
        except ModelError as exc:
            failed.append(category)
            print(f"{category:<14} FAILED: {exc}", file=sys.stderr)
            continue
        sx, sz, h = report.size
        print(f"{category:<14}{report.parts:>6}{report.colours:>8}{report.groups:>7}   "
              f"{sx} x {sz} x {h} ({h / BRICK:.1f} bricks)")
        built.append((category, placements))
    if args.preview and built:
        write_previews(args.preview, built)
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
