"""The registry's operations over one open store: register, alias, history, check, rollback,
get, card and watch. Runs are read through :mod:`samerun.api`; nothing here prints."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from samerun._exceptions import (
    ObjectCorrupt,
    ObjectNotFound,
    RunNotFound,
    RunStateError,
    StoreError,
    UsageError,
)
from samerun.api import RecordedRun, RunReader
from samerun.capture.environment import capture_environment
from samerun.data.tree import load_tree
from samerun.hashing import hash_file
from samerun.manifest import Artifact
from samerun.paths import inside
from samerun.registry.card import render_card
from samerun.registry.model import (
    AliasEvent,
    ChainCheck,
    EventKind,
    History,
    Materialized,
    ModelRef,
    ModelSummary,
    ModelVersion,
    Rollback,
    Watch,
    alias_name,
    model_name,
)
from samerun.registry.store import RegistryStore
from samerun.status import Verdict
from samerun.store.project import Store
from samerun.summary import VerificationRecord

#: Verdicts that let a rollback move an alias.
_GOOD: tuple[Verdict, ...] = ("identical", "equivalent")
#: What ``get`` writes next to a materialized version: each file's (size, mtime, inode) when
#: placed, so a later ``get`` trusts an unchanged copy without hashing it again.
_MARK = ".samerun-placed.json"


def current_user() -> str:
    """Who moves an alias: ``SAMERUN_USER``, else the operating system's user."""
    return os.environ.get("SAMERUN_USER") or getpass.getuser()


def _no_events(_message: str) -> None:
    """The default ``on_event``: replays report nothing."""


