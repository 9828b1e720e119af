"""Choosing the torch device: auto falls back to the CPU; a missing GPU or an unknown name is a
one-line error at the CLI, before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from madgen.ad.device import describe, resolve_device  # noqa: E402
from madgen.cli import main  # noqa: E402
from madgen.errors import MadgenError  # noqa: E402


def test_auto_is_the_gpu_when_there_is_one() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu") and describe(torch.device("cpu")) == "cpu"


@pytest.mark.parametrize("name", ["tpu", "cuda:x", "gpu0"])
def test_unknown_device_names_are_refused(name: str) -> None:
    with pytest.raises(MadgenError, match="choose auto, cpu, cuda or cuda:N"):
        resolve_device(name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_without_a_gpu_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(MadgenError, match="no CUDA GPU"):
        resolve_device("cuda")
    (tmp_path / "run").mkdir()
    assert main(["ad", "score", "--run", str(tmp_path / "run"), "--device", "cuda:0"]) == 2
    error = capsys.readouterr().err
    assert "--device cuda:0: no CUDA GPU" in error and error.count("\n") == 1
    assert list((tmp_path / "run").iterdir()) == []
