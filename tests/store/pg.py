"""A throwaway PostgreSQL cluster, for the tests (``tests/store/conftest.py``) and the benchmarks.

The cluster runs from the server binaries under ``/usr/lib/postgresql/*/bin``. PostgreSQL
refuses to run as root, so when the caller is root the cluster belongs to an unprivileged
existing user and its commands run through ``runuser`` (or ``setpriv``).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg


class PostgresUnavailable(RuntimeError):
    """No cluster can be started here; the message says why."""


PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
#: Unprivileged users the cluster may run as when the tests run as root, in order of preference.
UNPRIVILEGED_USERS = ("postgres", "nobody")
_START_ATTEMPTS = 5


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.parent.name)) or (0,)


def find_pg_bin() -> Path | None:
    """The newest PostgreSQL server binary directory, or None when there is none."""
    candidates = [Path(p) for p in Path("/").glob(PG_BIN_GLOB.lstrip("/"))]
    candidates = [p for p in candidates if (p / "initdb").exists() and (p / "pg_ctl").exists()]
    if candidates:
        return max(candidates, key=_version_key)
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """A running throwaway cluster: superuser ``user`` on 127.0.0.1:``port``, trust auth."""

    bin_dir: Path
    root: Path
    user: str  # the OS user the cluster runs as, and its database superuser
    port: int = 0
    _run_as: list[str] = field(default_factory=list)
    _databases: list[str] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def _pg(self, tool: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._run_as, str(self.bin_dir / tool), *args],
            cwd=self.root,
            env={**os.environ, "LC_ALL": "C", "TZ": "UTC"},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def init(self) -> None:
        done = self._pg(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            self.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        for _attempt in range(_START_ATTEMPTS):  # another process may take the port first
            self.port = _free_port()
            options = (
                f"-h 127.0.0.1 -p {self.port} -k {self.root}"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                " -c shared_buffers=32MB -c max_connections=60"
            )
            done = self._pg(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            )
            if done.returncode == 0:
                return
            self.stop()
        log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
        raise RuntimeError(f"PostgreSQL did not start:\n{done.stdout}\n{done.stderr}\n{log}")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop", timeout=60)

    def admin(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        import psycopg

        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname=database, autocommit=True
        )

    def fresh_database(self, index: int) -> str:
        """The ``index``-th database of this server's pool, emptied: a test starts from nothing.

        ``CREATE DATABASE`` costs about half a second, emptying one a few milliseconds, so the
        databases are made once per session and emptied each time a test takes one.
        """
        if index < len(self._databases):
            name = self._databases[index]
            with self.admin() as conn:  # whatever a previous test left connected goes away
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
            with self.admin(name) as conn:
                conn.execute("DROP SCHEMA public CASCADE")
                conn.execute("CREATE SCHEMA public")
            return name
        name = f"samerun_test_{index}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        self._databases.append(name)
        return name


def _unprivileged_user() -> str | None:
    for name in UNPRIVILEGED_USERS:
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    return None


def _run_as(user: str) -> list[str]:
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", user, "--"]
    setpriv = shutil.which("setpriv")
    if setpriv:
        entry = pwd.getpwnam(user)
        return [
            setpriv,
            f"--reuid={entry.pw_uid}",
            f"--regid={entry.pw_gid}",
            "--clear-groups",
            "--",
        ]
    raise PostgresUnavailable("running as root and neither runuser nor setpriv is installed")


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[PostgresServer]:
    """A started cluster in a new temporary directory, stopped and removed afterwards."""
    try:
        import psycopg  # noqa: F401  (the driver is optional: samerun[postgres])
    except ImportError:
        raise PostgresUnavailable(
            "the psycopg driver is not installed (pip install 'samerun[postgres]')"
        ) from None
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise PostgresUnavailable(
            f"no PostgreSQL server binaries (initdb, pg_ctl) under {PG_BIN_GLOB}"
        )
    if os.geteuid() == 0:
        user = _unprivileged_user()
        if user is None:
            raise PostgresUnavailable(
                f"running as root and none of the users {UNPRIVILEGED_USERS} exists"
            )
        run_as = _run_as(user)
        # Short, world-traversable parent: the socket path must stay under ~100 characters.
        root = Path(tempfile.mkdtemp(prefix="samerun-pg-", dir="/tmp"))
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    else:
        user = pwd.getpwuid(os.geteuid()).pw_name
        run_as = []
        root = Path(tempfile.mkdtemp(prefix="samerun-pg-"))
    server = PostgresServer(bin_dir=bin_dir, root=root, user=user, _run_as=run_as)
    try:
        try:
            server.init()
            server.start()
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as err:
            raise PostgresUnavailable(str(err)) from err
        yield server
    finally:
        if server.port:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
