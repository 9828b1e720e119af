"""LDraw colours: the ``LDConfig.ldr`` colour table, direct colours and the special codes.

- Code 16 (main colour) means "the caller's colour"; code 24 (edge colour) means "the caller's
  edge colour". Both are resolved while flattening (see :mod:`madgen.ldraw.geometry`).
- Direct colours are ``0x2RRGGBB`` (written in decimal or ``0x`` hex in the file).
- ``!COLOUR`` lines carry ``ALPHA``, ``LUMINANCE`` and a material keyword (``CHROME``,
  ``PEARLESCENT``, ``RUBBER``, ``MATTE_METALLIC``, ``METAL`` or ``MATERIAL ...``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import LDrawError, read_ldraw_text

MAIN_COLOUR = 16
EDGE_COLOUR = 24
DIRECT_COLOUR_FLAG = 0x2000000
#: The loud colour an unknown code renders in (magenta), so the mistake is seen.
FALLBACK_RGB = (1.0, 0.0, 1.0)

MATERIAL_KEYWORDS = ("CHROME", "PEARLESCENT", "RUBBER", "MATTE_METALLIC", "METAL")


def _hex_to_rgb(text: str) -> tuple[float, float, float]:
    value = text.lstrip("#")
    if len(value) != 6:
        raise ValueError(f"bad colour value {text!r}")
    number = int(value, 16)
    return ((number >> 16) & 255) / 255.0, ((number >> 8) & 255) / 255.0, (number & 255) / 255.0


def rgb_to_hex(rgb: tuple[float, float, float]) -> str:
    """Format an RGB triple in 0..1 as ``#RRGGBB``."""
    return "#" + "".join(f"{round(max(0.0, min(1.0, c)) * 255):02X}" for c in rgb)


def is_direct_colour(code: int) -> bool:
    """True for a direct colour ``0x2RRGGBB``."""
    return code & 0xF000000 == DIRECT_COLOUR_FLAG


def direct_colour_code(rgb: tuple[float, float, float]) -> int:
    """The direct colour code ``0x2RRGGBB`` for an RGB triple in 0..1."""
    r, g, b = (round(max(0.0, min(1.0, c)) * 255) for c in rgb)
    return DIRECT_COLOUR_FLAG | (r << 16) | (g << 8) | b


@dataclass(frozen=True)
class Colour:
    """One LDraw colour: its code, name, surface and edge RGB, and material."""

    code: int
    name: str
    rgb: tuple[float, float, float]
    edge_rgb: tuple[float, float, float]
    alpha: int = 255
    luminance: int = 0
    material: str = "SOLID"
    material_params: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def is_transparent(self) -> bool:
        """True when ALPHA is below 255."""
        return self.alpha < 255

    def to_dict(self) -> dict[str, object]:
        """A JSON-serialisable description."""
        return {
            "code": self.code,
            "name": self.name,
            "rgb": rgb_to_hex(self.rgb),
            "edge": rgb_to_hex(self.edge_rgb),
            "alpha": self.alpha,
            "luminance": self.luminance,
            "material": self.material,
            "material_params": dict(self.material_params),
        }


