"""Runtime environment variables that change results: an allow-list, never the whole environment.

Names that look like secrets are recorded with a redacted value, even when a user names them.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping

from samerun.capture.code import strip_url_credentials

REDACTED = "<redacted>"

#: Variables known to change numerical results, thread counts or iteration order.
ALLOWED = (
    "PYTHONHASHSEED",
    "OMP_NUM_THREADS",
    "OMP_*",
    "MKL_*",
    "OPENBLAS_*",
    "GOTO_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_*",
    "KMP_*",
    "CUDA_*",
    "CUBLAS_*",
    "CUDNN_*",
    "NCCL_*",
    "NVIDIA_TF32_OVERRIDE",
    "PYTORCH_*",
    "TORCH_*",
    "TF_DETERMINISTIC_OPS",
    "TF_CUDNN_*",
    "TF_ENABLE_ONEDNN_OPTS",
    "TF_*_THREADS",
    "TF_XLA_FLAGS",
    "TF_GPU_*",
    "TF_FORCE_*",
    "KERAS_BACKEND",
    "XLA_FLAGS",
    "JAX_*",
    "TOKENIZERS_PARALLELISM",
    "NUMBA_*",
    "ONEDNN_*",
    "DNNL_*",
)

_SECRET = re.compile(
    r"KEY|TOKEN|SECRET|PASSW|PASSPHRASE|CREDENTIAL|AUTH|PRIVATE|SESSION|COOKIE", re.I
)


def looks_secret(name: str) -> bool:
    return bool(_SECRET.search(name))


def capture_env_vars(environ: Mapping[str, str], extra: Iterable[str] = ()) -> dict[str, str]:
    """The allow-listed and user-named (globs allowed) variables of ``environ``, redacted."""
    patterns = (*ALLOWED, *extra)
    captured: dict[str, str] = {}
    for name, value in environ.items():
        if name.startswith("SAMERUN_") or not any(fnmatch.fnmatchcase(name, p) for p in patterns):
            continue
        captured[name] = REDACTED if looks_secret(name) else strip_url_credentials(value)
    return dict(sorted(captured.items()))
