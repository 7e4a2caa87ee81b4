"""Describe the running interpreter: version, platform and installed distributions.

Standard library only: the launcher runs this file's source with the interpreter of the command
it records (``python -c``), which may live in another virtual environment than samerun.
"""

from __future__ import annotations

import json
import platform
import re
import sys
from typing import Any

_SEPARATORS = re.compile(r"[-_.]+")


def _normalize(name: str) -> str:
    return _SEPARATORS.sub("-", name).lower()


def installed_distributions() -> dict[str, str]:
    """``{normalized name: version}`` of every distribution importable from ``sys.path``.

    Where a name appears twice, the first on ``sys.path`` wins, as it does for ``import``.
    The name and version are read from ``name-version.dist-info`` folder names when possible,
    which avoids parsing every METADATA file.
    """
    import importlib.metadata as md

    found: dict[str, str] = {}
    for dist in md.distributions():
        folder = getattr(dist, "_path", None)
        stem = getattr(folder, "name", "")
        if stem.endswith(".dist-info") and stem.count("-") == 1:
            name, version = stem[: -len(".dist-info")].split("-")
        else:
            name, version = dist.metadata["Name"] or "", dist.version
        if name:
            found.setdefault(_normalize(name), version)
    return dict(sorted(found.items()))


def describe() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "system": platform.system(),
        "machine": platform.machine(),
        "packages": installed_distributions(),
    }


if __name__ == "__main__":
    json.dump(describe(), sys.stdout)
