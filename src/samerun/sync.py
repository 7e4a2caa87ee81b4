"""Moving runs between a local store and a team server: ``samerun push`` and ``samerun pull``.

Local-first: a run is recorded locally, then pushed. The client asks the server which of the
run's objects it lacks (``POST .../objects/missing``), sends those (small ones in packs,
``POST .../objects``, larger ones alone, ``PUT .../objects/{oid}``; each re-hashed by the server,
never deserialized), then the manifest (``POST .../runs``), which the
server inserts whole, in one transaction, once every object it names is there. Every step is
idempotent, so a push cut off anywhere is finished by running it again, which sends only what
is still missing. Pulling is the same in reverse: the manifest, then each object it names
(re-hashed on arrival), then the run's rows, in one transaction.

The library never prints: the CLI (:mod:`samerun.cli.sync`) reports what these functions return.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

import httpx

from samerun._atomic import atomic_write
from samerun._exceptions import RemoteError, SamerunError
from samerun.capture.code import strip_url_credentials
from samerun.data.tree import load_tree
from samerun.hashing import hash_bytes, hash_file
from samerun.manifest import Manifest, load_manifest
from samerun.status import EndStatus
from samerun.store.meta import RunCompletion, RunRow
from samerun.store.objects import Held, ObjectStore, Stored
from samerun.store.project import Store

#: The largest object the server takes (a checkpoint of a few billion parameters in fp16 is
#: larger: such runs keep their weights in a data remote and name them as a dataset).
MAX_OBJECT_BYTES = 512 * 1024 * 1024
#: The most object ids one ``objects/missing`` request may ask about: a push asks in batches.
MAX_OIDS_PER_REQUEST = 10_000
CHUNK_BYTES = 1024 * 1024
TIMEOUT_S = 60.0
#: How often a request is tried, and the first wait between tries (doubled each time: about
#: 15 s in all before a push or pull gives up on a server that is down).
ATTEMPTS = 5
FIRST_WAIT_S = 1.0
UNAVAILABLE = frozenset({502, 503, 504})
#: Objects up to PACKED_OBJECT_BYTES travel together, in packs of up to PACK_BYTES (one
#: request, one grant transaction, instead of one of each per object: a run's metric series and
#: small files are most of a push's objects). Larger objects are streamed one by one. A pack is
#: held in memory on both sides, so packs in flight (TRANSFERS_AT_ONCE) bound a push's memory:
#: with 8 MiB packs, pushing 1,000 runs took 10.7 s instead of 13.3 s, but the client's peak
#: RSS was 261 MB instead of 144 MB and the server's 510 MB instead of 344 MB.
PACK_BYTES = 2 * 1024 * 1024
PACKED_OBJECT_BYTES = 1024 * 1024
#: How many uploads (then run records) a push has in flight at once: enough to keep a few
#: server workers busy, few enough that a push does not crowd out everyone else's requests.
TRANSFERS_AT_ONCE = 8
#: Where the local store remembers which runs went to which server and project.
PUSHED_FILE = "pushed.json"


class SyncConflict(SamerunError):
    """The server (or the local store) cannot take a run as sent: objects it names are missing,
    or a different run has its id."""

    def __init__(self, message: str, missing: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.missing = list(missing)


class Pushed(NamedTuple):
    """What pushing one run did: how many objects were sent, whether the run was new there."""

    run_id: str
    objects_sent: int
    created: bool


class Pulled(NamedTuple):
    """What pulling one run did: how many objects were fetched, whether the run was new here."""

    run_id: str
    objects_fetched: int
    created: bool


# -- what a run is made of -------------------------------------------------------------------


def named_objects(manifest: Manifest) -> list[str]:
    """The objects ``manifest`` names directly (trees unexpanded), sorted: its code patch,
    config, the data it read, its artifacts, metric series and trace. A server holds a run
    only once it holds all of them."""
    return sorted({oid for oid, _ in _roots(manifest)})


def _roots(manifest: Manifest) -> Iterator[tuple[str, bool]]:
    """(oid, whether it is a tree) of each object ``manifest`` names."""
    inputs, outputs = manifest.inputs, manifest.outputs
    if inputs.code.patch is not None:
        yield inputs.code.patch, False
    if inputs.config is not None and inputs.config.oid is not None:
        yield inputs.config.oid, False
    for data in inputs.data:
        if data.oid is not None:
            yield data.oid, data.kind == "dir"
    for artifact in outputs.artifacts:
        yield artifact.oid, artifact.kind == "dir"
    for metric in outputs.metrics.values():
        yield metric.series, False
    if outputs.trace is not None:
        yield outputs.trace.oid, False


def run_objects(objects: ObjectStore, manifest: Manifest) -> list[str]:
    """Every object ``manifest``'s run needs, each tree's files before the tree (the trees
    held by ``objects``): what a push sends and a server checks it was sent."""
    return _with_files(objects, _roots(manifest))


def _with_files(objects: ObjectStore, roots: Iterable[tuple[str, bool]]) -> list[str]:
    """``roots`` with each tree's files before the tree (all held by ``objects``)."""
    found: dict[str, None] = {}
    for oid, is_tree in roots:
        if is_tree:
            found.update(dict.fromkeys(e.oid for e in load_tree(objects, oid).entries))
        found[oid] = None
    return list(found)


