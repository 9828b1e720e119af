"""The table printed at the end of ``madgen build``."""

from __future__ import annotations

from ..console import format_table
from .run import BuildReport


def build_summary(report: BuildReport) -> str:
    """Counts per category and split, timings, and every failure."""
    splits = list(dict.fromkeys(split for counts in report.planned.values() for split in counts))
    rows = []
    for category in report.categories:
        counts = report.planned.get(category, {})
        state = "complete" if report.complete.get(category) else "incomplete"
        rows.append([category, *(counts.get(split, 0) for split in splits), state])
    table = format_table(["category", *splits, "manifest"], rows, right_align=range(1, len(splits) + 1))
    blender = report.rgb_seconds + report.mask_seconds
    lines = [table, "",
             f"{report.rendered} image(s) rendered, {report.skipped} already done; {report.wall_seconds:.1f} s wall, "
             f"{blender:.1f} s Blender render time, {report.build_seconds:.1f} s building scenes; output {report.out}"]
    for failure in report.failures:
        lines.append(f"FAILED {failure.category} {failure.unit_id}: {failure.message}")
    incomplete = [c for c in report.categories if not report.complete.get(c)]
    if incomplete and not report.failures:
        lines.append(f"no manifest yet for {', '.join(incomplete)}: other shards still have work; re-run without "
                     "--shard once they are done")
    return "\n".join(lines)
