"""Parse LDraw text (``.ldr``, ``.dat``, ``.mpd``, ``.l3b``; LDraw 1.0.2) into :class:`LDrawFile` records.

One pass over the lines handles:

- line types 0-5 (comments and meta commands, sub-file references, lines, triangles, quads,
  optional lines);
- MPD containers (``0 FILE`` / ``0 NOFILE``): every embedded file becomes its own record;
- BFC (``CERTIFY``/``NOCERTIFY``/``CW``/``CCW``/``CLIP``/``NOCLIP``/``INVERTNEXT``): polygons of a
  certified file are stored in counter-clockwise order, so the right-handed cross product
  ``(v1 - v0) x (v2 - v0)`` points to the front;
- the header (title, ``Name:``, ``!LDRAW_ORG`` type, ``~Moved to``) and grouping metas
  (``0 MLCAD BTG name``, ``0 !LEOCAD GROUP BEGIN name``/``END``).

Tool-specific metas (``STEP``, ``ROTSTEP``, ``!LPUB``, ``!LDCAD``, ...) are ignored;
``!TEXMAP`` and ``!DATA`` are skipped with one warning per file (the fallback geometry of a
texture map is kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import LDrawError, LDrawWarning

_FIELDS_PER_LINE_TYPE = {1: 15, 2: 8, 3: 11, 4: 14, 5: 14}
#: ``!LDRAW_ORG`` types whose files are parts (placed as one instance), not models.
_PART_TYPES = frozenset(
    prefix + kind
    for prefix in ("", "unofficial_")
    for kind in ("part", "shortcut", "subpart", "primitive", "8_primitive", "48_primitive")
)


@dataclass(frozen=True)
class SubfileReference:
    """A type-1 line: place ``name`` with ``colour`` under the 4x4 ``matrix``."""

    line: int
    colour: int
    matrix: np.ndarray
    name: str
    invert: bool = False
    cull: bool = True
    group: str | None = None


@dataclass
class LDrawFile:
    """One parsed LDraw file (or one embedded file of an MPD)."""

    source: str
    name: str
    title: str = ""
    org_type: str = ""
    moved_to: str | None = None
    certified: bool = False
    triangles: np.ndarray = field(default_factory=lambda: np.zeros((0, 3, 3)))
    triangle_colours: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    triangle_cull: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    triangle_lines: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    edges: np.ndarray = field(default_factory=lambda: np.zeros((0, 2, 3)))
    edge_colours: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    optional_lines: np.ndarray = field(default_factory=lambda: np.zeros((0, 4, 3)))
    optional_colours: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    references: list[SubfileReference] = field(default_factory=list)
    warnings: list[LDrawWarning] = field(default_factory=list)

    @property
    def is_part(self) -> bool:
        """True when the header declares a part, subpart, shortcut or primitive."""
        return self.org_type.lower() in _PART_TYPES

    @property
    def has_geometry(self) -> bool:
        """True when the file draws anything itself or references anything."""
        return bool(len(self.triangles) or len(self.edges) or self.references)


@dataclass
class LDrawDocument:
    """A file on disk: one :class:`LDrawFile`, or every embedded file of an MPD (main first)."""

    path: str
    files: list[LDrawFile]
    mpd: bool = False
    _embedded: dict[str, LDrawFile] | None = field(default=None, repr=False, compare=False)

    @property
    def main(self) -> LDrawFile:
        """The main model: the only file, or the first ``0 FILE`` of an MPD."""
        return self.files[0]

    @property
    def is_mpd(self) -> bool:
        """True when the text used ``0 FILE`` containers."""
        return self.mpd

    def embedded(self) -> dict[str, LDrawFile]:
        """Embedded files of an MPD by normalised name (lower case, forward slashes); empty otherwise."""
        if self._embedded is None:
            self._embedded = {}
            if self.is_mpd:
                for ldraw_file in self.files:
                    self._embedded.setdefault(normalise_name(ldraw_file.name), ldraw_file)
        return self._embedded


def normalise_name(name: str) -> str:
    """The lookup key of a file reference: lower case, forward slashes, trimmed."""
    return name.strip().replace("\\", "/").lower()


def parse_colour_code(token: str) -> int:
    """Parse a colour token: decimal, or hexadecimal ``0x2RRGGBB``."""
    if token[:2] in ("0x", "0X"):
        return int(token[2:], 16)
    if token[:1] == "#":
        return int(token[1:], 16)
    return int(token)


class _FileBuilder:
    """Accumulates one file's lines while the BFC and grouping state machine runs."""

    def __init__(self, source: str, name: str, strict: bool) -> None:
        self.source = source
        self.name = name
        self.strict = strict
        self.title: str | None = None
        self.org_type = ""
        self.moved_to: str | None = None
        self.certified: bool | None = None
        self.ccw = True
        self.clip = True
        self.invert_next = False
        self.geometry_seen = False
        self.pending_group: str | None = None
        self.group_stack: list[str] = []
        self.skip_data = False
        self.warned: set[str] = set()
        self.triangles: list[list[float]] = []
        self.triangle_colours: list[int] = []
        self.triangle_cull: list[bool] = []
        self.triangle_lines: list[int] = []
        self.edges: list[list[float]] = []
        self.edge_colours: list[int] = []
        self.optional_lines: list[list[float]] = []
        self.optional_colours: list[int] = []
        self.references: list[SubfileReference] = []
        self.warnings: list[LDrawWarning] = []

    # -- diagnostics -----------------------------------------------------------------------
    def warn(self, message: str, line: int, once_key: str | None = None) -> None:
        if once_key is not None:
            if once_key in self.warned:
                return
            self.warned.add(once_key)
        self.warnings.append(LDrawWarning(message, self.source, line))

    def malformed(self, message: str, line: int) -> None:
        if self.strict:
            raise LDrawError(message, self.source, line)
        self.warn(f"{message}; line skipped", line)

    # -- meta commands -----------------------------------------------------------------------
    def meta(self, line: str, number: int) -> None:
        tokens = line.split()
        if self.title is None:
            self.title = line[1:].strip()
            if len(tokens) >= 4 and tokens[1].lower() == "~moved" and tokens[2].lower() == "to":
                self.moved_to = tokens[3]
        if len(tokens) < 2:
            return
        command = tokens[1]
        upper = command.upper()
        if upper == "BFC":
            self.bfc(tokens[2:], number)
        elif upper == "!LDRAW_ORG":
            self.org_type = tokens[2] if len(tokens) > 2 else ""
        elif command == "Name:":
            self.name = line.split("Name:", 1)[1].strip() or self.name
        elif upper == "MLCAD" and len(tokens) >= 4 and tokens[2].upper() == "BTG":
            self.pending_group = " ".join(tokens[3:])
        elif upper == "!LEOCAD" and len(tokens) >= 4 and tokens[2].upper() == "GROUP":
            if tokens[3].upper() == "BEGIN":
                self.group_stack.append(" ".join(tokens[4:]) or "group")
            elif tokens[3].upper() == "END" and self.group_stack:
                self.group_stack.pop()
        elif upper == "!TEXMAP":
            self.warn("texture mapping (!TEXMAP) is not supported; the fallback geometry is used",
                      number, "texmap")
        elif upper == "!DATA":
            self.warn("embedded !DATA blocks are skipped", number, "data")
            self.skip_data = True

    def bfc(self, words: list[str], number: int) -> None:
        words = [word.upper() for word in words]
        if not words:
            self.warn("empty BFC statement ignored", number)
            return
        known = {"CERTIFY", "NOCERTIFY", "CW", "CCW", "CLIP", "NOCLIP", "INVERTNEXT"}
        unknown = [word for word in words if word not in known]
        if unknown:
            self.warn(f"unknown BFC keyword {unknown[0]!r} ignored", number)
        if "CERTIFY" in words:
            if self.geometry_seen and self.certified is None:
                self.warn("BFC CERTIFY after the first geometry line", number)
            if self.certified is False:
                self.warn("BFC CERTIFY after NOCERTIFY ignored", number)
            else:
                self.certified = True
        if "NOCERTIFY" in words:
            if self.certified:
                self.warn("BFC NOCERTIFY after CERTIFY; the file is treated as uncertified", number)
            self.certified = False
        if "CW" in words:
            self.ccw = False
        if "CCW" in words:
            self.ccw = True
        if "NOCLIP" in words:
            self.clip = False
        elif "CLIP" in words:
            self.clip = True
        if "INVERTNEXT" in words:
            self.invert_next = True

    # -- geometry ---------------------------------------------------------------------------
    def group(self) -> str | None:
        if self.pending_group is not None:
            return self.pending_group
        return self.group_stack[-1] if self.group_stack else None

    def geometry(self, line: str, line_type: int, number: int) -> None:
        expected = _FIELDS_PER_LINE_TYPE[line_type]
        tokens = line.split(None, 14) if line_type == 1 else line.split()
        if len(tokens) != expected:
            self.malformed(f"line type {line_type} needs {expected - 1} fields, found {len(tokens) - 1}",
                           number)
            return
        try:
            colour = parse_colour_code(tokens[1])
            values = [float(token) for token in tokens[2:expected if line_type != 1 else 14]]
        except ValueError:
            self.malformed(f"line type {line_type} has a non-numeric field", number)
            return
        self.geometry_seen = True
        group = self.group()
        self.pending_group = None
        if line_type == 1:
            name = tokens[14].strip()
            if not name:
                self.malformed("type 1 line has no file name", number)
                return
            x, y, z, a, b, c, d, e, f, g, h, i = values
            matrix = np.array([[a, b, c, x], [d, e, f, y], [g, h, i, z], [0.0, 0.0, 0.0, 1.0]])
            self.references.append(SubfileReference(number, colour, matrix, name, self.invert_next,
                                                    self.clip, group))
            self.invert_next = False
            return
        if self.invert_next:
            self.warn("BFC INVERTNEXT not followed by a type 1 line", number)
            self.invert_next = False
        if line_type == 2:
            self.edges.append(values)
            self.edge_colours.append(colour)
        elif line_type == 5:
            self.optional_lines.append(values)
            self.optional_colours.append(colour)
        else:
            if line_type == 3:
                polygons = [values] if self.ccw else [values[0:3] + values[6:9] + values[3:6]]
            else:
                v0, v1, v2, v3 = values[0:3], values[3:6], values[6:9], values[9:12]
                if self.ccw:
                    polygons = [v0 + v1 + v2, v0 + v2 + v3]
                else:
                    polygons = [v0 + v2 + v1, v0 + v3 + v2]
            for polygon in polygons:
                self.triangles.append(polygon)
                self.triangle_colours.append(colour)
                self.triangle_cull.append(self.clip)
                self.triangle_lines.append(number)

    def build(self) -> LDrawFile:
        certified = bool(self.certified)
        references = self.references
        if not certified:
            references = [
                SubfileReference(r.line, r.colour, r.matrix, r.name, r.invert, False, r.group)
                for r in references
            ]
        cull = np.array(self.triangle_cull, bool) & certified
        return LDrawFile(
            source=self.source,
            name=self.name,
            title=self.title or "",
            org_type=self.org_type,
            moved_to=self.moved_to,
            certified=certified,
            triangles=np.array(self.triangles, np.float64).reshape(-1, 3, 3),
            triangle_colours=np.array(self.triangle_colours, np.int64),
            triangle_cull=cull.reshape(-1),
            triangle_lines=np.array(self.triangle_lines, np.int64),
            edges=np.array(self.edges, np.float64).reshape(-1, 2, 3),
            edge_colours=np.array(self.edge_colours, np.int64),
            optional_lines=np.array(self.optional_lines, np.float64).reshape(-1, 4, 3),
            optional_colours=np.array(self.optional_colours, np.int64),
            references=references,
            warnings=self.warnings,
        )


