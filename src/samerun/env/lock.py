"""A recorded environment as install requirements: one pin per distribution that can be fetched
again, the project's own editable install left out, and what cannot be fetched named.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from samerun.capture.environment import Environment, IndexConfig, Origin
from samerun.manifest import Manifest
from samerun.paths import is_within

#: Local version labels whose wheels live on the PyTorch index of the same name, not on PyPI.
PYTORCH_FAMILY = frozenset({"torch", "torchvision", "torchaudio", "torchtext", "triton"})
PYTORCH_INDEX = "https://download.pytorch.org/whl/{label}"


@dataclass(frozen=True)
class Pin:
    """One distribution to install, as the recorded version from where it came."""

    name: str
    version: str
    origin: Origin

    @property
    def requirement(self) -> str:
        """The line pip reads: ``name==version``, or ``name @ URL`` for a direct origin."""
        origin = self.origin
        if origin.kind == "vcs":
            fragment = f"#subdirectory={origin.subdirectory}" if origin.subdirectory else ""
            return f"{self.name} @ {origin.vcs}+{origin.url}@{origin.commit}{fragment}"
        if origin.kind == "archive":
            digest = f"#{origin.hash}" if origin.hash else ""
            return f"{self.name} @ {origin.url}{digest}"
        return f"{self.name}=={self.version}"

    @property
    def local_label(self) -> str | None:
        """``cpu`` of ``2.3.0+cpu``: a build that lives on its own index."""
        _, plus, label = self.version.partition("+")
        return label if plus else None


@dataclass(frozen=True)
class Unfetchable:
    """A recorded distribution that no index or URL can give back."""

    name: str
    version: str
    reason: str
    path: Path | None = None  # the local directory or file it was installed from

    def describe(self) -> str:
        return f"{self.name} {self.version}: {self.reason}"


@dataclass(frozen=True)
class Lock:
    """The recorded set of distributions, sorted by name, split by how each comes back."""

    environment: Environment
    pins: list[Pin]
    project: list[Pin]  # editable installs of the recorded repository: the replay has the code
    unfetchable: list[Unfetchable]

    @property
    def index(self) -> IndexConfig:
        return self.environment.index or IndexConfig()

    @property
    def extra_indexes(self) -> list[str]:
        """Recorded extra indexes, plus the PyTorch index a ``+cpu``/``+cu121`` build needs."""
        urls = list(self.index.extra_index_urls)
        for pin in self.pins:
            label = pin.local_label
            if pin.name in PYTORCH_FAMILY and pin.origin.kind == "index" and label:
                url = PYTORCH_INDEX.format(label=label)
                if url not in urls and url != self.index.index_url:
                    urls.append(url)
        return urls

    @property
    def warnings(self) -> list[str]:
        notes = []
        if self.environment.origins is None:
            notes.append(
                "this run was recorded before samerun captured where packages came from; "
                "every package is pinned from the package index"
            )
        notes += [f"cannot be fetched again: {u.describe()}" for u in self.unfetchable]
        return notes


def file_path(url: str) -> Path | None:
    """The local path of a ``file:`` URL, else None."""
    parts = urlsplit(url)
    return Path(unquote(parts.path)) if parts.scheme == "file" else None


def lock_of(manifest: Manifest) -> Lock:
    """Classify every distribution of ``manifest``'s environment by how it can come back."""
    environment = manifest.inputs.environment
    code = manifest.inputs.code
    repository = Path(code.root).resolve() if code.vcs == "git" and code.root else None
    origins = environment.origins or {}
    pins: list[Pin] = []
    project: list[Pin] = []
    unfetchable: list[Unfetchable] = []
    for name, version in sorted(environment.packages.items()):
        pin = Pin(name, version, origins.get(name, Origin()))
        origin = pin.origin
        local = file_path(origin.url) if origin.url else None
        if origin.kind == "index" or (origin.kind in ("vcs", "archive") and local is None):
            if origin.kind == "vcs" and not origin.commit:
                unfetchable.append(Unfetchable(name, version, "VCS install without a commit"))
            else:
                pins.append(pin)
        elif origin.kind == "directory" and local is not None:
            if repository is not None and is_within(local.resolve(), repository):
                project.append(pin)
            else:
                where = "editable install of" if origin.editable else "installed from"
                unfetchable.append(
                    Unfetchable(name, version, f"{where} the local directory {local}", local)
                )
        elif local is not None and local.is_file():
            pins.append(pin)  # an archive file still here: pip checks it against the hash
        else:
            unfetchable.append(
                Unfetchable(name, version, f"the archive {local or origin.url} is gone", local)
            )
    return Lock(environment, pins, project, unfetchable)
