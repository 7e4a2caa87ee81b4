"""The team server side by side with ``mlflow server``, both over one throwaway PostgreSQL cluster.

Both servers run as real processes with ``WORKERS`` workers on 127.0.0.1, each with its own
database in the same cluster (``tests/store/pg.py``) and its own directory for files.

1. **Push**: ``RUNS`` runs of three params, ``POINTS`` values of ``loss`` and two files of
   ``ARTIFACT_BYTES`` each. samerun records them locally first (not timed: that is what a user
   has already done), then ``samerun push`` sends them all, timed as a whole process. The MLflow
   side logs the same runs to its server with ``MlflowClient`` (``create_run``, ``log_batch``,
   ``log_artifact`` through the server's artifact proxy, ``set_terminated``): how an MLflow user
   gets runs onto the team's server. Peak RSS of each server (all its processes together) and of
   each client is sampled while they work.
2. **Search**: both databases are grown to ``SEARCH_RUNS`` runs by copying the pushed ones in SQL
   (``populate.grow_postgres``; the per-point histories are left out, searches never read them),
   then the first 100 runs matching a filter on a param and a metric, sorted by the metric, are
   asked over HTTP: samerun's ``/api/v1/runs`` (which also counts all matches) vs MLflow's
   ``runs/search``. Median of ``SEARCHES`` warm requests.
3. **Throughput**: ``REQUESTS`` reads of one run from ``CLIENT_THREADS`` threads: requests per
   second, and per worker. The client threads share the machine's cores with the server, on
   both sides alike.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
from harness import (
    PEERS_PY,
    REPO,
    SAMERUN_CLI,
    SAMERUN_PY,
    WORKLOADS,
    BenchError,
    Result,
    child_env,
    committed_project,
    last_json,
    run_timed,
    run_workload,
    say,
    scratch,
)
from populate import MLFLOW, SAMERUN, grow_postgres
from suites import Config

sys.path.insert(0, str(REPO))  # the throwaway cluster the tests use

from tests.store.pg import PostgresServer, throwaway_cluster

RUNS = 1_000
POINTS = 1_000
ARTIFACT_BYTES = 64 * 1024
SEARCH_RUNS = 10_000
SEARCHES = 20
WORKERS = 2
REQUESTS = 2_000
CLIENT_THREADS = 8
SEARCH_FILTER = "metrics.loss < 0.5 and params.depth = 3"
MLFLOW_FILTER = "metrics.loss < 0.5 and params.depth = '3'"
SAMPLE_EVERY_S = 0.1


@dataclass(frozen=True)
class Side:
    """One server, started: where it answers, its process, and the headers its API wants."""

    url: str
    process: subprocess.Popen[bytes]
    headers: dict[str, str]


class PeakRss:
    """The peak resident memory of a server (its processes summed) and of a client, sampled
    every ``SAMPLE_EVERY_S`` by a thread while the ``with`` block runs."""

    def __init__(self, server: int, client: Callable[[], int | None]) -> None:
        self.server_bytes = 0
        self.client_bytes = 0
        self._server = psutil.Process(server)
        self._client = client
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def _rss(self, process: psutil.Process) -> int:
        total = 0
        for each in [process, *process.children(recursive=True)]:
            with suppress(psutil.NoSuchProcess):
                total += each.memory_info().rss
        return total

    def _sample(self) -> None:
        while not self._done.wait(SAMPLE_EVERY_S):
            self.server_bytes = max(self.server_bytes, self._rss(self._server))
            pid = self._client()
            if pid is not None:
                with suppress(psutil.NoSuchProcess):
                    self.client_bytes = max(self.client_bytes, self._rss(psutil.Process(pid)))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _server(argv: Sequence[str | Path], ready: str, log: Path) -> Iterator[Side]:
    port = _free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(a) for a in argv] + ["--host", "127.0.0.1", "--port", str(port)],
            env=child_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                if httpx.get(url + ready, timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"{argv[0]} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield Side(url, process, {})
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _database(cluster: PostgresServer, name: str) -> str:
    with cluster.admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    return cluster.url(name)


def _project(directory: Path) -> Path:
    """A git repository holding, git-ignored, two files of ``ARTIFACT_BYTES`` for each run
    (different from every other run's): samerun logs artifacts from inside its project."""
    committed_project(
        directory,
        {
            "train.py": "# the runs are recorded through the tracking API\n",
            ".gitignore": "artifacts/\n",
        },
    )
    for index in range(RUNS):
        folder = directory / "artifacts" / f"run-{index}"
        folder.mkdir(parents=True)
        for name in ("model.bin", "predictions.bin"):
            seed = f"{index}-{name}-".encode()
            (folder / name).write_bytes((seed * (ARTIFACT_BYTES // len(seed) + 1))[:ARTIFACT_BYTES])
    return directory


def _timed_push(
    argv: Sequence[str | Path], cwd: Path, env: dict[str, str], server: Side
) -> tuple[float, PeakRss, str]:
    """Run a pushing client to completion, its wall time, the peaks, and its stdout."""
    holder: dict[str, int] = {}
    with PeakRss(server.process.pid, lambda: holder.get("pid")) as peaks:
        start = time.perf_counter()
        process = subprocess.Popen(
            [str(a) for a in argv], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        holder["pid"] = process.pid
        stdout, stderr = process.communicate()
        wall = time.perf_counter() - start
    if process.returncode != 0:
        raise BenchError(f"{argv[0]} exited {process.returncode}:\n{stderr.decode()[-3000:]}")
    return wall, peaks, stdout.decode()


def _median_request(
    client: httpx.Client, send: Callable[[httpx.Client], httpx.Response]
) -> tuple[float, httpx.Response]:
    """The median wall time of ``SEARCHES`` requests after two warm-ups, and the last answer."""
    for _ in range(2):
        answer = send(client)
        answer.raise_for_status()
    times = []
    for _ in range(SEARCHES):
        start = time.perf_counter()
        answer = send(client)
        times.append(time.perf_counter() - start)
        answer.raise_for_status()
    return statistics.median(times), answer


def _throughput(side: Side, path: str) -> float:
    """Requests per second: ``REQUESTS`` GETs of ``path`` from ``CLIENT_THREADS`` threads."""
    with httpx.Client(base_url=side.url, headers=side.headers, timeout=60) as client:
        client.get(path).raise_for_status()

        def one(_: int) -> int:
            return client.get(path).status_code

        start = time.perf_counter()
        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            codes = list(pool.map(one, range(REQUESTS)))
        wall = time.perf_counter() - start
    if set(codes) != {200}:
        raise BenchError(f"{path} answered {sorted(set(codes))} under load")
    return REQUESTS / wall


@dataclass(frozen=True)
class Measured:
    push_s: float
    server_rss: int
    client_rss: int
    search_s: float
    requests_per_s: float


def _samerun(cluster: PostgresServer, root: Path, project: Path) -> Measured:
    metadata = _database(cluster, "samerun_bench")
    objects = root / "samerun-objects"
    env = child_env({"XDG_CONFIG_HOME": str(root / "config")})
    store = ("--metadata", metadata, "--objects", str(objects))
    serve = [SAMERUN_CLI, "server", *store, "--workers", str(WORKERS)]
    with _server(serve, "/login", root / "samerun-server.log") as side:
        run_timed([SAMERUN_CLI, "server", "admin", "create", "bench", *store], root, env)
        run_timed([SAMERUN_CLI, "server", "project", "create", "bench", *store], root, env)
        run_timed(
            [SAMERUN_CLI, "server", "member", "add", "bench", "bench", "writer", *store], root, env
        )
        made = run_timed(
            [SAMERUN_CLI, "server", "token", "create", "bench", "--name", "bench", *store],
            root,
            env,
        )
        token = made.stdout.rsplit(" ", 1)[-1].strip()
        side = Side(side.url, side.process, {"authorization": f"Bearer {token}"})

        say(f"server: recording {RUNS:,} runs locally (not timed)")
        run_workload(
            SAMERUN_PY,
            WORKLOADS / "samerun_server_record.py",
            project,
            str(RUNS),
            str(POINTS),
            "artifacts",
            env=env,
        )
        run_timed([SAMERUN_CLI, "login", side.url, "--token", token], project, env)
        say(f"server: samerun push of {RUNS:,} runs")
        push_s, peaks, _ = _timed_push(
            [SAMERUN_CLI, "push", "--project", "bench"], project, env, side
        )

        with httpx.Client(base_url=side.url, headers=side.headers, timeout=60) as client:
            pushed = client.get("/api/v1/runs", params={"limit": 1}).json()["total"]
            if pushed != RUNS:
                raise BenchError(
                    f"the samerun server holds {pushed} runs after the push, not {RUNS}"
                )
            grown = grow_postgres(metadata, SAMERUN, SEARCH_RUNS // RUNS - 1, ["metrics"])
            say(f"server: samerun search over {grown:,} runs")

            def search(c: httpx.Client) -> httpx.Response:
                query = {"filter": SEARCH_FILTER, "sort": "metrics.loss", "limit": 100}
                return c.get("/api/v1/runs", params=query)

            search_s, answer = _median_request(client, search)
            found = answer.json()
            if len(found["runs"]) != 100 or found["total"] != SEARCH_RUNS // 5:
                raise BenchError(
                    f"samerun's search found {found['total']} runs, not {SEARCH_RUNS // 5}"
                )
            one = found["runs"][0]["id"]
        requests_per_s = _throughput(side, f"/api/v1/runs/{one}")
    return Measured(push_s, peaks.server_bytes, peaks.client_bytes, search_s, requests_per_s)


def _mlflow(cluster: PostgresServer, root: Path, project: Path) -> Measured:
    backend = _database(cluster, "mlflow_bench")
    serve = [
        PEERS_PY,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        backend,
        "--artifacts-destination",
        str(root / "mlflow-artifacts"),
        "--workers",
        str(WORKERS),
    ]
    with _server(serve, "/health", root / "mlflow-server.log") as side:
        work = root / "mlflow-client"
        work.mkdir()
        env = child_env({"MLFLOW_TRACKING_URI": side.url})
        say(f"server: MLflow logging {RUNS:,} runs to mlflow server")
        argv = [
            PEERS_PY,
            WORKLOADS / "mlflow_server_push.py",
            str(RUNS),
            str(POINTS),
            str(project / "artifacts"),
        ]
        push_s, peaks, stdout = _timed_push(argv, work, env, side)
        experiment = str(last_json(stdout)["experiment_id"])
        grown = grow_postgres(backend, MLFLOW, SEARCH_RUNS // RUNS - 1, ["metrics"])
        say(f"server: MLflow search over {grown:,} runs")
        body = {
            "experiment_ids": [experiment],
            "filter": MLFLOW_FILTER,
            "order_by": ["metrics.loss ASC"],
            "max_results": 100,
        }
        with httpx.Client(base_url=side.url, timeout=60) as client:
            search_s, answer = _median_request(
                client, lambda c: c.post("/api/2.0/mlflow/runs/search", json=body)
            )
            runs = answer.json()["runs"]
            if len(runs) != 100:
                raise BenchError(f"MLflow's search returned {len(runs)} runs, not 100")
            one = runs[0]["info"]["run_id"]
        requests_per_s = _throughput(side, f"/api/2.0/mlflow/runs/get?run_id={one}")
    return Measured(push_s, peaks.server_bytes, peaks.client_bytes, search_s, requests_per_s)


def bench_server(config: Config) -> list[Result]:
    del config  # one repetition: the push alone takes minutes on the MLflow side
    with throwaway_cluster() as cluster, scratch("server") as root:
        project = _project(root / "project")
        ours = _samerun(cluster, root, project)
        theirs = _mlflow(cluster, root, project)
    details = {
        "runs": RUNS,
        "points": POINTS,
        "artifact_bytes": ARTIFACT_BYTES,
        "workers": WORKERS,
        "search_runs": SEARCH_RUNS,
    }
    return [
        Result(
            f"push {RUNS:,} runs x {POINTS:,} points x 2 files vs MlflowClient to mlflow server",
            "s",
            ours.push_s,
            theirs.push_s,
            theirs.push_s / ours.push_s,
            target=10.0,
            details=details,
        ),
        Result(
            f"search {SEARCH_RUNS:,} runs: first 100 by a param and a metric (warm, over HTTP)",
            "s",
            ours.search_s,
            theirs.search_s,
            theirs.search_s / ours.search_s,
            limit_s=0.3,
            details=details,
        ),
        Result(
            "peak RSS of the server during the push (all its processes)",
            "B",
            ours.server_rss,
            theirs.server_rss,
            theirs.server_rss / ours.server_rss,
            details=details,
        ),
        Result(
            "peak RSS of the pushing client",
            "B",
            ours.client_rss,
            theirs.client_rss,
            theirs.client_rss / ours.client_rss,
            details=details,
        ),
        Result(
            f"reads of one run per second per worker ({CLIENT_THREADS} client threads)",
            "/s",
            ours.requests_per_s / WORKERS,
            theirs.requests_per_s / WORKERS,
            ours.requests_per_s / theirs.requests_per_s,
            details=details,
        ),
    ]


SERVER_BENCHMARKS = {"server": bench_server}