def parse_ldraw(text: str, source: str, *, strict: bool = True) -> LDrawDocument:
    """Parse LDraw text into a document; ``source`` names the file in messages.

    With ``strict`` (the default) a malformed line raises :class:`LDrawError` naming the file and
    line; otherwise it is skipped with a warning.
    """
    default_name = Path(source).name
    files: list[LDrawFile] = []
    builder: _FileBuilder | None = _FileBuilder(source, default_name, strict)
    seen_file_command = False
    stray_lines = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        head = line[0]
        if head == "0":
            tokens = line.split(None, 2)
            command = tokens[1].upper() if len(tokens) > 1 else ""
            if command == "FILE":
                if not seen_file_command:
                    seen_file_command = True
                    if builder is not None and builder.geometry_seen:
                        stray_lines += 1
                elif builder is not None:
                    files.append(builder.build())
                name = tokens[2].strip() if len(tokens) > 2 else ""
                if not name:
                    raise LDrawError("0 FILE without a name", source, number)
                builder = _FileBuilder(source, name, strict)
                builder.name = name
                continue
            if command == "NOFILE":
                if builder is not None and seen_file_command:
                    files.append(builder.build())
                    builder = None
                continue
            if builder is None:
                continue
            if builder.skip_data:
                if line.startswith("0 !:"):
                    continue
                builder.skip_data = False
            builder.meta(line, number)
            continue
        if builder is None:
            stray_lines += 1
            continue
        if len(line) < 2 or head not in "12345" or not line[1].isspace():
            builder.malformed(f"unknown line type {line.split()[0]!r}", number)
            continue
        builder.geometry(line, ord(head) - 48, number)
    if builder is not None:
        files.append(builder.build())
    if not files:
        files.append(_FileBuilder(source, default_name, strict).build())
    if stray_lines:
        files[0].warnings.append(LDrawWarning(
            f"{stray_lines} geometry line(s) outside any 0 FILE block ignored", source))
    return LDrawDocument(source, files, mpd=seen_file_command)
