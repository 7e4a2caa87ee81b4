"""Where a project's store lives: ``.samerun/`` at the project root, opened by URL.

The project root is the nearest directory, from the working directory up, that holds
``.samerun/``; failing that the enclosing git repository; failing that the working directory.
``SAMERUN_ROOT`` overrides the search (the launcher sets it for its child).
``.samerun/config.yaml`` may name other stores (``metadata: postgresql://…``,
``objects: s3://bucket/prefix``; ``SAMERUN_METADATA_URL`` / ``SAMERUN_OBJECTS_URL`` override it),
a default ``seed`` for runs recorded without one, and ``require_clean: true``.
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
    "# remotes.yaml (the project's data remotes) and config.yaml (its settings) are shared\n"
    "*\n!remotes.yaml\n!config.yaml\n"
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

    @property
    def settings(self) -> Settings:
        """``.samerun/config.yaml``, checked: a file that is not a mapping, or a key with a
        value of the wrong kind, is a :class:`ConfigError` naming the file."""
        path = self.store_dir / "config.yaml"
        if not path.is_file():
            return Settings()
        import yaml

        try:
            loaded = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            raise ConfigError(str(path), f"not valid YAML ({err.__class__.__name__})") from None
        if loaded is None:
            return Settings()
        if not isinstance(loaded, dict):
            raise ConfigError(str(path), "expected a mapping (metadata, objects, seed, ...)")
        seed = loaded.get("seed")
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32
        ):
            raise ConfigError(str(path), f"seed: {seed!r} is not an integer 0..4294967295")
        require_clean = loaded.get("require_clean", False)
        if not isinstance(require_clean, bool):
            raise ConfigError(str(path), f"require_clean: {require_clean!r} is not true or false")
        metadata, objects = loaded.get("metadata"), loaded.get("objects")
        return Settings(
            None if metadata is None else str(metadata),
            None if objects is None else str(objects),
            seed,
            require_clean,
        )

    @property
    def metadata_url(self) -> str:
        return (
            os.environ.get("SAMERUN_METADATA_URL")
            or self.settings.metadata
            or f"sqlite:///{self.store_dir / 'meta.db'}"
        )

    @property
    def objects_url(self) -> str:
        return (
            os.environ.get("SAMERUN_OBJECTS_URL")
            or self.settings.objects
            or str(self.store_dir / "objects")
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


class Settings(NamedTuple):
    """A project's ``.samerun/config.yaml``. Committed (the store's .gitignore lets it through)
    so a team shares it: keep credentials out of it (use ``SAMERUN_METADATA_URL``)."""

    metadata: str | None = None  # a SQLAlchemy URL for the metadata store
    objects: str | None = None  # a local path or fsspec URL for the objects
    seed: int | None = None  # the seed of runs recorded without --seed
    require_clean: bool = False  # refuse to record from a tree with uncommitted changes


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
