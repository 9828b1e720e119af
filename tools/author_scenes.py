#!/usr/bin/env python3
"""Author the 20 MAD-Sim LEGO animal scenes as LDraw models.

The PAD benchmark's MAD-Sim dataset renders 20 LEGO animal toys.  This tool
regenerates brick-built versions of them from compact, readable descriptions
and writes ``scenes/<NNName>.ldr`` plus ``scenes/<NNName>.yaml`` for each one.

How it works
------------
1. **Description** - every animal is one function (see ``ANIMALS``) that builds
   a :class:`Model` out of solid shapes (ellipsoids, boxes, tapered limbs),
   each with an LDraw colour and a body-region *group* (``head``, ``leg_front_left``,
   ...).  Horizontal coordinates are in studs (20 LDU), heights in plates
   (8 LDU) above the ground; the animal faces -Z, +X is the animal's left.
   Later shapes overwrite earlier ones, ``paint`` recolours existing voxels
   (stripes, bellies, masks) and ``carve`` removes them.  Small details (eyes,
   horns, beaks, fangs) are explicit parts placed on the surface.
2. **Voxelisation** - the model declares horizontal *bands* (brick bands are 3
   plates, plate bands 1 plate).  Each shape is sampled at the centre of every
   (stud x stud x band) cell.
3. **Packing** - band by band, bottom to top, every (colour, group) region is
   covered greedily with the largest fitting rectangular parts, the preferred
   orientation and scan direction alternating between bands so that joints
   are staggered and parts interlock.  Exposed top edges of brick bands are
   capped with 45 degree slopes (overhanging lower edges with inverted slopes),
   exposed plate tops with tiles, and groups may ask for round 1x1 caps.
4. **Checks** - the written ``.ldr`` text is parsed back and verified with an
   occupancy grid at (stud, stud, plate) resolution: allowed parts/colours,
   Y-only rotations, no overlapping volume, every part joined to every other
   through stud connections (one component), model on the ground, centre of
   mass over its footprint, >= 60 parts, >= 3 colours and an ``eye`` group.
   Any failure raises :class:`ModelError`.
5. **Previews** (``--preview DIR``) - a small numpy z-buffer rasteriser draws
   front / side / top / three-quarter views of simplified part meshes.

Usage::

    python3 tools/author_scenes.py                 # write scenes/*.ldr|yaml
    python3 tools/author_scenes.py --preview /tmp/p # also write preview PNGs
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
BLACK, BLUE, GREEN, RED, DARK_PINK, BROWN = 0, 1, 2, 4, 5, 6
LIGHT_GREY, DARK_GREY, PINK, YELLOW, WHITE, TAN = 7, 8, 13, 14, 15, 19
ORANGE, MAGENTA, LIME, DARK_TAN, MEDIUM_LAVENDER, LAVENDER = 25, 26, 27, 28, 30, 31
REDDISH_BROWN, LBG, DBG, MEDIUM_BLUE, LIGHT_NOUGAT = 70, 71, 72, 73, 78
MEDIUM_NOUGAT, NOUGAT, BRIGHT_LIGHT_ORANGE, BRIGHT_LIGHT_YELLOW = 84, 92, 191, 226
DARK_BLUE, DARK_GREEN, DARK_BROWN, DARK_RED, MEDIUM_AZURE, DARK_ORANGE = 272, 288, 308, 320, 322, 484


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
    probe = Placement(number, colour, group, (10, -pdef.top - PLATE * pdef.height, 10), rot)
    cells = probe.cells()
    dx = x - min(c[0] for c in cells)
    dz = z - min(c[1] for c in cells)
    y = -PLATE * (bottom + pdef.height) - pdef.top
    return Placement(number, colour, group, (10 + STUD * dx, y, 10 + STUD * dz), rot)


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

    ``mode`` is ``at`` (absolute bottom level), ``top`` (resting on the highest
    thing in its footprint columns, optionally below ``level``), ``under``
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
        self.ops.append(_named(PartOp(mode, number, colour, group, mx, z, level, flipped), mx + 0.5))
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
        """Capping style for groups (prefix match): top slope|round|tile|none, bottom slope|none."""
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

    # -- helpers ------------------------------------------------------------
    def _group_id(self, name: str) -> int:
        if name not in self.groups:
            self.groups.append(name)
        return self.groups.index(name)

    def _grid_points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        nb, nx, nz = self.colour.shape
        y = np.array([bottom + h / 2 for bottom, h in self.bands])[:, None, None]
        x = (self.x0 + np.arange(nx) + 0.5)[None, :, None]
        z = (self.z0 + np.arange(nz) + 0.5)[None, None, :]
        return (np.broadcast_to(x, (nb, nx, nz)), np.broadcast_to(y, (nb, nx, nz)),
                np.broadcast_to(z, (nb, nx, nz)))

    def _surface(self) -> np.ndarray:
        filled = self.colour >= 0
        padded = np.pad(filled, 1)
        inner = np.ones_like(filled)
        for axis in range(3):
            for shift in (-1, 1):
                inner &= np.roll(padded, shift, axis=axis)[1:-1, 1:-1, 1:-1]
        return filled & ~inner

    def _matches(self, only: tuple[str, ...]) -> np.ndarray:
        if not only:
            return self.colour >= 0
        ids = [i for i, g in enumerate(self.groups) if g.startswith(only)]
        return np.isin(self.group, ids)

    def occupied(self, level: int, x: int, z: int) -> bool:
        """Whether plate level ``level`` at world cell (x, z) holds a voxel or a part."""
        if (level, x, z) in self.explicit:
            return True
        b = self.level_band.get(level)
        i, k = x - self.x0, z - self.z0
        if b is None or not (0 <= i < self.colour.shape[1] and 0 <= k < self.colour.shape[2]):
            return False
        return bool(self.colour[b, i, k] >= 0)

    def level_mask(self, level: int) -> np.ndarray:
        """Occupancy (voxels and explicit parts) of one plate level over the grid."""
        b = self.level_band.get(level)
        mask = self.colour[b] >= 0 if b is not None else np.zeros(self.colour.shape[1:], bool)
        for (lv, x, z) in self.explicit:
            if lv == level:
                mask[x - self.x0, z - self.z0] = True
        return mask

    # -- voxelisation ---------------------------------------------------------
    def voxelise(self) -> None:
        """Apply all shape operations to the voxel grid."""
        x, y, z = self._grid_points()
        for op in self.model.ops:
            if not isinstance(op, ShapeOp):
                continue
            inside = op.shape.contains(x, y, z)
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
        """Level just above the highest occupied level of a column (optionally under ``below``)."""
        start = below - 1 if below is not None else max(
            [max(self.level_band)] + [lv for lv, _, _ in self.explicit])
        for lv in range(start, -1, -1):
            if self.occupied(lv, x, z):
                return lv + 1
        raise ModelError(f"{self.model.name}: nothing to rest a part on at ({x}, {z})")

    def _face_cell(self, op: PartOp) -> tuple[int, int, int]:
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
                if op.mode == "at":
                    bottom = op.level
                elif op.mode == "top":
                    bottom = max(self._column_top(x, z, op.level) for x, z in cols)
                elif op.mode == "under":
                    lows = []
                    for x, z in cols:
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
                i, k = x - self.x0, z - self.z0
                if b is None or not (0 <= i < self.colour.shape[1] and 0 <= k < self.colour.shape[2]):
                    continue
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
        self._tops: dict[int, list[Placement]] = {}
        for p in placed:
            self._tops.setdefault(p.levels()[1], []).append(p)
        for b, (bottom, h) in enumerate(self.bands):
            key = np.where(self.colour[b] >= 0, self.colour[b] * 1000 + self.group[b], -1)
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
                cap_top = free & ~above & (style_top == "slope")
                out += self._slopes(b, key, free, cap_top, SLOPE_BY_WIDTH, "top")
                cap_bottom = free & ~below & (style_bottom == "slope")
                out += self._slopes(b, key, free, cap_bottom, INVERTED_BY_WIDTH, "bottom")
                rounds = free & ~above & below & (style_top == "round")
                out += self._singles(b, key, free, rounds, "3062b")
                out += self._cover(b, key, free, free.copy(), BRICK_SIZES)
            else:
                rounds = free & ~above & below & (style_top == "round")
                out += self._singles(b, key, free, rounds, "6141")
                tiles = free & ~above & below & np.isin(style_top, ["slope", "tile"])
                out += self._cover(b, key, free, tiles, TILE_SIZES)
                out += self._cover(b, key, free, free.copy(), PLATE_SIZES)
            for p in out:
                self._tops.setdefault(p.levels()[1], []).append(p)
            placed += out
        return placed

    def _decode(self, b: int, i: int, k: int) -> tuple[int, str]:
        return int(self.colour[b, i, k]), self.groups[self.group[b, i, k]]

    def _singles(self, b: int, key: np.ndarray, free: np.ndarray, mask: np.ndarray,
                 number: str) -> list[Placement]:
        out = []
        for i, k in zip(*np.nonzero(mask & free)):
            colour, group = self._decode(b, i, k)
            out.append(place_part(number, colour, group, int(i) + self.x0, int(k) + self.z0,
                                  self.bands[b][0]))
            free[i, k] = False
        return out

    def _slopes(self, b: int, key: np.ndarray, free: np.ndarray, cap: np.ndarray,
                widths: dict[int, str], where: str) -> list[Placement]:
        """Cap exposed edges: a front cell with open space beyond it and a back cell behind."""
        nx, nz = free.shape
        out = []
        while True:
            best = None
            for facing in ("-z", "+z", "-x", "+x"):
                dx, dz = DIRECTIONS[facing]
                for run in self._slope_runs(key, free, cap, dx, dz):
                    cand = (len(run), facing, run)
                    if best is None or cand[0] > best[0]:
                        best = cand
            if best is None:
                return out
            _, facing, run = best
            width = max(w for w in widths if w <= len(run))
            cells = run[:width]
            dx, dz = DIRECTIONS[facing]
            colour, group = self._decode(b, *cells[0])
            fronts = [(i, k) for i, k in cells]
            backs = [(i - dx, k - dz) for i, k in cells]
            for i, k in fronts + backs:
                free[i, k] = False
            xs = [c[0] for c in fronts + backs]
            zs = [c[1] for c in fronts + backs]
            out.append(place_part(widths[width], colour, group, min(xs) + self.x0,
                                  min(zs) + self.z0, self.bands[b][0], facing))

    @staticmethod
    def _slope_runs(key, free, cap, dx, dz) -> list[list[tuple[int, int]]]:
        nx, nz = free.shape
        ok = np.zeros_like(free)
        for i in range(nx):
            for k in range(nz):
                if not (cap[i, k] and free[i, k]):
                    continue
                oi, ok_ = i + dx, k + dz
                if 0 <= oi < nx and 0 <= ok_ < nz and key[oi, ok_] >= 0:
                    continue  # not an edge in this direction
                bi, bk = i - dx, k - dz
                if 0 <= bi < nx and 0 <= bk < nz and free[bi, bk] and key[bi, bk] == key[i, k]:
                    ok[i, k] = True
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
        """Greedily cover ``mask`` cells with rectangles of uniform key, largest first."""
        bottom = self.bands[b][0]
        along_x = b % 2 == 0
        reverse = (b // 2) % 2 == 1
        nx, nz = free.shape
        below_ids = self._below_ids(bottom)
        world = set()
        for (w, d) in sizes:
            world.add((w, d))
            world.add((d, w))
        order_i = range(nx - 1, -1, -1) if reverse else range(nx)
        order_k = range(nz - 1, -1, -1) if reverse else range(nz)
        step = -1 if reverse else 1
        cells = ([(i, k) for k in order_k for i in order_i] if along_x
                 else [(i, k) for i in order_i for k in order_k])
        out = []
        for i, k in cells:
            if not (mask[i, k] and free[i, k]):
                continue
            best = None
            for sx, sz in sorted(world):
                xs = range(i, i + step * sx, step)
                zs = range(k, k + step * sz, step)
                if not (0 <= xs[-1] < nx and 0 <= zs[-1] < nz):
                    continue
                region = [(a, c) for a in xs for c in zs]
                if not all(mask[a, c] and free[a, c] and key[a, c] == key[i, k] for a, c in region):
                    continue
                bridge = len({below_ids[a, c] for a, c in region} - {-1})
                pref = (sx >= sz) == along_x
                score = (sx * sz, bridge, pref, max(sx, sz))
                if best is None or score > best[0]:
                    best = (score, min(xs), min(zs), sx, sz, region)
            _, x, z, sx, sz, region = best
            for a, c in region:
                free[a, c] = False
            colour, group = self._decode(b, i, k)
            number = sizes.get((sx, sz)) or sizes[(sz, sx)]
            out.append(rect_placement(number, colour, group, x + self.x0, z + self.z0,
                                      sx, sz, bottom))
        return out

    def _below_ids(self, bottom: int) -> np.ndarray:
        """Index of the part whose top is at ``bottom`` per cell (-1: none), packed so far."""
        ids = np.full(self.colour.shape[1:], -1, dtype=np.int64)
        if bottom == 0:
            return ids
        for idx, p in enumerate(self._tops.get(bottom, [])):
            for x, z, stud, _ in p.cells():
                if stud:
                    ids[x - self.x0, z - self.z0] = idx
        return ids


def build(model: Model) -> list[Placement]:
    """Voxelise, detail and pack a model into placements (not yet checked)."""
    builder = Builder(model)
    builder.voxelise()
    builder.place_details()
    return builder.pack()


# --------------------------------------------------------------------------
# LDraw text
# --------------------------------------------------------------------------


def _num(v: float) -> str:
    """Format a number without trailing zeros (and without negative zero)."""
    if float(v).is_integer():
        return str(int(v) + 0)
    return f"{v:.4f}".rstrip("0").rstrip(".")


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
        nums = " ".join(_num(v) for v in (*p.pos, *p.rot))
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


def check_model(name: str, placements: Sequence[Placement], prefer_groups: Sequence[str] = ()
                ) -> Report:
    """Verify a model's parts, occupancy, connectivity and content; raise ModelError."""
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
    studs: dict[tuple[int, int, int], int] = {}
    footprints = []
    for idx, p in enumerate(placements):
        lo, hi = p.levels()
        cells = p.cells()
        footprints.append((lo, hi, cells))
        for x, z, stud, _ in cells:
            for lv in range(lo, hi):
                other = occupancy.setdefault((lv, x, z), idx)
                if other != idx:
                    q = placements[other]
                    errors.append(f"{p.number} ({p.group}) overlaps {q.number} ({q.group}) "
                                  f"at level {lv}, cell ({x}, {z})")
            if stud:
                studs[(hi, x, z)] = idx
    if errors:
        raise ModelError(f"{name}: " + "; ".join(errors[:10]))

    parent = list(range(len(placements)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for idx, (lo, _, cells) in enumerate(footprints):
        for x, z, _, take in cells:
            other = studs.get((lo, x, z)) if take else None
            if other is not None:
                parent[find(idx)] = find(other)
    roots: dict[int, list[int]] = {}
    for idx in range(len(placements)):
        roots.setdefault(find(idx), []).append(idx)
    if len(roots) > 1:
        comps = sorted(roots.values(), key=len, reverse=True)
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
            sub = next((root / d / name for d in ("parts", "p") if (root / d / name).exists()), None)
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
