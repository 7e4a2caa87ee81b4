"""The environment pillar: the interpreter, the platform and every installed distribution.

Each distribution is recorded with its version and its origin (PEP 610's ``direct_url.json``:
a VCS commit, a local directory, an archive with its hash, or a package index) and the tool that
installed it; the package index settings in effect are recorded without credentials, and in a
conda environment the conda packages with channel and build string. Runs recorded before origins
were captured have ``origins``, ``index`` and the interpreter's build as ``None``: unknown, never
invented.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from samerun._exceptions import CaptureError
from samerun.capture.code import strip_url_credentials
from samerun.hashing import hash_json
from samerun.status import OriginKind, origin_kind


@dataclass(frozen=True)
class Origin:
    """Where one distribution came from and which tool installed it."""

    kind: OriginKind = "index"
    installer: str | None = None
    url: str | None = None  # credentials stripped
    vcs: str | None = None  # "git", "hg", ...
    commit: str | None = None  # the VCS commit that was installed
    editable: bool = False
    hash: str | None = None  # an archive's "sha256=<hex>"
    subdirectory: str | None = None

    @property
    def pinned_content(self) -> str | None:
        """What fixes this origin's content beyond the version: a commit or an archive hash."""
        if self.kind == "vcs" and self.commit:
            return f"{self.url}@{self.commit}"
        if self.kind == "archive" and self.hash:
            return self.hash
        return None

    @property
    def text(self) -> str:
        """Where it came from, in one line (the installer aside): what ``diff`` compares and
        ``env show`` prints."""
        if self.kind == "vcs":
            return f"{self.vcs}+{self.url}@{self.commit}"
        if self.kind == "archive":
            return f"{self.url} ({self.hash})" if self.hash else str(self.url)
        if self.kind == "directory":
            return f"{'editable ' if self.editable else ''}{self.url}"
        return "index"

    def to_dict(self) -> dict[str, Any]:
        # Every field is a scalar, so the fields themselves, not asdict's deep copy: a record
        # holds an origin per installed distribution (hundreds), and the server's run API
        # serializes them all on each read.
        return {k: v for k, v in vars(self).items() if v is not None and v is not False}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Origin:
        return cls(
            kind=origin_kind(data.get("kind", "index")),
            installer=data.get("installer"),
            url=data.get("url"),
            vcs=data.get("vcs"),
            commit=data.get("commit"),
            editable=bool(data.get("editable", False)),
            hash=data.get("hash"),
            subdirectory=data.get("subdirectory"),
        )

    @classmethod
    def from_probe(cls, raw: dict[str, Any]) -> Origin:
        """Type what the probe read: ``INSTALLER`` and ``direct_url.json`` (PEP 610)."""
        installer = raw.get("installer")
        direct = raw.get("direct_url")
        if not isinstance(direct, dict) or not isinstance(direct.get("url"), str):
            return cls(installer=installer)
        url = strip_url_credentials(direct["url"])
        subdirectory = direct.get("subdirectory")
        if isinstance(vcs_info := direct.get("vcs_info"), dict):
            return cls(
                "vcs",
                installer,
                url,
                vcs=vcs_info.get("vcs"),
                commit=vcs_info.get("commit_id"),
                subdirectory=subdirectory,
            )
        if isinstance(archive := direct.get("archive_info"), dict):
            hashes = archive.get("hashes")
            digest = (
                f"sha256={hashes['sha256']}"
                if isinstance(hashes, dict) and "sha256" in hashes
                else archive.get("hash")  # the older "<algorithm>=<hex>" form
            )
            return cls("archive", installer, url, hash=digest, subdirectory=subdirectory)
        editable = bool((direct.get("dir_info") or {}).get("editable", False))
        return cls("directory", installer, url, editable=editable, subdirectory=subdirectory)


@dataclass(frozen=True)
class IndexConfig:
    """The package index settings in effect when the run was recorded (no credentials)."""

    index_url: str | None = None  # None: the installers' default, PyPI
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IndexConfig:
        def clean(urls: Any) -> list[str]:
            return [strip_url_credentials(str(u)) for u in urls or []]

        index = data.get("index_url")
        return cls(
            index_url=strip_url_credentials(str(index)) if index else None,
            extra_index_urls=clean(data.get("extra_index_urls")),
            find_links=clean(data.get("find_links")),
        )


