"""Which torch device OmniposeAD runs on: ``auto`` (a CUDA GPU when there is one, else the CPU),
``cpu``, or ``cuda`` / ``cuda:N``.

Every step keeps its tensors on the device of the field or the feature extractor it works
with, and its random draws on a CPU generator, so a seed draws the same rays on any device.
"""

from __future__ import annotations

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
