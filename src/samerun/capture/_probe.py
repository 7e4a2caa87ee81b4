"""Describe the running interpreter: version, build, platform and installed distributions.

Standard library only: the launcher runs this file's source with the interpreter of the command
it records (``python -c``), which may live in another virtual environment than samerun. What it
returns is raw; ``samerun.capture.environment`` types it and strips credentials.

Recording runs this on every run, so it stays cheap: names and versions come from dist-info
folder names, and each distribution costs two small file opens (``INSTALLER`` and
``direct_url.json``, PEP 610), not a METADATA parse.
"""

from __future__ import annotations

import configparser
import contextlib
import json
import os
import platform
import re
import sys
import sysconfig
from pathlib import Path
from typing import Any

_SEPARATORS = re.compile(r"[-_.]+")


def _normalize(name: str) -> str:
    return _SEPARATORS.sub("-", name).lower()


def _read(folder: Path, name: str) -> str | None:
    try:
        return (folder / name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def installed_distributions() -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """``{normalized name: version}`` and ``{name: origin}`` of every importable distribution.

    Where a name appears twice, the first on ``sys.path`` wins, as it does for ``import``.
    An origin holds the ``INSTALLER`` and the parsed ``direct_url.json``, when present.
    """
    import importlib.metadata as md

    versions: dict[str, str] = {}
    origins: dict[str, dict[str, Any]] = {}
    for dist in md.distributions():
        folder = getattr(dist, "_path", None)
        stem = getattr(folder, "name", "").removesuffix(".dist-info")
        if stem != getattr(folder, "name", "") and stem.count("-") == 1:
            name, version = stem.split("-")
        else:
            name, version = dist.metadata["Name"] or "", dist.version
        key = _normalize(name)
        if not name or key in versions:
            continue
        versions[key] = version
        origin: dict[str, Any] = {}
        if isinstance(folder, Path):
            installer = _read(folder, "INSTALLER")
            if installer and installer.strip():
                origin["installer"] = installer.strip()
            direct = _read(folder, "direct_url.json")
            if direct:
                with contextlib.suppress(ValueError):  # a malformed file tells nothing
                    origin["direct_url"] = json.loads(direct)
        origins[key] = origin
    return dict(sorted(versions.items())), dict(sorted(origins.items()))


def _pip_config_files() -> list[Path]:
    """pip's configuration files, lowest precedence first (site-wide, user, environment)."""
    if os.environ.get("PIP_CONFIG_FILE") == os.devnull:
        return []
    xdg_dirs = os.environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(os.pathsep)
    home = Path.home()
    xdg_home = Path(os.environ.get("XDG_CONFIG_HOME", home / ".config"))
    files = [Path(d, "pip", "pip.conf") for d in xdg_dirs if d]
    files += [Path("/etc/pip.conf"), home / ".pip" / "pip.conf", xdg_home / "pip" / "pip.conf"]
    files.append(Path(sys.prefix, "pip.conf"))
    if os.environ.get("PIP_CONFIG_FILE"):
        files.append(Path(os.environ["PIP_CONFIG_FILE"]))
    return files


def index_configuration() -> dict[str, Any]:
    """The package index settings pip and uv would use here: files, then the environment."""
    settings: dict[str, str] = {}
    for path in _pip_config_files():
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            continue
        for section in ("global", "install"):
            if parser.has_section(section):
                settings.update(parser.items(section))
    env = os.environ
    index = env.get("PIP_INDEX_URL") or settings.get("index-url")
    extra = (env.get("PIP_EXTRA_INDEX_URL") or settings.get("extra-index-url") or "").split()
    links = (env.get("PIP_FIND_LINKS") or settings.get("find-links") or "").split()
    index = env.get("UV_DEFAULT_INDEX") or env.get("UV_INDEX_URL") or index
    extra += (env.get("UV_INDEX") or env.get("UV_EXTRA_INDEX_URL") or "").split()
    return {"index_url": index, "extra_index_urls": extra, "find_links": links}


def conda_packages() -> list[dict[str, str]] | None:
    """The conda packages of this environment (``conda-meta/*.json``), or None outside conda."""
    meta = Path(sys.prefix, "conda-meta")
    if not meta.is_dir():
        return None
    found = []
    for path in sorted(meta.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("name"):
            found.append(
                {k: str(record.get(k) or "") for k in ("name", "version", "build", "channel")}
            )
    return found


def _libc() -> str | None:
    try:
        found = os.confstr("CS_GNU_LIBC_VERSION")  # "glibc 2.36", without scanning a binary
    except (AttributeError, ValueError, OSError):
        found = None
    if found:
        return found
    name, version = platform.libc_ver()
    return f"{name} {version}" if name else None


def describe() -> dict[str, Any]:
    packages, origins = installed_distributions()
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "system": platform.system(),
        "machine": platform.machine(),
        "packages": packages,
        "build": " ".join(sys.version.split()),
        "libc": _libc(),
        "platform_tag": sysconfig.get_platform(),
        "origins": origins,
        "index": index_configuration(),
        "conda": conda_packages(),
    }


if __name__ == "__main__":
    json.dump(describe(), sys.stdout)
