"""The host a run ran on: informational, never part of the input fingerprint.

Library-reported facts (GPUs, CUDA and cuDNN versions from torch, NumPy's BLAS) are read only
from modules the process has already imported: samerun never imports a framework to describe it.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import sys
from typing import Any


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _nvidia_smi() -> list[dict[str, str]]:
    if shutil.which("nvidia-smi") is None:
        return []
    query = "name,driver_version,memory.total,compute_cap"
    try:
        done = subprocess.run(
            ["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    keys = query.split(",")
    return [
        dict(zip(keys, (v.strip() for v in line.split(",")), strict=False))
        for line in done.stdout.splitlines()
        if line.strip()
    ]


def capture_host() -> dict[str, Any]:
    import psutil

    return {
        "hostname": socket.gethostname(),
        "os": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_bytes": psutil.virtual_memory().total,
        "gpus": _nvidia_smi(),
    }


def library_facts() -> dict[str, Any]:
    """What already-imported frameworks report about the hardware and math libraries."""
    facts: dict[str, Any] = {}
    torch = sys.modules.get("torch")
    if torch is not None:
        cuda = getattr(torch, "cuda", None)
        info: dict[str, Any] = {"version": getattr(torch, "__version__", None)}
        try:
            info["cuda"] = torch.version.cuda
            info["cudnn"] = torch.backends.cudnn.version() if cuda and cuda.is_available() else None
            if cuda is not None and cuda.is_available():
                info["devices"] = [cuda.get_device_name(i) for i in range(cuda.device_count())]
        except Exception as err:  # a broken CUDA setup must not break recording
            info["error"] = f"{type(err).__name__}: {err}"
        facts["torch"] = info
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        facts["numpy"] = {
            "version": getattr(numpy, "__version__", None),
            "blas": _numpy_blas(numpy),
        }
    return facts


def _numpy_blas(numpy: Any) -> Any:
    try:
        config = numpy.show_config(mode="dicts")
    except Exception:
        return None
    deps = (config or {}).get("Build Dependencies", {})
    blas = deps.get("blas", {})
    return {
        k: blas.get(k) for k in ("name", "version", "openblas configuration") if k in blas
    } or None
