"""Which torch device OmniposeAD runs on: ``auto`` (a CUDA GPU when there is one, else the CPU),
``cpu``, or ``cuda`` / ``cuda:N``.

Every step keeps its tensors on the device of the field or the feature extractor it works
with, and its random draws on a CPU generator, so a seed draws the same rays on any device.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

import torch

from ..errors import MadgenError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """The torch device for ``--device`` (``auto``, ``cpu``, ``cuda`` or ``cuda:N``)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        if not torch.cuda.is_available():
            raise MadgenError(f"--device {name}: no CUDA GPU is available to torch {torch.__version__}; "
                              "use --device cpu or auto")
        index = int(name[5:]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise MadgenError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s)")
        return torch.device(name)
    raise MadgenError(f"--device {name!r}: choose auto, cpu, cuda or cuda:N")


def describe(device: torch.device) -> str:
    """A short name of the device for run records (``cpu`` or the GPU's model)."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


@contextlib.contextmanager
def deterministic() -> Iterator[None]:
    """Run the enclosed torch work with deterministic algorithms, then restore the caller's mode.

    On the CPU, the gradients of the field's indexed lookups are otherwise summed by several
    threads in an order that can change from run to run: two trainings of the same views and
    seed in separate processes differed in the last bits (two CLI runs of 150 steps; one of five
    of 100 steps), and so did every score after them. With the mode on they are byte-identical
    on one machine, at about 5% more training time. Pose refinement does not need it (90 test
    images scored twice without it gave identical poses and maps) and would run 12% slower.
    ``warn_only``: an operation with no deterministic implementation on some device (CUDA)
    warns instead of failing; cuBLAS gets the workspace setting that its deterministic mode
    needs unless the environment already sets one."""
    previous = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])
