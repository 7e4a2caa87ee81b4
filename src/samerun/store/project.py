"""Where a project's store lives: ``.samerun/`` at the project root, opened by URL.

The project root is the nearest directory, from the working directory up, that holds
``.samerun/``; failing that the enclosing git repository; failing that the working directory.
``SAMERUN_ROOT`` overrides the search (the launcher sets it for its child).
``.samerun/config.yaml`` may name other stores (``metadata: postgresql://…``,
``objects: s3://bucket/prefix``); ``SAMERUN_METADATA_URL`` / ``SAMERUN_OBJECTS_URL`` override it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from samerun._exceptions import ConfigError

if TYPE_CHECKING:  # the stores are imported when opened: data commands never need metadata
    from samerun.store.meta import MetaStore
    from samerun.store.objects import ObjectStore

STORE_DIRNAME = ".samerun"
_GITIGNORE = (
    "# samerun's store: metadata, objects and journals stay out of git;\n"
    "# remotes.yaml, the project's data remotes, is shared through it\n*\n!remotes.yaml\n"
)


def find_root(start: Path | None = None) -> Path:
    """The project root for ``start`` (default: the working directory)."""
    override = os.environ.get("SAMERUN_ROOT")
    if override:
        return Path(override).resolve()
    here = (start or Path.cwd()).resolve()
    candidates = [here, *here.parents]
    for directory in candidates:
        if (directory / STORE_DIRNAME).is_dir():
            return directory
    for directory in candidates:
        if (directory / ".git").exists():
            return directory
    return here


class Project(NamedTuple):
    """A project root and the URLs of its stores."""

    root: Path

    @property
    def store_dir(self) -> Path:
        return self.root / STORE_DIRNAME

    @property
    def exists(self) -> bool:
        """Whether ``init`` ran here (a fresh clone has only the committed remotes.yaml)."""
        return (self.store_dir / ".gitignore").is_file()

    def run_dir(self, run_id: str) -> Path:
        return self.store_dir / "runs" / run_id

    def _configured(self) -> dict[str, str]:
        path = self.store_dir / "config.yaml"
        if not path.is_file():
            return {}
        import yaml

        try:
            loaded = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            raise ConfigError(str(path), f"not valid YAML ({err.__class__.__name__})") from None
        if loaded is None:
            return {}
        if not isinstance(loaded, dict):
            raise ConfigError(str(path), "expected a mapping with `metadata` and `objects` keys")
        return {str(k): str(v) for k, v in loaded.items()}

    @property
    def metadata_url(self) -> str:
        return os.environ.get("SAMERUN_METADATA_URL") or self._configured().get(
            "metadata", f"sqlite:///{self.store_dir / 'meta.db'}"
        )

    @property
    def objects_url(self) -> str:
        return os.environ.get("SAMERUN_OBJECTS_URL") or self._configured().get(
            "objects", str(self.store_dir / "objects")
        )

    def init(self) -> bool:
        """Create ``.samerun/`` and its stores; True if anything was created."""
        created = not self.exists
        self.store_dir.mkdir(parents=True, exist_ok=True)
        ignore = self.store_dir / ".gitignore"
        if not ignore.exists():
            ignore.write_text(_GITIGNORE)
        from samerun.store.meta import open_meta_store

        open_meta_store(self.metadata_url, create=True).close()
        return created


class Store(NamedTuple):
    """An open project store: metadata rows and content-addressed objects."""

    project: Project
    meta: MetaStore
    objects: ObjectStore

    def close(self) -> None:
        self.meta.close()


def open_store(project: Project, *, create: bool = False) -> Store:
    """Open ``project``'s stores; with ``create`` they are made on first use."""
    from samerun.store.meta import open_meta_store
    from samerun.store.objects import open_object_store

    if create and not project.exists:
        project.init()
    meta = open_meta_store(project.metadata_url, create=create)
    return Store(project, meta, open_object_store(project.objects_url))
