"""The default runner: this process (one worker) or a pool of Blender worker processes.

With one worker the units run in this process, which keeps its Blender scene between units.
With more, each worker is a separate process (spawned, so each has its own Blender) that
renders with ``cpus / workers`` threads and also keeps its scene between units of a category.
"""

from __future__ import annotations

import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from multiprocessing import get_context
from typing import Sequence

from ..pipeline.worker import WorkerSettings, run_unit
from ..errors import MadgenError
from . import Failure, FailureCallback, ResultCallback, Task, cpu_count, default_workers


def _describe(exc: BaseException) -> str:
    if isinstance(exc, MadgenError):
        return str(exc)
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {frame.filename}:{frame.lineno}" if frame else ""
    return f"{type(exc).__name__}: {exc}{where}"


class LocalRunner:
    """Runs tasks on this machine."""

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers or default_workers()

    def run(self, settings: WorkerSettings, tasks: Sequence[Task], on_result: ResultCallback,
            on_failure: FailureCallback) -> None:
        """Run every task; see :class:`madgen.runner.Runner`."""
        workers = min(self.workers, max(1, len(tasks)))
        if workers <= 1:
            for unit, pending in tasks:
                try:
                    on_result(run_unit(settings, unit, pending))
                except Exception as exc:  # reported per unit; the other units go on
                    on_failure(Failure(unit.category, unit.unit_id, _describe(exc)))
            return
        threads = settings.threads or max(1, cpu_count() // workers)
        settings = replace(settings, threads=threads)
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(run_unit, settings, unit, pending): unit for unit, pending in tasks}
            for future in as_completed(futures):
                unit = futures[future]
                try:
                    on_result(future.result())
                except Exception as exc:  # a worker's error or a crashed worker process
                    on_failure(Failure(unit.category, unit.unit_id, _describe(exc)))
