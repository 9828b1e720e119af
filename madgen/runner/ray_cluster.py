"""The Ray runner: the same work units as tasks on a Ray cluster, retried when a worker dies.

``address`` is ``auto`` (a running cluster, e.g. after ``ray start --head``), ``HOST:PORT``, or
``local`` (start a private Ray instance on this machine with ``workers`` CPUs). Every worker
must see the same output path (one machine, or shared storage) and have madgen installed.
Each task asks Ray for the threads it renders with, so Ray never over-subscribes a node.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from ..pipeline.worker import WorkerSettings, run_unit
from ..errors import MadgenError
from . import Failure, FailureCallback, ResultCallback, Task, cpu_count

#: How often Ray re-runs a task whose worker process died.
MAX_RETRIES = 3


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MadgenError("--executor ray needs Ray: pip install 'madgen[ray]' (or pip install ray)") from None
    return ray


class RayRunner:
    """Runs tasks on Ray."""

    def __init__(self, address: str = "auto", workers: int = 0) -> None:
        self.address = address
        self.workers = workers

    def _connect(self, ray: Any) -> None:
        if ray.is_initialized():
            return
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                   "logging_level": "ERROR", "configure_logging": True}
        try:
            if self.address == "local":
                ray.init(num_cpus=self.workers or cpu_count(), **options)
            else:
                ray.init(address=self.address, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise MadgenError(f"--address {self.address}: cannot connect to Ray ({first}); start a cluster with "
                              "'ray start --head', or use --address local") from None

    def run(self, settings: WorkerSettings, tasks: Sequence[Task], on_result: ResultCallback,
            on_failure: FailureCallback) -> None:
        """Run every task on the cluster; see :class:`madgen.runner.Runner`."""
        ray = _import_ray()
        self._connect(ray)
        cluster_cpus = int(ray.cluster_resources().get("CPU", 1))
        workers = self.workers or cluster_cpus
        threads = settings.threads or max(1, cluster_cpus // max(1, workers))
        settings = replace(settings, threads=threads)
        remote = ray.remote(num_cpus=threads, max_retries=MAX_RETRIES, retry_exceptions=False)(run_unit)
        settings_ref = ray.put(settings)
        pending = {remote.remote(settings_ref, unit, jobs): unit for unit, jobs in tasks}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                unit = pending.pop(done[0])
                try:
                    on_result(ray.get(done[0]))
                except ray.exceptions.RayTaskError as exc:
                    cause = exc.cause if isinstance(getattr(exc, "cause", None), BaseException) else exc
                    message = str(cause).strip().splitlines()[-1] if str(cause).strip() else type(cause).__name__
                    on_failure(Failure(unit.category, unit.unit_id, message))
                except ray.exceptions.RayError as exc:
                    on_failure(Failure(unit.category, unit.unit_id, f"{type(exc).__name__}: worker lost"))
        finally:
            if self.address == "local":
                ray.shutdown()