def _ending(manifest: Manifest) -> tuple[EndStatus, float]:
    """How and when ``manifest``'s run ended; a run still running is refused."""
    if manifest.status == "running" or manifest.ended_at is None:
        raise SyncConflict(f"run {manifest.id} is still running; push it once it has ended")
    return manifest.status, manifest.ended_at


def run_records(
    manifest: Manifest, manifest_oid: str, canonical: bytes
) -> tuple[RunRow, RunCompletion]:
    """The metadata rows of a finished run that arrives whole, from its manifest alone (and its
    ``canonical`` bytes, which the caller has hashed already: each spelling of a record is a
    walk over hundreds of values). The metric points themselves stay in their series objects
    (the rows hold summaries)."""
    status, ended_at = _ending(manifest)
    code, outputs = manifest.inputs.code, manifest.outputs
    input_fingerprint = manifest.input_fingerprint
    unknown_seed = manifest.imported is not None and "randomness" in manifest.imported.unknown
    row = RunRow(
        id=manifest.id,
        name=manifest.name,
        status=manifest.status,
        started_at=manifest.started_at,
        ended_at=None,
        exit_code=None,
        signal=None,
        error=None,
        seed=None if unknown_seed else manifest.inputs.randomness.seed,
        commit_sha=code.commit,
        dirty=code.dirty,
        input_fp=input_fingerprint,
        output_fp=None,
        hostname=str(manifest.host.get("hostname", "")),
        pid=0,  # not a process of this machine: never reaped as dead
        pid_started=0.0,
        replay_of=manifest.replay_of,
    )
    done = RunCompletion(
        status=status,
        name=manifest.name,
        ended_at=ended_at,
        exit_code=manifest.exit_code,
        signal=manifest.signal,
        error=manifest.error,
        input_fp=input_fingerprint,
        output_fp=manifest.output_fingerprint,
        manifest=canonical.decode(),
        manifest_oid=manifest_oid,
        summary={k: m.last for k, m in outputs.metrics.items()},
        params=manifest.inputs.params,
        metric_summaries=outputs.metrics,
        metrics=(),
        artifacts=[(a.path, a.oid, a.size, a.kind) for a in outputs.artifacts],
    )
    return row, done


def import_run(
    store: Store,
    manifest: Manifest,
    *,
    project: str | None = None,
    metrics: Iterable[tuple[str, int, float, float]] = (),
) -> bool:
    """Insert ``manifest``'s run into ``store`` (filed under ``project``) in one transaction.

    ``metrics`` are its metric points (key, step, value, timestamp) where the sender has them
    with their timestamps (a run imported from another tool); otherwise the series objects
    its manifest names hold them.

    False, and nothing written, when the store already holds it as sent; :class:`SyncConflict`
    when a different run has its id (or one filed elsewhere), or objects it names are missing.
    """
    held = store.meta.select(
        "SELECT manifest, project FROM runs WHERE id = :id", {"id": manifest.id}
    )
    canonical = manifest.canonical()
    if held:
        text, filed = held[0]
        if text.encode() == canonical and filed == project:
            return False
        raise SyncConflict(f"a different run with id {manifest.id} is already stored")
    missing = [oid for oid in named_objects(manifest) if not store.objects.exists(oid)]
    if missing:
        raise SyncConflict(
            f"run {manifest.id} names {len(missing)} objects not stored yet, such as "
            f"{missing[0]}; send them first",
            missing,
        )
    row, done = run_records(manifest, store.objects.put_bytes(canonical), canonical)
    store.meta.import_run(row, replace(done, metrics=metrics), project=project)
    return True


