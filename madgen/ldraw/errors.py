"""LDraw errors and warnings, each naming the file and line they come from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import MadgenError


def _where(path: Path | str | None, line: int | None) -> str:
    if path is None:
        return ""
    return f"{path}:{line}: " if line else f"{path}: "


class LDrawError(MadgenError):
    """A problem in an LDraw file: malformed line, missing file, cycle, escaping reference."""

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None) -> None:
        super().__init__(f"{_where(path, line)}{message}")
        self.path = path
        self.line = line
        self.reason = message


class MissingPartsError(LDrawError):
    """One or more referenced files could not be found in any library root."""

    def __init__(self, missing: dict[str, tuple[str, int]], roots: list[Path]) -> None:
        names = ", ".join(
            f"{name} (first used at {where}:{line})" for name, (where, line) in sorted(missing.items())
        )
        searched = ", ".join(str(root) for root in roots) or "(no library roots)"
        super().__init__(f"{len(missing)} file(s) not found: {names}; library roots searched: {searched}")
        self.missing = dict(missing)
        self.roots = list(roots)


@dataclass(frozen=True)
class LDrawWarning:
    """A non-fatal problem found while reading, with its source location."""

    message: str
    path: str
    line: int = 0

    def __str__(self) -> str:
        return f"{_where(self.path, self.line)}{self.message}"


def read_ldraw_text(path: Path) -> str:
    """Read an LDraw file as text: UTF-8 (a BOM is dropped), falling back to Latin-1."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LDrawError(f"cannot read file ({exc.strerror or exc})", path) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
