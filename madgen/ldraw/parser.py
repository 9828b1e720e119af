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
from itertools import chain
from pathlib import Path

import numpy as np

from .errors import LDrawError, LDrawWarning

_FIELDS_PER_LINE_TYPE = {1: 15, 2: 8, 3: 11, 4: 14, 5: 14}
#: Colour codes are stored as int64.
_MIN_CODE, _MAX_CODE = -(2 ** 63), 2 ** 63 - 1
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
    #: The number of the file's first type 2-5 line (0 when it has none).
    geometry_line: int = 0

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
    """Accumulates one file's lines while the BFC and grouping state machine runs.

    Type 2-5 lines are collected as text while the file is read (triangles and quads with the
    BFC winding and clipping in force) and converted in bulk when the file ends: a few calls for
    the whole file instead of a dozen per line. A malformed line is still reported with its
    number, and a strict parse fails on the first one in the file.
    """

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
        self.state = (True, True)
        self.invert_next = False
        self.pending_group: str | None = None
        self.group_stack: list[str] = []
        self.skip_data = False
        self.warned: set[str] = set()
        #: Type 2-5 lines not yet converted: text, line number, and (types 3, 4) the (ccw, clip) state.
        self.pending: dict[int, list[str]] = {2: [], 3: [], 4: [], 5: []}
        self.pending_numbers: dict[int, list[int]] = {2: [], 3: [], 4: [], 5: []}
        self.pending_states: dict[int, list[tuple[bool, bool]]] = {3: [], 4: []}
        #: Converted type 2-5 lines: blocks of (line numbers, colours, values, states) in file order.
        self.blocks: dict[int, list[_Block]] = {2: [], 3: [], 4: [], 5: []}
        self.valid_geometry = False
        self.reference_rows: list[tuple[int, int, str, bool, bool, str | None]] = []
        self.reference_values: list[float] = []
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
            self.flush()  # a malformed line still pending comes first in the file
            raise LDrawError(message, self.source, line)
        self.warn(f"{message}; line skipped", line)

    @property
    def geometry_seen(self) -> bool:
        """True once a well-formed geometry line (type 1-5) has been read."""
        if not self.valid_geometry and any(self.pending.values()):
            self.flush()
        return self.valid_geometry

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
            if self.certified is None and self.geometry_seen:
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
        self.state = (self.ccw, self.clip)

    # -- geometry ---------------------------------------------------------------------------
    def group(self) -> str | None:
        if self.pending_group is not None:
            return self.pending_group
        return self.group_stack[-1] if self.group_stack else None

    def reference(self, line: str, number: int) -> None:
        """A type 1 line, checked and stored at once (the BFC and group state applies to it)."""
        tokens = line.split(None, 14)
        if len(tokens) != 15:
            self.malformed(f"line type 1 needs 14 fields, found {len(tokens) - 1}", number)
            return
        try:
            colour = parse_colour_code(tokens[1])
            values = [float(token) for token in tokens[2:14]]
        except ValueError:
            self.malformed("line type 1 has a non-numeric field", number)
            return
        self.valid_geometry = True
        group = self.group()
        self.pending_group = None
        name = tokens[14].strip()
        if not name:
            self.malformed("type 1 line has no file name", number)
            return
        self.reference_rows.append((number, colour, name, self.invert_next, self.clip, group))
        self.reference_values.extend(values)
        self.invert_next = False

    def add(self, line: str, line_type: int, number: int) -> None:
        """Collect a type 2-5 line (converted later, in bulk)."""
        if self.invert_next:
            # checked now: a malformed line leaves INVERTNEXT waiting for the next type 1 line
            try:
                _line_values(line, line_type)
            except LDrawError as error:
                self.malformed(error.reason, number)
                return
            self.warn("BFC INVERTNEXT not followed by a type 1 line", number)
            self.invert_next = False
        self.pending_group = None
        self.pending[line_type].append(line)
        self.pending_numbers[line_type].append(number)
        if line_type == 3 or line_type == 4:
            self.pending_states[line_type].append(self.state)

    def flush(self) -> None:
        """Convert the collected type 2-5 lines; a malformed one is an error or a warning."""
        bad: list[tuple[int, str]] = []
        for line_type, lines in self.pending.items():
            if not lines:
                continue
            numbers = self.pending_numbers[line_type]
            states = self.pending_states.get(line_type)
            converted = _convert_lines(lines, line_type)
            if converted is None:  # some line is malformed: go line by line to find which
                keep, colour_list, rows = [], [], []
                for position, line in enumerate(lines):
                    try:
                        colour, row = _line_values(line, line_type)
                    except LDrawError as error:
                        bad.append((numbers[position], error.reason))
                        continue
                    keep.append(position)
                    colour_list.append(colour)
                    rows.append(row)
                width = _FIELDS_PER_LINE_TYPE[line_type] - 2
                converted = (np.array(colour_list, np.int64), np.array(rows, np.float64).reshape(-1, width))
                numbers = [numbers[i] for i in keep]
                if states is not None:
                    states = [states[i] for i in keep]
            if numbers:
                self.valid_geometry = True
                state_array = np.array(states, bool).reshape(-1, 2) if states is not None else None
                self.blocks[line_type].append(
                    _Block(np.array(numbers, np.int64), converted[0], converted[1], state_array))
            lines.clear()
            self.pending_numbers[line_type].clear()
            if line_type in self.pending_states:
                self.pending_states[line_type].clear()
        for number, reason in sorted(bad):
            self.malformed(reason, number)

    def joined(self, line_type: int) -> _Block:
        """All converted lines of one type."""
        blocks = self.blocks[line_type]
        if len(blocks) == 1:
            return blocks[0]
        width = _FIELDS_PER_LINE_TYPE[line_type] - 2
        states = np.zeros((0, 2), bool) if line_type in (3, 4) else None
        if not blocks:
            return _Block(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, width)), states)
        return _Block(np.concatenate([b.numbers for b in blocks]), np.concatenate([b.colours for b in blocks]),
                      np.concatenate([b.values for b in blocks]),
                      np.concatenate([b.states for b in blocks]) if states is not None else None)

    def build(self) -> LDrawFile:
        self.flush()
        certified = bool(self.certified)
        triangles, colours, clip, lines = _triangles(self.joined(3), self.joined(4))
        edges, optional = self.joined(2), self.joined(5)
        count = len(self.reference_rows)
        matrices = np.zeros((count, 4, 4))
        if count:
            values = np.array(self.reference_values, np.float64).reshape(count, 12)
            matrices[:, :3, :3] = values[:, 3:].reshape(count, 3, 3)
            matrices[:, :3, 3] = values[:, :3]
            matrices[:, 3, 3] = 1.0
        references = [
            SubfileReference(number, colour, matrices[index], name, invert, clip_on and certified, group)
            for index, (number, colour, name, invert, clip_on, group) in enumerate(self.reference_rows)
        ]
        firsts = [int(numbers.min()) for numbers in (lines, edges.numbers, optional.numbers) if len(numbers)]
        return LDrawFile(
            source=self.source,
            name=self.name,
            title=self.title or "",
            org_type=self.org_type,
            moved_to=self.moved_to,
            certified=certified,
            triangles=triangles,
            triangle_colours=colours,
            triangle_cull=clip & certified,
            triangle_lines=lines,
            edges=edges.values.reshape(-1, 2, 3),
            edge_colours=edges.colours,
            optional_lines=optional.values.reshape(-1, 4, 3),
            optional_colours=optional.colours,
            references=references,
            warnings=sorted(self.warnings, key=lambda warning: warning.line),
            geometry_line=min(firsts) if firsts else 0,
        )


