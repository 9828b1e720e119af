"""Runners execute work units: in this process, in a local pool of Blender workers, or on Ray.

Every runner takes the same (unit, pending jobs) tasks and reports each finished unit through a
callback; a unit that fails is reported with its message and the others go on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

from ..pipeline.plan import WorkUnit
from ..pipeline.worker import UnitResult, WorkerSettings

#: A task: a unit and the indexes of its jobs still to do.
Task = tuple[WorkUnit, list[int]]


@dataclass(frozen=True)
class Failure:
    """A unit that could not be done, and why."""

    category: str
    unit_id: str
    message: str


ResultCallback = Callable[[UnitResult], None]
FailureCallback = Callable[[Failure], None]


class Runner(Protocol):
    """Runs tasks; calls ``on_result`` or ``on_failure`` once per task, in completion order."""

    def run(self, settings: WorkerSettings, tasks: Sequence[Task], on_result: ResultCallback,
            on_failure: FailureCallback) -> None: ...


def cpu_count() -> int:
    """CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def default_workers(cpus: int | None = None) -> int:
    """Worker processes for a machine: one per 8 cores, at least one.

    Cycles scales well over threads, and on small machines one process with every thread beats
    several processes with fewer threads each (measured on 2 cores); more processes pay off
    only where each still gets several threads.
    """
    cpus = cpus or cpu_count()
    return max(1, cpus // 8)


def make_runner(executor: str, workers: int, address: str = "auto") -> Runner:
    """The runner for ``executor`` (``local`` or ``ray``)."""
    if executor == "ray":
        from .ray_cluster import RayRunner

        return RayRunner(address, workers)
    from .local import LocalRunner

    return LocalRunner(workers)