@dataclass(frozen=True)
class CondaPackage:
    name: str
    version: str
    build: str
    channel: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CondaPackage:
        channel = strip_url_credentials(str(data.get("channel") or ""))
        return cls(str(data["name"]), str(data["version"]), str(data.get("build") or ""), channel)


@dataclass(frozen=True)
class Environment:
    python: str
    implementation: str
    executable: str
    system: str
    machine: str
    packages: dict[str, str] = field(default_factory=dict)
    packages_hash: str = ""
    build: str | None = None  # the interpreter's full version line (sys.version)
    libc: str | None = None  # "glibc 2.36"
    platform_tag: str | None = None  # sysconfig.get_platform(): "linux-x86_64"
    origins: dict[str, Origin] | None = None
    index: IndexConfig | None = None
    conda: list[CondaPackage] | None = None  # None outside a conda environment

    def identity(self) -> dict[str, Any]:
        """What makes two environments the same: not where the interpreter is installed.

        A VCS commit or an archive hash joins the identity only where a run has one, and the
        conda packages only in a conda environment, so every other run keeps the fingerprint
        it had before origins were recorded.
        """
        identity: dict[str, Any] = {
            "python": self.python,
            "implementation": self.implementation,
            "system": self.system,
            "machine": self.machine,
            "packages_hash": self.packages_hash,
        }
        pinned = {
            name: content
            for name, origin in (self.origins or {}).items()
            if (content := origin.pinned_content)
        }
        if pinned:
            identity["origins_hash"] = hash_json(pinned)
        if self.conda:
            identity["conda_hash"] = hash_json([c.to_dict() for c in self.conda])
        return identity

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "python": self.python,
            "implementation": self.implementation,
            "executable": self.executable,
            "system": self.system,
            "machine": self.machine,
            "packages": self.packages,
            "packages_hash": self.packages_hash,
        }
        # Absent, not null, when unknown: a record from before keeps its exact bytes.
        optional: dict[str, Any] = {
            "build": self.build,
            "libc": self.libc,
            "platform_tag": self.platform_tag,
            "origins": None
            if self.origins is None
            else {name: o.to_dict() for name, o in self.origins.items()},
            "index": None if self.index is None else self.index.to_dict(),
            "conda": None if self.conda is None else [c.to_dict() for c in self.conda],
        }
        data.update({k: v for k, v in optional.items() if v is not None})
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Environment:
        origins = data.get("origins")
        index = data.get("index")
        conda = data.get("conda")
        return cls(
            python=data["python"],
            implementation=data["implementation"],
            executable=data["executable"],
            system=data["system"],
            machine=data["machine"],
            packages={str(k): str(v) for k, v in data.get("packages", {}).items()},
            packages_hash=data.get("packages_hash", ""),
            build=data.get("build"),
            libc=data.get("libc"),
            platform_tag=data.get("platform_tag"),
            origins=None
            if origins is None
            else {str(k): Origin.from_dict(v) for k, v in origins.items()},
            index=None if index is None else IndexConfig.from_dict(index),
            conda=None if conda is None else [CondaPackage.from_dict(c) for c in conda],
        )

    @classmethod
    def from_description(cls, described: dict[str, Any]) -> Environment:
        """Type what the probe printed (see ``_probe.describe``)."""
        packages = {str(k): str(v) for k, v in described["packages"].items()}
        conda = described.get("conda")
        return cls(
            python=described["python"],
            implementation=described["implementation"],
            executable=described["executable"],
            system=described["system"],
            machine=described["machine"],
            packages=packages,
            packages_hash=hash_json(packages),
            build=described.get("build"),
            libc=described.get("libc"),
            platform_tag=described.get("platform_tag"),
            origins={
                str(name): Origin.from_probe(raw)
                for name, raw in described.get("origins", {}).items()
            },
            index=IndexConfig.from_dict(described.get("index") or {}),
            conda=None if conda is None else [CondaPackage.from_dict(c) for c in conda],
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