class Registry:
    """The model registry of one open store (the caller closes the store).

    ``actor`` is who registers and moves aliases (:func:`current_user` by default; the team
    server passes the signed-in user). ``projects``, on a team server, narrows it to the models
    of those projects (a model belongs to its first version's run's project) and to registering
    from their runs.
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], float] = time.time,
        actor: str | None = None,
        projects: Sequence[str] | None = None,
    ) -> None:
        self.store = store
        self.rows = RegistryStore(store.meta)
        self.clock = clock
        self.actor = actor or current_user()
        self.projects = projects
        self.runs = RunReader(store, projects=projects)

    # -- versions ------------------------------------------------------------------------------
    def register(
        self,
        name: str,
        run: str,
        artifacts: Sequence[str] = (),
        *,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        """Register the next version of model ``name`` from the finished run ``run``.

        ``artifacts`` are paths the run recorded as outputs (all of them when none are given);
        each must be in the object store. A path the run did not produce is refused.
        """
        model_name(name)
        recorded = self.runs.get_run(run)
        if self.projects is not None and self.rows.model_exists(name):
            self._existing(name)  # a new version of another project's model is refused
        if recorded.status != "finished":
            raise RunStateError(
                f"run {recorded.id[:8]} is {recorded.status}; register a version from a"
                " finished run"
            )
        produced = {a.path: a for a in recorded.manifest.outputs.artifacts}
        if not produced:
            raise UsageError(
                f"run {recorded.id[:8]} recorded no artifacts; record the model file with"
                " `samerun record -o PATH` or samerun.log_artifact(PATH)"
            )
        unknown = [p for p in artifacts if p.strip("/") not in produced]
        if unknown:
            raise UsageError(
                f"run {recorded.id[:8]} did not produce {unknown[0]!r}; it produced:"
                f" {', '.join(sorted(produced))}"
            )
        files = [produced[p.strip("/")] for p in dict.fromkeys(artifacts)] or list(
            produced.values()
        )
        absent = [f.path for f in files if not self.store.objects.exists(f.oid)]
        if absent:
            raise StoreError(
                f"{absent[0]} of run {recorded.id[:8]} is not in the object store;"
                " `samerun data pull` it first"
            )
        return self.rows.add_version(
            name,
            recorded.id,
            sorted(files, key=lambda f: f.path),
            description,
            dict(tags or {}),
            self.clock(),
            self.actor,
        )

    def resolve(self, ref: str | ModelRef) -> ModelVersion:
        """The version ``NAME``, ``NAME:VERSION`` or ``NAME@ALIAS`` names."""
        parsed = ModelRef.parse(ref) if isinstance(ref, str) else ref
        self._existing(parsed.name)
        if parsed.alias is not None:
            number = self.rows.alias_target(parsed.name, parsed.alias)
            if number is None:
                known = ", ".join(self.rows.aliases(parsed.name)) or "none yet"
                raise UsageError(
                    f"model {parsed.name} has no alias {parsed.alias!r} (aliases: {known})"
                )
        else:
            number = parsed.version or self.rows.latest(parsed.name)
        found = None if number is None else self.rows.version(parsed.name, number)
        if found is None:
            raise UsageError(
                f"model {parsed.name} has no version {number}; see `samerun model show"
                f" {parsed.name}`"
            )
        return found

    def models(self) -> list[ModelSummary]:
        return self.rows.summaries(self.projects)

    def versions(self, name: str) -> list[ModelVersion]:
        self._existing(name)
        return self.rows.versions(name)

    def aliases(self, name: str) -> dict[str, int]:
        self._existing(name)
        return self.rows.aliases(name)

    def run_of(self, version: ModelVersion) -> RecordedRun:
        return self.runs.get_run(version.run_id)

    # -- aliases -------------------------------------------------------------------------------
    def set_alias(self, name: str, alias: str, version: int, *, reason: str = "") -> AliasEvent:
        """Point ``alias`` of model ``name`` at ``version``: an event appended to its history."""
        target = self.resolve(ModelRef(model_name(name), version=version))
        return self._move(target, alias_name(alias), "set", reason)

    def _move(self, target: ModelVersion, alias: str, kind: EventKind, reason: str) -> AliasEvent:
        return self.rows.append_event(
            target.model,
            alias,
            target.version,
            kind=kind,
            actor=self.actor,
            at=self.clock(),
            reason=reason,
        )

    def history(self, name: str, *, alias: str | None = None, at: float | None = None) -> History:
        """The alias moves of model ``name`` (of ``alias`` only, up to ``at`` if given), and
        where each alias pointed at ``at`` (now, without it)."""
        self._existing(name)
        if alias is not None:
            alias_name(alias)
        events = self.rows.events(name, alias=alias, until=at)
        state = self.rows.aliases(name) if at is None else self.rows.aliases_at(name, at)
        if alias is not None:
            state = {k: v for k, v in state.items() if k == alias}
        return History(name, events, state, at)

    def check_history(self, name: str) -> ChainCheck:
        """Re-walk the model's event chain: each event's hash, its link to the one before, the
        sequence without gaps, and the model's recorded head at the end."""
        self._existing(name)
        events = self.rows.events(name)
        problems = []
        previous: str | None = None
        for expected, event in enumerate(events, start=1):
            where = f"event {event.seq} ({event.alias} → v{event.to_version})"
            if event.seq != expected:
                problems.append(f"event {expected} is missing: deleted from the history")
            if AliasEvent.sealed(**event.body()).hash != event.hash:
                problems.append(f"{where} was edited: its content no longer matches its hash")
            if event.prev_hash != previous:
                problems.append(f"{where} does not follow the event before it in the chain")
            previous = event.hash
        if self.rows.head(name) != previous:
            problems.append(
                f"the chain of {name} ends at event {len(events)}, but its recorded head does"
                " not: a later event was deleted or the head was edited"
            )
        return ChainCheck(name, len(events), list(dict.fromkeys(problems)))

    def rollback(
        self,
        name: str,
        alias: str,
        *,
        to: int | None = None,
        steps: int = 1,
        verify: bool = False,
        reason: str = "",
        on_event: Callable[[str], None] = _no_events,
    ) -> Rollback:
        """Move ``alias`` back to an earlier holder: ``to`` (a version that held it before) or
        the holder ``steps`` moves back. Every file of the target is re-hashed first; with
        ``verify`` the target's run must have verified ``identical`` or ``equivalent`` (it is
        replayed when it has no verification). Refused, with why, otherwise: nothing moves."""
        self._existing(name)
        alias_name(alias)
        held = [e.to_version for e in self.rows.events(name, alias=alias)]
        if not held:
            raise UsageError(f"model {name} has no alias {alias!r}; nothing to roll back")
        target_number = _earlier_holder(name, alias, held, to, steps)
        target = self.resolve(ModelRef(name, version=target_number))
        checked = self.check_files(target)
        verdict = self._verdict(target, on_event) if verify else None
        why = reason or f"rollback from v{held[-1]} to v{target.version}"
        event = self._move(target, alias, "rollback", why)
        return Rollback(event, target, checked, verdict)

    def _verdict(self, target: ModelVersion, on_event: Callable[[str], None]) -> Verdict:
        """The target run's latest verdict, replaying it when it has none or when that one was
        reached with other packages than this environment's; refuses a bad verdict."""
        run = self.run_of(target)
        stale = self._stale_reason(run.verifications[-1]) if run.verifications else "never"
        if stale is None:
            last = run.verifications[-1]
            verdict, causes = last.verdict, last.causes
        else:
            from samerun.verify.replay import verify  # start-up: only a rollback replays

            why = "was never verified" if stale == "never" else stale
            on_event(f"run {target.run_id[:8]} of {target.label} {why}: replaying it")
            result = verify(self.store, target.run_id, on_event=on_event)
            verdict, causes = result.verdict, result.causes or result.missing
        if verdict not in _GOOD:
            because = f" ({'; '.join(causes)})" if causes else ""
            raise RunStateError(
                f"refusing to roll back to {target.label}: its run {target.run_id[:8]} is"
                f" {verdict}{because}; nothing was moved"
            )
        return verdict

    def _stale_reason(self, last: VerificationRecord) -> str | None:
        """Why ``last`` no longer says whether the run reproduces here (None: it does): its
        replay ran with other packages than the environment in use now."""
        if last.replay is None:
            return None
        try:
            replayed = self.runs.get_run(last.replay).manifest.inputs.environment
        except RunNotFound:
            return None
        if replayed.packages_hash == capture_environment().packages_hash:
            return None
        return "was last verified with other packages than this environment's"

    # -- files ---------------------------------------------------------------------------------
    def check_files(self, version: ModelVersion) -> int:
        """Re-hash every file of ``version`` (each file of a directory too); how many there
        were. A missing or changed one is a StoreError naming it."""
        checked = 0
        for artifact in version.files:
            for path, oid in self.objects_of(version, artifact):
                local = self.store.objects.path_of(oid)
                try:
                    if local is None:
                        self.store.objects.get_bytes(oid)  # checks the hash
                    elif hash_file(local) != oid:
                        raise ObjectCorrupt(oid, str(local))
                except FileNotFoundError:
                    raise _damaged(version, path, ObjectNotFound(oid)) from None
                except (ObjectNotFound, ObjectCorrupt) as err:
                    raise _damaged(version, path, err) from None
                checked += 1
        return checked

    def objects_of(self, version: ModelVersion, artifact: Artifact) -> list[tuple[str, str]]:
        """(path, object) of each file of ``artifact``: itself, or a directory's entries."""
        if artifact.kind == "file":
            return [(artifact.path, artifact.oid)]
        try:
            tree = load_tree(self.store.objects, artifact.oid)
        except (ObjectNotFound, ObjectCorrupt) as err:
            raise _damaged(version, artifact.path, err) from None
        return [(f"{artifact.path}/{e.path}", e.oid) for e in tree.entries]

    def get(self, ref: str | ModelRef, dest: Path | None = None) -> Materialized:
        """The local paths of the files ``ref`` names, materialized and checked by hash.

        Without ``dest`` they are kept in the store (``.samerun/models/NAME/vN/``) and reused
        while unchanged; with ``dest`` they are placed under that directory, which must not
        hold them yet. Files are never loaded, let alone unpickled.
        """
        version = self.resolve(ref)
        if dest is None:
            root = self.store.project.store_dir / "models" / version.model / f"v{version.version}"
            if not _unchanged(root):
                self._place_kept(version, root)
        else:
            root = dest
            clashes = [f.path for f in version.files if (dest / f.path).exists()]
            if clashes:
                raise UsageError(f"{dest / clashes[0]} already exists; choose another directory")
            staging = self._staged(version, dest.parent / f".{dest.name}.samerun-{os.getpid()}")
            try:
                for artifact in version.files:
                    placed = inside(dest, artifact.path, version.label)
                    placed.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staging / artifact.path, placed)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return Materialized(version, root, [root / f.path for f in version.files])

    def _place_kept(self, version: ModelVersion, root: Path) -> None:
        """Materialize ``version`` at ``root`` in the store, replacing a changed copy; a
        concurrent ``get`` of the same version leaves one complete copy."""
        shutil.rmtree(root, ignore_errors=True)
        staging = self._staged(version, root.with_name(f".{root.name}.{os.getpid()}"))
        try:
            _mark(staging)
            os.rename(staging, root)
        except OSError:
            if not _unchanged(root):
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _staged(self, version: ModelVersion, staging: Path) -> Path:
        """``version``'s files materialized under the new directory ``staging``; a damaged
        object is a StoreError naming the file, and leaves nothing behind."""
        from samerun.data.checkout import materialize  # start-up: a kept copy needs none

        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            for artifact in version.files:
                try:
                    materialize(
                        artifact.oid,
                        inside(staging, artifact.path, version.label),
                        self.store.objects,
                    )
                except (ObjectNotFound, ObjectCorrupt) as err:
                    raise _damaged(version, artifact.path, err) from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return staging

    # -- reports -------------------------------------------------------------------------------
    def card(self, ref: str | ModelRef) -> str:
        """A Markdown provenance card of the version ``ref`` names."""
        version = self.resolve(ref)
        pointing = sorted(
            a for a, v in self.rows.aliases(version.model).items() if v == version.version
        )
        return render_card(version, self.run_of(version), pointing)

    def watch(self, ref: str | ModelRef, *, on_event: Callable[[str], None] = _no_events) -> Watch:
        """Re-verify (replay) the run of the version ``ref`` names now, and compare the verdict
        with its last one: a dependency released since may have made it diverge."""
        from samerun.verify.replay import EXIT_CODES, verify  # start-up: only watch replays

        version = self.resolve(ref)
        before = self.run_of(version).verifications
        result = verify(self.store, version.run_id, on_event=on_event)
        return Watch(
            str(ref),
            version,
            before[-1].verdict if before else None,
            result.verdict,
            result.causes or result.missing,
            EXIT_CODES[result.verdict],
        )

    def protected(self, name: str) -> list[str]:
        """The aliases of model ``name`` only a team server's maintainers may move."""
        self._existing(name)
        return self.rows.protected(name)

    def protect(self, name: str, alias: str, on: bool = True) -> list[str]:
        """Protect ``alias`` of model ``name`` (or, with ``on`` false, lift it); the aliases
        protected now."""
        self._existing(name)
        self.rows.set_protected(name, alias_name(alias), on, actor=self.actor, at=self.clock())
        return self.rows.protected(name)

    def _existing(self, name: str) -> None:
        model_name(name)
        exists = self.rows.model_exists(name)
        if exists and self.projects is not None:
            exists = self.rows.project_of(name) in self.projects
        if not exists:
            raise UsageError(f"no model named {name!r}; see `samerun model list`")