def _contrasting_edge(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    luma = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    return (0.2, 0.2, 0.2) if luma > 0.2 else (0.5, 0.5, 0.5)


class ColourTable:
    """The colours of one ``LDConfig.ldr``, with direct-colour and fallback handling."""

    def __init__(self, colours: dict[int, Colour] | None = None, source: Path | None = None) -> None:
        self._colours: dict[int, Colour] = dict(colours or {})
        self.source = source

    def __len__(self) -> int:
        return len(self._colours)

    def __contains__(self, code: object) -> bool:
        return code in self._colours or (isinstance(code, int) and is_direct_colour(code))

    def codes(self) -> list[int]:
        """All table codes, sorted."""
        return sorted(self._colours)

    def get(self, code: int) -> Colour | None:
        """The colour for ``code`` (table entry or direct colour), or None if unknown."""
        colour = self._colours.get(code)
        if colour is None and is_direct_colour(code):
            rgb = (((code >> 16) & 255) / 255.0, ((code >> 8) & 255) / 255.0, (code & 255) / 255.0)
            colour = Colour(code, f"Direct_{code & 0xFFFFFF:06X}", rgb, _contrasting_edge(rgb))
        return colour

    def resolve(self, code: int) -> Colour:
        """The colour for ``code``; unknown codes get the loud magenta fallback."""
        colour = self.get(code)
        if colour is None:
            return Colour(code, f"Unknown_{code}", FALLBACK_RGB, (0.0, 0.0, 0.0))
        return colour

    def edge_code(self, code: int) -> int:
        """The code that stands for the edge colour of ``code`` (a direct colour)."""
        colour = self.get(code)
        if colour is None:
            return EDGE_COLOUR
        return direct_colour_code(colour.edge_rgb)

    @classmethod
    def from_file(cls, path: Path) -> "ColourTable":
        """Parse an ``LDConfig.ldr``; a malformed ``!COLOUR`` line raises :class:`LDrawError`."""
        text = read_ldraw_text(path)
        pending_edges: list[tuple[int, int, int]] = []  # (code, edge code, line number)
        colours: dict[int, Colour] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            tokens = line.split()
            if len(tokens) < 2 or tokens[0] != "0" or tokens[1] != "!COLOUR":
                continue
            colour, edge_ref = _parse_colour_line(tokens, path, number)
            colours[colour.code] = colour
            if edge_ref is not None:
                pending_edges.append((colour.code, edge_ref, number))
        for code, edge_ref, number in pending_edges:
            target = colours.get(edge_ref)
            if target is None:
                raise LDrawError(f"EDGE refers to unknown colour {edge_ref}", path, number)
            colours[code] = replace(colours[code], edge_rgb=target.rgb)
        return cls(colours, source=path)


def _parse_colour_line(tokens: list[str], path: Path, number: int) -> tuple[Colour, int | None]:
    """Parse ``0 !COLOUR name CODE n VALUE v EDGE e [ALPHA a] [LUMINANCE l] [material]``."""
    if len(tokens) < 3:
        raise LDrawError("!COLOUR line has no name", path, number)
    name = tokens[2]
    fields: dict[str, str] = {}
    material = "SOLID"
    params: dict[str, str] = {}
    index = 3
    try:
        while index < len(tokens):
            key = tokens[index].upper()
            if key in ("CODE", "VALUE", "EDGE", "ALPHA", "LUMINANCE"):
                fields[key] = tokens[index + 1]
                index += 2
            elif key in MATERIAL_KEYWORDS:
                material = key
                index += 1
            elif key == "MATERIAL":
                material = tokens[index + 1].upper() if index + 1 < len(tokens) else "MATERIAL"
                rest = tokens[index + 2 :]
                for key_pos in range(0, len(rest) - 1, 2):
                    params[rest[key_pos].upper()] = rest[key_pos + 1]
                index = len(tokens)
            else:
                raise LDrawError(f"unknown !COLOUR keyword {tokens[index]!r}", path, number)
        code = int(fields["CODE"])
        rgb = _hex_to_rgb(fields["VALUE"])
        edge_text = fields["EDGE"]
        alpha = int(fields.get("ALPHA", "255"))
        luminance = int(fields.get("LUMINANCE", "0"))
    except KeyError as missing:
        raise LDrawError(f"!COLOUR {name} lacks {missing.args[0]}", path, number) from None
    except (ValueError, IndexError) as exc:
        raise LDrawError(f"malformed !COLOUR line ({exc})", path, number) from None
    if not 0 <= alpha <= 255 or not 0 <= luminance <= 255:
        raise LDrawError("ALPHA and LUMINANCE must be within 0..255", path, number)
    edge_ref: int | None = None
    if edge_text.startswith("#"):
        try:
            edge_rgb = _hex_to_rgb(edge_text)
        except ValueError:
            raise LDrawError(f"malformed EDGE value {edge_text!r}", path, number) from None
    else:
        try:
            edge_ref = int(edge_text)
        except ValueError:
            raise LDrawError(f"malformed EDGE value {edge_text!r}", path, number) from None
        edge_rgb = rgb if edge_ref == code else (0.0, 0.0, 0.0)
        if edge_ref == code:
            edge_ref = None
    return Colour(code, name, rgb, edge_rgb, alpha, luminance, material, params), edge_ref