# -- object packs --------------------------------------------------------------------------


def pack(objects: Iterable[tuple[str, bytes]]) -> bytes:
    """Objects as one upload body: for each, ``<oid> <size>\\n`` then its bytes."""
    return b"".join(f"{oid} {len(data)}\n".encode() + data for oid, data in objects)


def unpack(body: bytes) -> list[tuple[str, bytes]]:
    """The (oid, bytes) a :func:`pack` body holds, as sent (nothing checked but the framing);
    ValueError when it is not one."""
    found: list[tuple[str, bytes]] = []
    at = 0
    while at < len(body):
        end = body.find(b"\n", at, at + 200)
        if end < 0:
            raise ValueError(f"no object header at byte {at}")
        oid, _, size = body[at:end].decode("ascii", "replace").partition(" ")
        if not size.isdigit() or end + 1 + int(size) > len(body):
            raise ValueError(f"object {oid[:80]!r} at byte {at} has no size or is cut short")
        at = end + 1 + int(size)
        found.append((oid, body[end + 1 : at]))
    return found


def _batches(objects: ObjectStore, oids: Sequence[str]) -> Iterator[list[str]]:
    """``oids`` as upload batches: small local objects together, up to :data:`PACK_BYTES`; each
    other object alone (a batch of one is sent as a plain upload)."""
    batch: list[str] = []
    size = 0
    for oid in oids:
        path = objects.path_of(oid)
        length = path.stat().st_size if path is not None else None
        if length is None or length > PACKED_OBJECT_BYTES:
            yield [oid]
            continue
        if batch and size + length > PACK_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(oid)
        size += length
    if batch:
        yield batch


# -- the client ------------------------------------------------------------------------------


