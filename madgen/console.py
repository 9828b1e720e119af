"""Plain-text presentation for the command line: aligned tables."""

from __future__ import annotations

from typing import Iterable, Sequence


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
