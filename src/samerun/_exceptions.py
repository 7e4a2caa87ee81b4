"""One error tree: every failure samerun reports is a :class:`SamerunError`."""

from __future__ import annotations


class SamerunError(Exception):
    """Base of every error samerun raises on purpose; ``str(err)`` is one readable sentence."""


class UsageError(SamerunError):
    """The user asked for something malformed (bad ``-p`` syntax, a path outside the project)."""


class ConfigError(UsageError):
    """A configuration file is missing or cannot be parsed."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"config file {path}: {reason}")
        self.path = path
        self.reason = reason


class PathOutsideProject(UsageError):
    """A path given by the user or read from a record resolves outside its root."""

    def __init__(self, path: str, root: str) -> None:
        super().__init__(f"{path} is outside the project root {root}; use a path inside it")
        self.path = path
        self.root = root


class CaptureError(SamerunError):
    """Recording one of the run's pillars failed."""


class StoreError(SamerunError):
    """The metadata or object store cannot be opened, read or written."""


class ObjectNotFound(StoreError):
    """An object named by a record is not in the object store."""

    def __init__(self, oid: str) -> None:
        super().__init__(f"object {oid} is not in the object store")
        self.oid = oid


class ObjectCorrupt(StoreError):
    """An object's bytes no longer match the hash that names it."""

    def __init__(self, oid: str, path: str) -> None:
        super().__init__(
            f"object {oid} at {path} is corrupt: its content no longer matches its hash"
        )
        self.oid = oid
        self.path = path


class RunNotFound(SamerunError):
    """A run reference matched no run, or more than one."""

    def __init__(self, ref: str, reason: str = "no run matches it") -> None:
        super().__init__(f"run {ref!r}: {reason}; see `samerun runs` for the ids")
        self.ref = ref


class RunStateError(SamerunError):
    """The run is not in a state that allows the operation (e.g. logging after it finished)."""
