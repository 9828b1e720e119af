"""Plain-text presentation for the command line: aligned tables."""

from __future__ import annotations

import sys
import time
from typing import Iterable, Sequence, TextIO


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]], right_align: Sequence[int] = ()) -> str:
    """Render rows as an aligned text table with a header rule.

    ``right_align`` lists the column indexes to right-align (numbers).
    """
    text_rows = [[str(cell) for cell in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in text_rows:
        for column, cell in enumerate(row):
            widths[column] = max(widths[column], len(cell))

    def line(cells: Sequence[str]) -> str:
        parts = []
        for column, cell in enumerate(cells):
            parts.append(cell.rjust(widths[column]) if column in right_align else cell.ljust(widths[column]))
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(list(headers)), rule, *(line(row) for row in text_rows)])


class ProgressLine:
    """A one-line progress display on stderr: count, rate, ETA (redrawn in place on a terminal)."""

    def __init__(self, label: str, stream: TextIO | None = None, unit: str = "img") -> None:
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self._last_print = 0.0
        self._shown = False

    def __call__(self, done: int, total: int, elapsed: float) -> None:
        """Report ``done`` of ``total`` items after ``elapsed`` seconds."""
        now = time.monotonic()
        if not self.interactive and done < total and now - self._last_print < 10.0:
            return
        self._last_print = now
        rate = done / elapsed if elapsed > 0 else 0.0
        remaining = (total - done) / rate if rate > 0 else 0.0
        width = 24
        filled = int(width * done / max(total, 1))
        text = (f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
                f"{rate * 60:.1f} {self.unit}/min ETA {_duration(remaining)}")
        self.stream.write(("\r" + text) if self.interactive else text + "\n")
        self.stream.flush()
        self._shown = True

    def finish(self) -> None:
        """End the progress line."""
        if self._shown and self.interactive:
            self.stream.write("\n")
            self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