@dataclass
class _Block:
    """Converted type 2-5 lines: line numbers, colour codes, (N, fields) values, (ccw, clip) states."""

    numbers: np.ndarray
    colours: np.ndarray
    values: np.ndarray
    states: np.ndarray | None


def _line_values(line: str, line_type: int) -> tuple[int, list[float]]:
    """Colour and coordinates of one type 2-5 line; :class:`LDrawError` (no location) if malformed."""
    expected = _FIELDS_PER_LINE_TYPE[line_type]
    tokens = line.split()
    if len(tokens) != expected:
        raise LDrawError(f"line type {line_type} needs {expected - 1} fields, found {len(tokens) - 1}")
    try:
        colour = parse_colour_code(tokens[1])
        values = [float(token) for token in tokens[2:]]
    except ValueError:
        raise LDrawError(f"line type {line_type} has a non-numeric field") from None
    if not _MIN_CODE <= colour <= _MAX_CODE:
        raise LDrawError(f"line type {line_type} has a colour code out of range")
    return colour, values


def _convert_lines(lines: list[str], line_type: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Colours and (N, fields) coordinates of well-formed lines in bulk; None if any is malformed."""
    expected = _FIELDS_PER_LINE_TYPE[line_type]
    split = [line.split() for line in lines]
    if set(map(len, split)) != {expected}:
        return None
    flat = list(chain.from_iterable(split))
    try:
        colours = np.array(list(map(int, flat[1::expected])), np.int64)
        values = np.array(list(map(float, flat)), np.float64).reshape(-1, expected)
    except (ValueError, OverflowError):  # hexadecimal colours, a bad field: line by line
        return None
    return colours, np.ascontiguousarray(values[:, 2:])


def _triangles(tris: _Block, quads: _Block) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Triangles (quads split in two) in counter-clockwise order, in file order, with colours,
    clipping flags and source lines."""
    corners = tris.values.reshape(-1, 3, 3)
    assert tris.states is not None and quads.states is not None
    clockwise = ~tris.states[:, 0]
    if clockwise.any():
        corners = corners.copy()
        corners[clockwise] = corners[clockwise][:, [0, 2, 1]]
    if not len(quads.numbers):
        return corners, tris.colours, tris.states[:, 1].copy(), tris.numbers
    points = quads.values.reshape(-1, 4, 3)
    first, second = points[:, [0, 1, 2]], points[:, [0, 2, 3]]
    clockwise = ~quads.states[:, 0]
    if clockwise.any():
        first[clockwise] = points[clockwise][:, [0, 2, 1]]
        second[clockwise] = points[clockwise][:, [0, 3, 2]]
    halves = np.stack([first, second], axis=1).reshape(-1, 3, 3)
    halves_colours = np.repeat(quads.colours, 2)
    halves_clip = np.repeat(quads.states[:, 1], 2)
    halves_lines = np.repeat(quads.numbers, 2)
    if not len(tris.numbers):
        return halves, halves_colours, halves_clip, halves_lines
    keys = np.concatenate([tris.numbers * 2, halves_lines * 2 + np.tile([0, 1], len(quads.numbers))])
    order = np.argsort(keys, kind="stable")
    return (np.concatenate([corners, halves])[order], np.concatenate([tris.colours, halves_colours])[order],
            np.concatenate([tris.states[:, 1], halves_clip])[order],
            np.concatenate([tris.numbers, halves_lines])[order])


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
        if head == "1":
            builder.reference(line, number)
        else:
            builder.add(line, ord(head) - 48, number)
    if builder is not None:
        files.append(builder.build())
    if not files:
        files.append(_FileBuilder(source, default_name, strict).build())
    if stray_lines:
        files[0].warnings.append(LDrawWarning(
            f"{stray_lines} geometry line(s) outside any 0 FILE block ignored", source))
    return LDrawDocument(source, files, mpd=seen_file_command)
