"""Seed every framework correctly, and derive stable seeds for ranks, workers and folds.

:func:`seed_everything` seeds ``random``, NumPy's global RNG, torch (CPU and every CUDA device)
and TensorFlow/Keras when they are installed, returns a JAX key when JAX is, and records in the
current run what it seeded and set. A framework that is installed but not imported yet is
seeded the moment it is imported, so a script pays nothing for frameworks it never uses. Hash
randomization cannot be switched off inside a running interpreter: it is detected, and warned
about or fixed by re-executing the interpreter.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import random
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from types import ModuleType
from typing import Any

from samerun._exceptions import UsageError
from samerun._on_import import call_on_import
from samerun.capture.randomness import (
    SEED_ENV,
    check_seed,
    choose_seed,
    current_hash_seed,
    use_seed,
)
from samerun.tracking import active_run, journal_now

#: The variables that size the thread pools of OpenMP, MKL, OpenBLAS, BLIS, Accelerate and
#: numexpr; torch's intra-op pool follows OMP_NUM_THREADS.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
CUBLAS_WORKSPACE = ":4096:8"
XLA_DETERMINISTIC = "--xla_gpu_deterministic_ops=true"
HASH_SEED_MODES = ("warn", "reexec", "ignore")
_STR_KEY_BASE = 2**64  # string keys map above every integer key, so the two never collide


class ReproducibilityWarning(UserWarning):
    """Something in this process will make its results differ from one run to the next."""


@dataclass(frozen=True)
class Seeding:
    """What :func:`seed_everything` did."""

    seed: int
    source: str  # "given", "run" (the active run's), "launcher" (SAMERUN_SEED) or "drawn"
    seeded: tuple[str, ...]  # seeded now; frameworks imported later are seeded (and recorded) then
    settings: dict[str, Any] = field(default_factory=dict)
    jax_key: Any = None  # jax.random.PRNGKey(seed) when JAX is installed


_last: Seeding | None = None


def thread_environment(threads: int) -> dict[str, str]:
    """The environment variables that pin every numerical library to ``threads`` threads."""
    if threads < 1:
        raise UsageError(f"thread count {threads}: give 1 or more")
    return dict.fromkeys(THREAD_VARIABLES, str(threads))


def current_seed() -> int | None:
    """The seed this process runs with: the last :func:`seed_everything`'s, else the active
    run's, else the launcher's; None when there is none."""
    if _last is not None:
        return _last.seed
    run = active_run()
    if run is not None:
        return run.seed
    from_launcher = os.environ.get(SEED_ENV)
    return check_seed(from_launcher) if from_launcher else None


def derive_seed(*keys: int | str) -> int:
    """A stable 32-bit seed derived from ``keys``, e.g. ``derive_seed(seed, "fold", 3)``.

    It is ``numpy.random.SeedSequence(keys[0], spawn_key=keys[1:]).generate_state(1)[0]``, with
    each string key replaced by an integer above 2**64 taken from its blake3 hash; so
    ``derive_seed(seed, rank)`` is the seed of ``SeedSequence(seed).spawn(n)[rank]``. The same
    keys give the same seed on every machine and version; different keys give independent ones.
    """
    if not keys:
        raise UsageError("derive_seed needs at least one key, e.g. derive_seed(seed, rank)")
    try:
        from numpy.random import SeedSequence
    except ImportError:
        raise UsageError("derive_seed needs NumPy: pip install numpy") from None
    words = [_key_word(key) for key in keys]
    return int(SeedSequence(words[0], spawn_key=tuple(words[1:])).generate_state(1)[0])


def _key_word(key: int | str) -> int:
    if isinstance(key, str):
        import blake3

        return _STR_KEY_BASE + int.from_bytes(blake3.blake3(key.encode()).digest(16), "little")
    if isinstance(key, bool) or not isinstance(key, int) or not 0 <= key < _STR_KEY_BASE:
        raise UsageError(f"seed key {key!r} is neither a string nor an integer in [0, 2**64)")
    return key


def seed_everything(
    seed: int | None = None,
    *,
    deterministic: bool = False,
    warn_only: bool = False,
    hash_seed: str = "warn",
) -> Seeding:
    """Seed ``random``, NumPy, torch, TensorFlow/Keras and JAX (those installed) with one seed.

    The seed is ``seed`` if given, else the active run's, else the launcher's (``SAMERUN_SEED``),
    else one drawn now and recorded. ``deterministic=True`` also turns on torch's deterministic
    algorithms (``warn_only`` makes them warn instead of raise), turns off cuDNN autotuning,
    sets ``CUBLAS_WORKSPACE_CONFIG`` and the XLA deterministic-ops flag, and TF op determinism.
    When hash randomization is on, ``hash_seed`` says what to do: ``"warn"`` (a
    :class:`ReproducibilityWarning`), ``"reexec"`` (restart this interpreter with
    ``PYTHONHASHSEED`` set to the seed) or ``"ignore"``. What was seeded and set is recorded in
    the current run (or the next one this process starts).
    """
    global _last
    if hash_seed not in HASH_SEED_MODES:
        raise UsageError(f"hash_seed={hash_seed!r}: use one of {', '.join(HASH_SEED_MODES)}")
    chosen, source = _choose(seed)
    if current_hash_seed() == "random":
        if hash_seed == "reexec":
            _reexec(chosen)
        elif hash_seed == "warn":
            warnings.warn(_hash_warning(), ReproducibilityWarning, stacklevel=2)
    settings: dict[str, Any] = {"seed": chosen}
    if deterministic:
        settings.update(_deterministic_environment())
    random.seed(chosen)
    seeded = ["random"]
    for name, seeder in _SEEDERS.items():
        if name in sys.modules:
            names, switches = seeder(sys.modules[name], chosen, deterministic, warn_only)
            seeded += names
            settings.update(switches)
        elif _installed(name):
            call_on_import(name, partial(_seed_on_import, seeder, chosen, deterministic, warn_only))
    jax_key = None
    if _installed("jax"):
        jax_key = importlib.import_module("jax.random").PRNGKey(chosen)
        seeded.append("jax")
    result = Seeding(chosen, source, tuple(seeded), settings, jax_key)
    _last = result
    if source in ("given", "drawn"):
        use_seed(chosen, source)  # a run this process starts later records this seed
    journal_now(("seeded", seeded), ("set", settings))
    return result


def _choose(seed: int | None) -> tuple[int, str]:
    if seed is not None:
        return check_seed(seed), "given"
    run = active_run()
    if run is not None:
        return run.seed, "run"
    return choose_seed(None)


def _installed(name: str) -> bool:
    return name in sys.modules or importlib.util.find_spec(name) is not None


def _hash_warning() -> str:
    return (
        "hash randomization is on in this process (PYTHONHASHSEED is not set), so the iteration "
        "order of sets and dicts keyed by strings changes from run to run, and seed_everything "
        "cannot fix that from inside a running interpreter: run the script under "
        "`samerun record`, which pins PYTHONHASHSEED, or call "
        "seed_everything(hash_seed='reexec')"
    )


def _reexec(seed: int) -> None:
    """Replace this process by the same command with ``PYTHONHASHSEED`` pinned to ``seed``."""
    if hasattr(sys, "ps1") or len(sys.orig_argv) < 2:
        raise UsageError("hash_seed='reexec' needs a script or -m/-c command, not a live session")
    if active_run() is not None:
        raise UsageError("call seed_everything(hash_seed='reexec') before starting a run")
    sys.stdout.flush()
    sys.stderr.flush()
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)


def _deterministic_environment() -> dict[str, Any]:
    """Set the variables CUDA libraries and XLA read when they start; returns what is in effect."""
    settings: dict[str, Any] = {}
    if _installed("torch") or _installed("tensorflow"):
        torch = sys.modules.get("torch")
        if "CUBLAS_WORKSPACE_CONFIG" not in os.environ:
            if torch is not None and torch.cuda.is_initialized():
                warnings.warn(
                    "CUDA started before seed_everything(deterministic=True), so cuBLAS ignores "
                    f"CUBLAS_WORKSPACE_CONFIG; set CUBLAS_WORKSPACE_CONFIG={CUBLAS_WORKSPACE} "
                    "in the environment, or call seed_everything first",
                    ReproducibilityWarning,
                    stacklevel=3,
                )
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_WORKSPACE
        settings["CUBLAS_WORKSPACE_CONFIG"] = os.environ["CUBLAS_WORKSPACE_CONFIG"]
    if _installed("jax") or _installed("tensorflow"):
        flags = os.environ.get("XLA_FLAGS", "")
        if XLA_DETERMINISTIC not in flags.split():
            os.environ["XLA_FLAGS"] = f"{flags} {XLA_DETERMINISTIC}".strip()
        settings["XLA_FLAGS"] = os.environ["XLA_FLAGS"]
    return settings


Seeder = Callable[[ModuleType, int, bool, bool], tuple[list[str], dict[str, Any]]]


def _seed_on_import(
    seeder: Seeder, seed: int, deterministic: bool, warn_only: bool, module: ModuleType
) -> None:
    names, switches = seeder(module, seed, deterministic, warn_only)
    journal_now(("seeded", names), ("set", switches))  # recorded when it happens


def _seed_numpy(
    numpy: ModuleType, seed: int, _deterministic: bool, _warn_only: bool
) -> tuple[list[str], dict[str, Any]]:
    numpy.random.seed(seed)
    return ["numpy"], {}


def _seed_torch(
    torch: ModuleType, seed: int, deterministic: bool, warn_only: bool
) -> tuple[list[str], dict[str, Any]]:
    torch.manual_seed(seed)  # the CPU generator and every CUDA device's
    seeded = ["torch", "torch.cuda"] if torch.cuda.is_available() else ["torch"]
    if not deterministic:
        return seeded, {}
    torch.use_deterministic_algorithms(True, warn_only=warn_only)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    return seeded, {
        "torch.use_deterministic_algorithms": "warn_only" if warn_only else True,
        "torch.backends.cudnn.benchmark": False,
        "torch.backends.cudnn.deterministic": True,
    }


def _seed_tensorflow(
    tf: ModuleType, seed: int, deterministic: bool, _warn_only: bool
) -> tuple[list[str], dict[str, Any]]:
    tf.random.set_seed(seed)
    if not deterministic:
        return ["tensorflow"], {}
    tf.config.experimental.enable_op_determinism()
    return ["tensorflow"], {"tensorflow.op_determinism": True}


def _seed_keras(
    keras: ModuleType, seed: int, _deterministic: bool, _warn_only: bool
) -> tuple[list[str], dict[str, Any]]:
    keras.utils.set_random_seed(seed)
    return ["keras"], {}


#: Frameworks with a global RNG, seeded now if imported, else the moment they are imported.
_SEEDERS: dict[str, Seeder] = {
    "numpy": _seed_numpy,
    "torch": _seed_torch,
    "tensorflow": _seed_tensorflow,
    "keras": _seed_keras,
}
