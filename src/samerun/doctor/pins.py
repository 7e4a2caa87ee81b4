"""Is the environment pinned? Lock files, fully pinned requirements, a pinned Python version."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from samerun.doctor.model import Evidence

LOCK_FILES = ("uv.lock", "poetry.lock", "Pipfile.lock", "pdm.lock", "pixi.lock", "conda-lock.yml")
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")
_SHA = re.compile(r"@[0-9a-f]{40}\b")
_MINOR = r"3\.(\d+)"


def dependencies(dirs: Sequence[Path]) -> Evidence:
    """Evidence that every dependency is pinned; ``dirs`` are searched nearest first."""
    title = "dependencies pinned"
    step = (
        "pin every dependency: commit a lock file (uv lock, poetry lock, pdm lock) or "
        "`pip freeze > requirements.txt`"
    )
    for directory in dirs:
        conda_locks = sorted(directory.glob("*.conda-lock.yml"))
        for lock in [*(directory / name for name in LOCK_FILES), *conda_locks]:
            if lock.is_file():
                return Evidence("dependencies", title, 2, True, f"lock file {lock.name}")
        requirements = sorted(directory.glob("requirements*.txt"))
        requirements += sorted(directory.glob("requirements/*.txt"))
        if requirements:
            unpinned: list[str] = []
            for path in requirements:
                unpinned += _unpinned(path, set())
            names = ", ".join(f"{p.relative_to(directory)}" for p in requirements)
            if not unpinned:
                return Evidence("dependencies", title, 2, True, f"fully pinned: {names}")
            listed = ", ".join(sorted(set(unpinned)))
            return Evidence(
                "dependencies", title, 2, False, f"not pinned with == in {names}: {listed}", step
            )
        if (directory / "pyproject.toml").is_file():
            return Evidence(
                "dependencies",
                title,
                2,
                False,
                "pyproject.toml declares version ranges and there is no lock file",
                step,
            )
    return Evidence("dependencies", title, 2, False, "no lock file or requirements file", step)


def _unpinned(path: Path, seen: set[Path]) -> list[str]:
    """The requirements in ``path`` (and the files it includes) that are not pinned."""
    if path in seen or not path.is_file():
        return []
    seen.add(path)
    unpinned = []
    for raw in path.read_text(errors="replace").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        option, _, rest = line.partition(" ")
        if option in ("-r", "--requirement", "-c", "--constraint"):
            unpinned += _unpinned(path.parent / rest.strip(), seen)
            continue
        if option in ("-e", "--editable"):
            line = rest.strip()
            if not line.startswith(("git+", "hg+", "svn+", "bzr+")):
                continue  # the project itself or a local package
        elif line.startswith(("-", ".", "/")):
            continue  # an option (--index-url, --hash) or a local path
        spec = line.split(";", 1)[0]
        name = _NAME.match(spec.split("@", 1)[0].split("egg=")[-1])
        label = name.group(1) if name else spec
        if "@" in spec or "+" in spec.split("==")[0]:
            if not _SHA.search(spec):
                unpinned.append(label)
        elif not re.search(r"===?\s*[^*,\s]+(\s|$|;)", spec + " ") or "*" in spec:
            unpinned.append(label)
    return unpinned


def python(dirs: Sequence[Path]) -> Evidence:
    """Evidence that the Python version is pinned, and where."""
    title = "Python version pinned"
    for directory in dirs:
        for source, version in _python_pins(directory):
            return Evidence("python", title, 2, True, f"{version} ({source})")
    return Evidence(
        "python",
        title,
        2,
        False,
        "no pinned Python version found",
        'pin Python: `echo 3.11 > .python-version` (or requires-python = "==3.11.*")',
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace") if path.is_file() else ""
    except OSError:
        return ""


def _python_pins(directory: Path) -> Iterator[tuple[str, str]]:
    version = _read(directory / ".python-version").strip().splitlines()
    if version and version[0].strip():
        yield ".python-version", version[0].strip()
    match = re.search(r"python-(3\.\d+(\.\d+)?)", _read(directory / "runtime.txt"))
    if match:
        yield "runtime.txt", match.group(1)
    match = re.search(r"^python\s+(3\.\d+\S*)", _read(directory / ".tool-versions"), re.M)
    if match:
        yield ".tool-versions", match.group(1)
    for name in ("environment.yml", "environment.yaml"):
        match = re.search(r"^\s*-\s*python\s*=+\s*(3\.\d+\S*)", _read(directory / name), re.M)
        if match:
            yield name, match.group(1)
    match = re.search(
        r'python_(?:full_)?version\s*=\s*"(3\.\d+[^"]*)"', _read(directory / "Pipfile")
    )
    if match:
        yield "Pipfile", match.group(1)
    match = re.search(r'requires-python\s*=\s*"([^"]+)"', _read(directory / "pyproject.toml"))
    if match and _one_minor(match.group(1)):
        yield "requires-python in pyproject.toml", match.group(1)
    match = re.search(r"^FROM\s+(?:\S+/)?python:(3\.\d+)", _read(directory / "Dockerfile"), re.M)
    if match:
        yield "Dockerfile", match.group(1)


def _one_minor(spec: str) -> bool:
    """Whether a requires-python specifier admits a single minor version (``==3.11.*``)."""
    if re.search(rf"(==|~=)\s*{_MINOR}\.", spec) or re.fullmatch(rf"\s*==\s*{_MINOR}\s*", spec):
        return True
    low = re.search(rf">=\s*{_MINOR}", spec)
    high = re.search(rf"<\s*{_MINOR}", spec)
    return bool(low and high and int(high.group(1)) == int(low.group(1)) + 1)