class Remote:
    """A team server's sync API, as a user with an API token calls it.

    Every request the client sends is idempotent, so each is retried when the server answers
    that it is unavailable (502, 503, 504), or cannot be reached once it has answered before:
    up to :data:`ATTEMPTS` times, waiting :data:`FIRST_WAIT_S`, then twice as long each time. A
    server restarted within that time (after a crash, or a deployment) sees the push or pull
    finish as if nothing happened; a server never reached (a wrong URL, a server down before the
    command began) is said at once.

    ``client`` is the HTTP client to send through (tests pass the server's in-process one);
    by default one of ``httpx``'s own to ``url``.
    """

    def __init__(self, url: str, token: str, *, client: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/")
        self._client = client or httpx.Client(base_url=self.url, timeout=TIMEOUT_S)
        self._auth = {"authorization": f"Bearer {token}"}
        self._reached = False  # whether the server has answered this client yet

    def close(self) -> None:
        self._client.close()

    def _send(
        self, method: str, path: str, *, stream: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """Send a request (retried as the class says); any failure is a :class:`RemoteError`
        saying what went wrong. A ``content`` that is a :class:`Path` is the file's bytes,
        streamed, and read again for each attempt. With ``stream`` the response's body is
        left to read (and the response to close) to the caller."""
        headers = {**self._auth, **kwargs.pop("headers", {})}
        content = kwargs.pop("content", None)
        for attempt in range(ATTEMPTS):
            try:
                with contextlib.ExitStack() as opened:
                    body = (
                        opened.enter_context(content.open("rb"))
                        if isinstance(content, Path)
                        else content
                    )
                    request = self._client.build_request(
                        method, path, headers=headers, content=body, **kwargs
                    )
                    response = self._client.send(request, stream=stream)
            except httpx.TransportError as err:
                if not self._reached or attempt + 1 == ATTEMPTS:
                    raise RemoteError(f"cannot reach the server at {self.url}: {err}") from err
            else:
                self._reached = True
                if response.status_code not in UNAVAILABLE or attempt + 1 == ATTEMPTS:
                    if response.is_error:
                        response.read()
                        response.close()
                    _check(response, self.url)
                    return response
                response.close()
            time.sleep(FIRST_WAIT_S * 2**attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def user(self) -> str:
        """The name of the token's user (the token is checked)."""
        return str(self._send("GET", "/api/v1/session").json()["user"])

    def missing(self, project: str, oids: Sequence[str]) -> list[str]:
        """Which of ``oids`` the server's ``project`` lacks (asked in batches)."""
        found: list[str] = []
        for start in range(0, len(oids), MAX_OIDS_PER_REQUEST):
            batch = list(oids[start : start + MAX_OIDS_PER_REQUEST])
            done = self._send("POST", _in(project, "objects/missing"), json={"oids": batch})
            found.extend(str(oid) for oid in done.json()["missing"])
        return found

    def objects(self, project: str) -> Iterator[str]:
        """Every object the server's ``project`` holds, a page at a time."""
        after = ""
        while True:
            params = {"after": after, "limit": MAX_OIDS_PER_REQUEST}
            page = self._send("GET", _in(project, "objects"), params=params).json()
            yield from (str(oid) for oid in page["oids"])
            if page["next"] is None:
                return
            after = str(page["next"])

    def put_object(self, project: str, oid: str, objects: ObjectStore) -> None:
        """Send object ``oid`` of ``objects`` (streamed from its file where it has one)."""
        path = objects.path_of(oid)
        self.upload(project, oid, objects.get_bytes(oid) if path is None else path)

    def put_objects(self, project: str, oids: Sequence[str], objects: ObjectStore) -> None:
        """Send objects ``oids`` of ``objects``: one alone as a plain upload, several as one
        pack (:func:`pack`), which the server re-hashes object by object."""
        if len(oids) == 1:
            self.put_object(project, oids[0], objects)
            return
        body = pack((oid, objects.get_bytes(oid)) for oid in oids)
        headers = {"content-type": "application/octet-stream"}
        self._send("POST", _in(project, "objects"), content=body, headers=headers)

    def upload(self, project: str, oid: str, content: bytes | Path) -> None:
        """Send ``content`` (bytes, or a file's, streamed) as object ``oid`` of ``project``."""
        headers = {"content-type": "application/octet-stream"}
        self._send("PUT", _in(project, f"objects/{oid}"), content=content, headers=headers)

    def send_run(self, project: str, manifest_json: str, tags: dict[str, str]) -> bool:
        """Send a run's manifest (the JSON text its store holds, as is: parsing and spelling it
        again would only cost time) and tags; True if the server did not hold it yet."""
        body = f'{{"manifest":{manifest_json},"tags":{json.dumps(tags)}}}'.encode()
        headers = {"content-type": "application/json"}
        done = self._send("POST", _in(project, "runs"), content=body, headers=headers)
        return bool(done.json()["created"])

    def manifest(self, project: str, ref: str) -> Manifest:
        return Manifest.from_dict(self._send("GET", _in(project, f"runs/{ref}/manifest")).json())

    def fetch_object(self, project: str, oid: str, objects: ObjectStore, scratch: Path) -> None:
        """Stream object ``oid`` into ``objects``; refused (nothing stored) if its bytes do not
        hash to ``oid``. ``scratch`` is a directory for the download in progress."""
        fd, tmp = tempfile.mkstemp(dir=scratch, prefix="pull-")
        os.close(fd)
        try:
            self.download(project, oid, Path(tmp))
            objects.put_file(tmp, oid)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def download(self, project: str, oid: str, dest: Path) -> None:
        """Write object ``oid`` of ``project`` to ``dest``, checked: bytes that do not hash to
        ``oid`` are removed and refused."""
        with dest.open("wb") as handle:
            response = self._send("GET", _in(project, f"objects/{oid}"), stream=True)
            try:
                for chunk in response.iter_bytes(CHUNK_BYTES):
                    handle.write(chunk)
            except httpx.HTTPError as err:
                raise RemoteError(f"cannot reach the server at {self.url}: {err}") from err
            finally:
                response.close()
        if hash_file(dest) != oid:
            dest.unlink()
            raise RemoteError(f"the server sent bytes that do not hash to object {oid}")


class ServerObjects:
    """A team server's project as an object store: a data remote whose URL is a server's
    (``samerun remote add team https://HOST/projects/NAME``), so ``samerun data push`` and
    ``pull`` move datasets through the server, sent and checked as a push's objects are."""

    def __init__(self, remote: Remote, project: str) -> None:
        self.remote = remote
        self.project = project
        self.url = f"{remote.url}/projects/{project}"

    def exists(self, oid: str) -> bool:
        return not self.remote.missing(self.project, [oid])

    def put_bytes(self, data: bytes, oid: str | None = None) -> str:
        oid = oid or hash_bytes(data)
        self.remote.upload(self.project, oid, data)
        return oid

    def put_file(
        self,
        path: str | os.PathLike[str],
        oid: str | None = None,
        *,
        link: bool = False,
        held: Held | None = None,
    ) -> Stored:
        """See :meth:`ObjectStore.put_file`: the server hashes what it receives and refuses
        bytes that are not ``oid``'s, so a file that changed while it was sent is refused
        there; ``link`` and ``held`` change nothing here."""
        file = Path(path)
        oid = oid or hash_file(file)
        self.remote.upload(self.project, oid, file)
        return Stored(oid, file.stat().st_size)

    def get_bytes(self, oid: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="samerun-get-") as scratch:
            target = Path(scratch, "object")
            self.remote.download(self.project, oid, target)
            return target.read_bytes()

    def fetch_to(self, oid: str, dest: Path) -> None:
        self.remote.download(self.project, oid, dest)

    def iter_oids(self) -> Iterator[str]:
        return self.remote.objects(self.project)

    def remove(self, oid: str) -> None:
        raise RemoteError("a team server's objects are removed on the server, not by a client")

    def path_of(self, oid: str) -> Path | None:
        return None

    def read_only_protects(self) -> bool:
        return False

    def remove_stale_temps(self, older_than_s: float) -> int:
        return 0


def server_address(url: str) -> tuple[str, str]:
    """(the server's URL, the project) of a team server's project URL,
    ``http[s]://HOST[:PORT][/PREFIX]/projects/NAME``."""
    parts = urlsplit(url.rstrip("/"))
    base, marker, project = parts.path.rpartition("/projects/")
    if parts.scheme not in ("http", "https") or not marker or not project or "/" in project:
        shown = strip_url_credentials(url)
        raise RemoteError(
            f"{shown!r} is not a team server's project: use https://HOST/projects/NAME"
        )
    return urlunsplit((parts.scheme, parts.netloc, base, "", "")), project


def open_server(url: str) -> tuple[Remote, str]:
    """The server of project URL ``url`` (with the token ``samerun login`` kept for it), and
    the project."""
    server, project = server_address(url)
    return Remote(server, token_for(server)), project


def _in(project: str, rest: str) -> str:
    return f"/api/v1/projects/{project}/{rest}"


def _check(response: httpx.Response, url: str) -> None:
    """Raise the server's one-sentence refusal (``{"error": ...}``) of ``response``, if any."""
    if not response.is_error:
        return
    try:
        message = str(response.json()["error"])
    except (ValueError, KeyError, TypeError):
        message = f"HTTP {response.status_code}"
    if response.status_code == 409:
        raise SyncConflict(f"the server at {url} refused: {message}")
    raise RemoteError(f"the server at {url} refused: {message}")


# -- push and pull ---------------------------------------------------------------------------


def push(store: Store, remote: Remote, project: str, refs: Sequence[str] = ()) -> list[Pushed]:
    """Push runs ``refs`` of ``store`` (default: its finished runs not pushed to ``remote``'s
    project yet) into ``project``: every object the server lacks first, then the runs."""
    record = _PushRecord(store, remote.url, project)
    if refs:
        ids = [store.meta.resolve(ref).id for ref in refs]
    else:
        rows = store.meta.list_runs(limit=None)
        ids = [r.id for r in reversed(rows) if r.status == "finished" and r.id not in record]
    # One record in memory at a time (each holds hundreds of distributions): the client's
    # memory stays flat however many runs it pushes; only their object ids are kept.
    needed: list[list[str]] = []
    for run_id in ids:
        manifest = load_manifest(store, run_id)
        _ending(manifest)  # a running run is refused before anything is sent
        needed.append(run_objects(store.objects, manifest))
    # One question for all the runs (a few objects each), not one round trip per run.
    wanted = list(dict.fromkeys(oid for oids in needed for oid in oids))
    missing = set(remote.missing(project, wanted))
    tags = store.meta.tags_of(ids)
    created: list[bool] = []
    with ThreadPoolExecutor(TRANSFERS_AT_ONCE, thread_name_prefix="samerun-push") as pool:
        sending = [oid for oid in wanted if oid in missing]
        batches = _batches(store.objects, sending)
        list(pool.map(lambda oids: remote.put_objects(project, oids, store.objects), batches))
        try:
            sent = pool.map(
                lambda run_id: remote.send_run(
                    project, store.meta.manifest_json(run_id), tags.get(run_id, {})
                ),
                ids,
            )
            created.extend(sent)
        finally:  # the runs the server took before a failure are not sent again
            record.add(ids[: len(created)])
    done, counted = [], set()
    for run_id, oids, new in zip(ids, needed, created, strict=True):
        sent_here = [oid for oid in oids if oid in missing and oid not in counted]
        counted.update(sent_here)
        done.append(Pushed(run_id, len(sent_here), new))
    return done


def pull(store: Store, remote: Remote, project: str, ref: str) -> Pulled:
    """Bring run ``ref`` of ``project`` into ``store``: the objects it lacks, then the run."""
    manifest = remote.manifest(project, ref)
    scratch = store.project.store_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    fetched = 0

    def fetch(oids: Iterable[str]) -> None:
        nonlocal fetched
        for oid in oids:
            if not store.objects.exists(oid):
                remote.fetch_object(project, oid, store.objects, scratch)
                fetched += 1

    roots = list(_roots(manifest))
    fetch(oid for oid, _ in roots)
    fetch(_with_files(store.objects, roots))  # the files of the trees just fetched
    created = import_run(store, manifest)
    return Pulled(manifest.id, fetched, created)


class _PushRecord:
    """The runs a store pushed to a server's project, so that a plain ``push`` sends the rest;
    kept in ``.samerun/pushed.json`` (``{"URL project": [run ids]}``)."""

    def __init__(self, store: Store, url: str, project: str) -> None:
        self.path = store.project.store_dir / PUSHED_FILE
        self.key = f"{url} {project}"
        self.all: dict[str, list[str]] = (
            json.loads(self.path.read_text()) if self.path.exists() else {}
        )

    def __contains__(self, run_id: object) -> bool:
        return run_id in self.all.get(self.key, [])

    def add(self, run_ids: Iterable[str]) -> None:
        new = [run_id for run_id in run_ids if run_id not in self]
        if new:
            self.all.setdefault(self.key, []).extend(new)
            atomic_write(self.path, json.dumps(self.all, indent=1).encode())


# -- credentials -------------------------------------------------------------------------------


def credentials_path() -> Path:
    """``$XDG_CONFIG_HOME/samerun/credentials.json`` (``~/.config`` by default)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "samerun" / "credentials.json"


def save_token(url: str, token: str) -> Path:
    """Keep ``token`` for server ``url`` (readable by the user only, written atomically)."""
    path = credentials_path()
    found = _credentials(path)
    found[url.rstrip("/")] = token
    atomic_write(path, json.dumps(found, indent=1, sort_keys=True).encode(), mode=0o600)
    return path


def token_for(url: str) -> str:
    """The token kept for server ``url``."""
    token = _credentials(credentials_path()).get(url.rstrip("/"))
    if token is None:
        raise RemoteError(f"no token for {url}; sign in with `samerun login {url}` first")
    return token


def signed_in() -> str:
    """The one server ``samerun login`` kept a token for."""
    found = sorted(_credentials(credentials_path()))
    if len(found) != 1:
        which = "no server" if not found else f"{len(found)} servers"
        raise RemoteError(f"signed in to {which}; name the server with --url")
    return found[0]


def _credentials(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        found = json.loads(path.read_text())
    except ValueError as err:
        raise RemoteError(f"{path} is not valid JSON; fix or remove it") from err
    return {str(k): str(v) for k, v in found.items()}


__all__ = [
    "MAX_OBJECT_BYTES",
    "MAX_OIDS_PER_REQUEST",
    "Pulled",
    "Pushed",
    "Remote",
    "ServerObjects",
    "SyncConflict",
    "credentials_path",
    "import_run",
    "named_objects",
    "open_server",
    "pack",
    "pull",
    "push",
    "run_objects",
    "run_records",
    "save_token",
    "server_address",
    "signed_in",
    "token_for",
    "unpack",
]
