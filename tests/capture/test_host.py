"""The host a run ran on: facts read from the machine and from frameworks already imported."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from samerun.capture.host import capture_host, library_facts

NVIDIA_SMI = """\
#!/bin/sh
echo "NVIDIA H100 80GB HBM3, 550.54.15, 81559 MiB, 9.0"
echo "NVIDIA H100 80GB HBM3, 550.54.15, 81559 MiB, 9.0"
"""


def test_the_machine_is_described(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi: no GPUs
    host = capture_host()
    assert host["hostname"] == socket.gethostname()
    assert host["cpu_count"] == os.cpu_count()
    assert host["cpu"]
    assert host["memory_bytes"] > 0
    assert host["gpus"] == []


def test_gpus_are_read_from_nvidia_smi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    smi = tmp_path / "nvidia-smi"
    smi.write_text(NVIDIA_SMI)
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    gpu = {
        "name": "NVIDIA H100 80GB HBM3",
        "driver_version": "550.54.15",
        "memory.total": "81559 MiB",
        "compute_cap": "9.0",
    }
    assert capture_host()["gpus"] == [gpu, gpu]


def test_frameworks_are_described_only_when_already_imported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    numpy = pytest.importorskip("numpy")
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    facts = library_facts()
    assert facts["numpy"]["version"] == numpy.__version__
    assert "torch" not in facts
    assert "torch" not in sys.modules  # describing never imports a framework
    monkeypatch.delitem(sys.modules, "numpy")
    assert library_facts() == {}


def test_a_broken_cuda_setup_is_recorded_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_driver() -> bool:
        raise RuntimeError("CUDA driver initialization failed")

    torch = SimpleNamespace(
        __version__="2.3.0",
        cuda=SimpleNamespace(is_available=no_driver),
        version=SimpleNamespace(cuda="12.1"),
    )
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.delitem(sys.modules, "numpy", raising=False)
    assert library_facts() == {
        "torch": {
            "version": "2.3.0",
            "cuda": "12.1",
            "error": "RuntimeError: CUDA driver initialization failed",
        }
    }
