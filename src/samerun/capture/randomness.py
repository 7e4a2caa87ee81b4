"""The randomness pillar: the run's seed and the hash seed its interpreter ran with."""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from samerun._exceptions import UsageError

MAX_SEED = 2**32 - 1
SEED_ENV = "SAMERUN_SEED"


@dataclass(frozen=True)
class Randomness:
    seed: int
    seed_source: str  # "given", "launcher" (SAMERUN_SEED) or "drawn"
    python_hash_seed: str  # the PYTHONHASHSEED value, or "random" when hashing was randomized
    seeded: list[str] = field(default_factory=list)
    #: What ``seed_everything`` set during the run: the seed it used and each determinism switch.
    #: Not identity: the code that asked for them already is.
    settings: dict[str, Any] = field(default_factory=dict)

    def identity(self) -> dict[str, Any]:
        return {"seed": self.seed, "python_hash_seed": self.python_hash_seed}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Randomness:
        return cls(**data)


def check_seed(value: object) -> int:
    """A seed is an integer in [0, 2**32 - 1]: valid for NumPy, torch and PYTHONHASHSEED alike."""
    if isinstance(value, bool):
        raise UsageError(f"seed {value!r} is not an integer between 0 and {MAX_SEED}")
    try:
        seed = int(str(value).strip()) if isinstance(value, str) else int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise UsageError(f"seed {value!r} is not an integer between 0 and {MAX_SEED}") from None
    if not 0 <= seed <= MAX_SEED or (isinstance(value, float) and value != seed):
        raise UsageError(f"seed {value!r} is not an integer between 0 and {MAX_SEED}")
    return seed


_in_use: tuple[int, str] | None = None


def use_seed(seed: int, source: str) -> None:
    """Note the seed this process already seeded with; a run it starts later records it."""
    global _in_use
    _in_use = (seed, source)


def choose_seed(given: int | str | None) -> tuple[int, str]:
    """The run's seed and where it came from: given, the launcher's ``SAMERUN_SEED``, the one
    this process already seeded with (:func:`use_seed`), or drawn."""
    if given is not None:
        return check_seed(given), "given"
    from_launcher = os.environ.get(SEED_ENV)
    if from_launcher:
        return check_seed(from_launcher), "launcher"
    if _in_use is not None:
        return _in_use
    import secrets  # start-up: only drawing a seed needs it (with hmac and hashlib behind it)

    return secrets.randbelow(MAX_SEED + 1), "drawn"


def observed_seeds() -> list[str]:
    """Frameworks this process seeded, where that can be seen without samerun's toolkit: torch
    keeps the seed it was last given (``torch.initial_seed()``), and unseeded it is a random
    64-bit number, below 2**32 about once in four billion imports. Python's and NumPy's global
    generators keep no such record."""
    torch = sys.modules.get("torch")
    if torch is None:
        return []
    try:
        return ["torch"] if int(torch.initial_seed()) <= MAX_SEED else []
    except Exception:  # a broken or partial torch must not break recording
        return []


def current_hash_seed() -> str:
    """The hash seed this interpreter really runs with: a number, or ``random``."""
    if not sys.flags.hash_randomization:
        return "0"
    value = os.environ.get("PYTHONHASHSEED", "random")
    return "random" if value in ("", "random") else value
