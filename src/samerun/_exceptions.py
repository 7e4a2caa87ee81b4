"""One error tree: every failure samerun reports is a :class:`SamerunError`.

The tree is drawn in the docstring of :mod:`samerun`, which exports every class.
"""

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


class FilterError(UsageError):
    """A filter or sort key that does not parse, names an unknown field, or compares nonsense."""

    def __init__(self, text: str, position: int | None, reason: str) -> None:
        where = "" if position is None else f" at column {position + 1}"
        super().__init__(f"filter {text!r}{where}: {reason}")
        self.text = text
        self.position = position
        self.reason = reason


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


class PointerError(UsageError):
    """A dataset pointer file (``*.samerun``) is malformed or names an unsafe path."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"pointer file {path}: {reason}")
        self.path = path
        self.reason = reason


class UnsafePath(UsageError):
    """A path read from a pointer, a tree or the workspace would leave its root."""

    def __init__(self, path: str, where: str, reason: str) -> None:
        super().__init__(f"{where}: refusing path {path!r}: {reason}")
        self.path = path
        self.where = where
        self.reason = reason


class FileChanged(CaptureError):
    """A file changed while it was being hashed, so no hash of it can be trusted."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path} changed while it was being hashed; wait until it is fully written, then retry"
        )
        self.path = path


class WorkspaceConflict(SamerunError):
    """Checking out would overwrite or delete files whose content is stored nowhere."""

    def __init__(self, dataset: str, paths: list[str], what: str) -> None:
        shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        super().__init__(
            f"{dataset}: checkout would {what}: {shown}; "
            f"`samerun data add {dataset}` to keep them, or use --force"
        )
        self.dataset = dataset
        self.paths = paths


class RemoteError(StoreError):
    """A data remote is unknown, misconfigured or unreachable."""


class ReplayError(SamerunError):
    """A run cannot be replayed as recorded (missing commit, object, or command)."""


class EnvironmentRebuildError(SamerunError):
    """A recorded environment cannot be exported, rebuilt or checked as asked (another platform,
    a missing Python, a package no index has any more)."""


class InteropError(SamerunError):
    """Another tool's records cannot be taken as they are: not an MLflow tracking store, a DVC
    file naming a cache object that is missing or does not match its md5."""


class TraceNotFound(SamerunError):
    """A run recorded no trace to compare."""

    def __init__(self, run_id: str) -> None:
        super().__init__(
            f"run {run_id[:8]} recorded no trace; call samerun.trace(step, ...) or "
            "samerun.torch.trace_model(model) in its script to record one"
        )
        self.run_id = run_id
