"""The environment pillar: Python, platform and every installed distribution with its version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from samerun._exceptions import CaptureError
from samerun.hashing import hash_json


@dataclass(frozen=True)
class Environment:
    python: str
    implementation: str
    executable: str
    system: str
    machine: str
    packages: dict[str, str] = field(default_factory=dict)
    packages_hash: str = ""

    def identity(self) -> dict[str, Any]:
        """What makes two environments the same: not where the interpreter is installed."""
        return {
            "python": self.python,
            "implementation": self.implementation,
            "system": self.system,
            "machine": self.machine,
            "packages_hash": self.packages_hash,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Environment:
        return cls(**data)

    @classmethod
    def from_description(cls, described: dict[str, Any]) -> Environment:
        packages = {str(k): str(v) for k, v in described["packages"].items()}
        return cls(
            python=described["python"],
            implementation=described["implementation"],
            executable=described["executable"],
            system=described["system"],
            machine=described["machine"],
            packages=packages,
            packages_hash=hash_json(packages),
        )


def _same_interpreter(interpreter: str) -> bool:
    """True for this interpreter, under any of its names in the same ``bin`` folder.

    Symlinks are not resolved: every virtual environment links to the same base binary, but
    each sees its own packages.
    """
    mine = Path(os.path.abspath(sys.executable))
    theirs = Path(os.path.abspath(interpreter))
    return theirs == mine or (theirs.parent == mine.parent and theirs.name.startswith("python"))


def capture_environment(interpreter: str | None = None) -> Environment:
    """Describe ``interpreter`` (default: this one); another one is asked in a subprocess."""
    from samerun.capture import _probe

    if interpreter is None or _same_interpreter(interpreter):
        return Environment.from_description(_probe.describe())
    source = Path(_probe.__file__).read_text()
    try:
        done = subprocess.run(
            [interpreter, "-c", source],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return Environment.from_description(json.loads(done.stdout))
    except (OSError, subprocess.SubprocessError, ValueError, KeyError) as err:
        raise CaptureError(f"cannot describe the environment of {interpreter}: {err}") from None