def _earlier_holder(name: str, alias: str, held: list[int], to: int | None, steps: int) -> int:
    """The version a rollback of ``alias`` goes to, from the versions it held, oldest first."""
    current = held[-1]
    if to is not None:
        if to == current:
            raise UsageError(f"{name}@{alias} already points at v{to}; nothing to roll back")
        if to not in held:
            raise UsageError(
                f"v{to} never held {name}@{alias} (it held {', '.join(f'v{v}' for v in held)});"
                " use `samerun model alias` to point it at a new version"
            )
        return to
    if steps < 1:
        raise UsageError("--steps must be at least 1")
    if steps >= len(held):
        raise UsageError(
            f"{name}@{alias} has no holder {steps} move(s) back: it was only ever moved"
            f" {len(held)} time(s)"
        )
    return held[-1 - steps]


def _damaged(version: ModelVersion, path: str, err: Exception) -> StoreError:
    return StoreError(f"{version.label}: file {path} cannot be used: {err}")


def _stats(root: Path) -> dict[str, list[int]]:
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != _MARK:
            st = path.stat()
            found[path.relative_to(root).as_posix()] = [st.st_size, st.st_mtime_ns, st.st_ino]
    return found


def _mark(root: Path) -> None:
    (root / _MARK).write_text(json.dumps(_stats(root), sort_keys=True))


def _unchanged(root: Path) -> bool:
    """Whether ``root`` holds a materialized copy whose files are as they were placed."""
    try:
        placed = json.loads((root / _MARK).read_text())
    except (OSError, ValueError):
        return False
    return bool(placed) and placed == _stats(root)
