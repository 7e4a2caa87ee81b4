"""The web UI's server, samerun's and MLflow's side by side on the same data (issue 15).

Each side runs as a user starts it: ``samerun ui --store PROJECT`` and ``mlflow server
--backend-store-uri sqlite:///mlflow.db --workers 1`` (one serving process, like samerun's; its
default is 4), both on 127.0.0.1. A client on the same machine (this process, one kept-alive
connection) times each HTTP request, body read included: the median of ``reps`` after one
untimed warm-up. Both stores hold the synthetic sweep of ``bench_query`` (``workloads/
synthetic_runs.py``), written through each tool's own write path, MLflow's cached.

``web_runs``
    The runs page's query, the first 100 of 10,000 runs (20 params, 10 metrics) filtered and
    sorted by a metric: ``GET /api/v1/runs`` and the page itself (``GET /?filter=&sort=``, HTML)
    vs MLflow's ``POST /api/2.0/mlflow/runs/search``; both must list the same runs in the same
    order. The compare page of those 100 runs (every input layer side by side) vs the one search
    that fetches them from MLflow (``attributes.run_id IN (...)``; MLflow's UI compares in the
    browser). The runs page's weight: its HTML and the scripts and styles it loads, against
    MLflow UI's first page. The peak resident memory (Linux's ``VmHWM``) of the process that
    answers HTTP, after the same requests over 1,000 and over 10,000 runs: pages are read from
    SQL a page at a time, so it stays flat. (``mlflow server`` also starts a job runner and
    seven task consumers; all its processes together are in the JSON.)
``web_history``
    A 1,000,000-point series in about 1,500 buckets of min, max and last (``GET /api/v1/runs/ID/
    metrics/loss/history``) vs MLflow's ``GET /api/2.0/mlflow/metrics/get-history`` (every
    point, timed once: it takes about a minute) and vs what MLflow's own charts ask for,
    ``get-history-bulk-interval`` (1,500 sampled points, no extremes); a zoom into 10,000 steps
    on both; each server's peak memory.

Sizes are Results with unit ``"B"`` (bytes); each is also printed as it is measured.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import httpx
import psutil
from bench_query import (
    FILTER,
    HISTORY_POINTS,
    MAX_POINTS,
    SORT,
    mlflow_run_ids,
    mlflow_store,
    samerun_store,
)
from harness import (
    PEERS_PY,
    SAMERUN_CLI,
    WORKLOADS,
    BenchError,
    Result,
    child_env,
    median,
    say,
    scratch,
)
from suites import Config

sys.path.append(str(WORKLOADS))  # synthetic_runs is a workload module: the workloads import it
import synthetic_runs

SHOWN = 100  # rows of the runs page
SMALL_STORE = 1_000
ZOOM = (500_000, 509_999)
#: MLflow's UI: experiment "0" holds the sweep.
MLFLOW_SEARCH = {"experiment_ids": ["0"], "filter": FILTER, "order_by": ["metrics.accuracy DESC"]}
START_TIMEOUT_S = 120


# -- servers -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Server:
    url: str
    port: int
    process: subprocess.Popen[str]

    def peak_memory(self) -> Memory:
        """The most resident memory the process answering HTTP held, and all its processes."""
        root = psutil.Process(self.process.pid)
        tree = [root, *root.children(recursive=True)]
        serving = [
            p
            for p in tree
            if any(
                c.status == psutil.CONN_LISTEN and c.laddr.port == self.port
                for c in p.net_connections(kind="inet")
            )
        ]
        if not serving:
            raise BenchError(f"no process of {self.url} listens on its port")
        return Memory(
            serving=_high_water_mark(serving[0].pid),
            processes=len(tree),
            total=sum(_high_water_mark(p.pid) for p in tree),
        )


class Memory(NamedTuple):
    """Peak resident memory (Linux's ``VmHWM``) of a server, in bytes."""

    serving: int  # the process that answers HTTP
    processes: int  # how many the server runs
    total: int  # all of them, summed


def _high_water_mark(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise BenchError(f"process {pid} reports no VmHWM")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _running(argv: Sequence[str | Path], cwd: Path, port: int, ready: str) -> Iterator[Server]:
    """``argv`` started in ``cwd``, once ``ready`` on ``port`` answers 200; stopped afterwards."""
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(a) for a in argv],
        cwd=cwd,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(url + ready):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                _, err = process.communicate()
                raise BenchError(f"{argv[0]} did not start: {err.strip()[-2000:]}")
            time.sleep(0.2)
        yield Server(url, port, process)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[str]) -> None:
    """Stop ``process`` and every process it started (MLflow's server starts job runners)."""
    try:
        root = psutil.Process(process.pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    for member in tree:
        with suppress(psutil.NoSuchProcess):
            member.terminate()
    _, alive = psutil.wait_procs(tree, timeout=30)
    for member in alive:
        with suppress(psutil.NoSuchProcess):
            member.kill()
    process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def samerun_server(project: Path) -> AbstractContextManager[Server]:
    port = _free_port()
    argv: list[str | Path] = [SAMERUN_CLI, "ui", "--port", str(port), "--store", project]
    return _running(argv, project, port, "/api/v1/keys")


def mlflow_server(project: Path) -> AbstractContextManager[Server]:
    port = _free_port()
    argv: list[str | Path] = [
        PEERS_PY.parent / "mlflow",
        "server",
        "--backend-store-uri",
        f"sqlite:///{project / 'mlflow.db'}",
        "--default-artifact-root",
        str(project / "mlruns"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    return _running(argv, project, port, "/health")


# -- timing ------------------------------------------------------------------------------------
def timed(reps: int, request: Callable[[], httpx.Response]) -> tuple[float, httpx.Response]:
    """The median wall time of ``request`` (body read) over ``reps`` after one untimed warm-up,
    and its last response."""
    times = []
    response = _ok(request())
    for _ in range(reps):
        start = time.perf_counter()
        response = request()
        times.append(time.perf_counter() - start)
        _ok(response)
    return median(times), response


def _ok(response: httpx.Response) -> httpx.Response:
    if response.status_code != 200:
        raise BenchError(
            f"{response.request.url} answered {response.status_code}: {response.text[:500]}"
        )
    return response


def _check_order(side: str, names: list[str], expected: list[str]) -> None:
    if names != expected:
        raise BenchError(
            f"{side} listed {len(names)} runs, not the {len(expected)} best by accuracy in "
            f"order (first: {names[:3]}, expected {expected[:3]})"
        )


def _in_order(side: str, html: str, names: list[str]) -> None:
    """Every name of ``names`` is on the page, in that order."""
    places = [html.find(f">{name}<") for name in names]
    if -1 in places or places != sorted(places):
        raise BenchError(f"{side} does not show the {len(names)} expected runs in order")


def page_weight(client: httpx.Client, path: str) -> tuple[int, dict[str, int]]:
    """Bytes downloaded for the page at ``path`` and the scripts and styles it loads."""
    page = _ok(client.get(path))
    assets = re.findall(r'<script[^>]*\ssrc="([^"]+)"', page.text)
    assets += [
        href
        for tag in re.findall(r"<link[^>]*>", page.text)
        if re.search(r'rel="(stylesheet|modulepreload)"', tag)
        for href in re.findall(r'href="([^"]+)"', tag)
    ]
    sizes = {path: page.num_bytes_downloaded}
    for asset in assets:
        sizes[asset] = _ok(client.get(str(page.url.join(asset)))).num_bytes_downloaded
    return sum(sizes.values()), sizes


# -- web_runs ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunsFigures:
    listing_s: float
    page_s: float
    compare_s: float
    memory: Memory


def samerun_runs(server: Server, expected: list[str], reps: int) -> RunsFigures:
    """The runs page's query (API and page) and the compare page of its runs, checked."""
    query = {"filter": FILTER, "sort": SORT}
    with httpx.Client(base_url=server.url, timeout=600) as client:
        listing_s, listing = timed(
            reps, lambda: client.get("/api/v1/runs", params={**query, "limit": SHOWN})
        )
        runs = listing.json()["runs"]
        _check_order("samerun's runs API", [run["name"] for run in runs], expected[:SHOWN])
        page_s, page = timed(reps, lambda: client.get("/", params=query))
        _in_order("samerun's runs page", page.text, expected[:SHOWN])
        compared = [("run", run["id"]) for run in runs]
        compare_s, compare = timed(reps, lambda: client.get("/compare", params=compared))
        if not all(f">{run['name']}<" in compare.text for run in runs):
            raise BenchError("samerun's compare page does not show every compared run")
    return RunsFigures(listing_s, page_s, compare_s, server.peak_memory())


def mlflow_runs(server: Server, expected: list[str], reps: int) -> RunsFigures:
    """MLflow's search for the same page, and for the same runs by id (its compare view)."""
    with httpx.Client(base_url=server.url, timeout=600) as client:
        search = {**MLFLOW_SEARCH, "max_results": SHOWN}
        listing_s, listing = timed(
            reps, lambda: client.post("/api/2.0/mlflow/runs/search", json=search)
        )
        runs = listing.json()["runs"]
        _check_order(
            "MLflow's runs/search", [run["info"]["run_name"] for run in runs], expected[:SHOWN]
        )
        ids = ", ".join(f"'{run['info']['run_id']}'" for run in runs)
        by_id = {
            "experiment_ids": ["0"],
            "filter": f"attributes.run_id IN ({ids})",
            "max_results": SHOWN,
        }
        compare_s, compare = timed(
            reps, lambda: client.post("/api/2.0/mlflow/runs/search", json=by_id)
        )
        if len(compare.json()["runs"]) != len(runs):
            raise BenchError("MLflow's search by run ids did not return every run")
    return RunsFigures(listing_s, listing_s, compare_s, server.peak_memory())


def _mb(size: float) -> str:
    return f"{size / 1e6:,.1f} MB"


def bench_web_runs(config: Config) -> list[Result]:
    total = config.listed_runs
    say(f"web UI: runs page and compare page over {total:,} runs, samerun ui vs mlflow server")
    with scratch("web-runs") as root:
        small, _ = samerun_store(root / "small", "runs", SMALL_STORE)
        with samerun_server(small) as server:
            ours_small = samerun_runs(server, synthetic_runs.best_first(SMALL_STORE), config.reps)
        ours, populated = samerun_store(root / "large", "runs", total)
        expected = synthetic_runs.best_first(total)
        with samerun_server(ours) as server:
            ours_large = samerun_runs(server, expected, config.reps)
            with httpx.Client(base_url=server.url) as client:
                weight, assets = page_weight(client, "/")
        theirs = root / "mlflow"
        mlflow_store(theirs, "runs", total)
        with mlflow_server(theirs) as server:
            peer = mlflow_runs(server, expected, config.reps)
            with httpx.Client(base_url=server.url) as client:
                peer_weight, peer_assets = page_weight(client, "/")
    say(f"runs page weight: samerun {_mb(weight)}, MLflow's first page {_mb(peer_weight)}")
    say(
        f"server peak RSS: samerun {_mb(ours_small.memory.serving)} at {SMALL_STORE:,} runs, "
        f"{_mb(ours_large.memory.serving)} at {total:,}; MLflow's serving process "
        f"{_mb(peer.memory.serving)} at {total:,} ({peer.memory.processes} processes: "
        f"{_mb(peer.memory.total)})"
    )
    details = {
        "reps": config.reps,
        "runs_in_store": total,
        "shown": SHOWN,
        "filter": FILTER,
        "sort": SORT,
        "samerun": f"GET /api/v1/runs?filter=&sort=&limit={SHOWN}; page: GET /?filter=&sort=",
        "mlflow": "POST /api/2.0/mlflow/runs/search, mlflow server --workers 1",
        "samerun_populate_s": populated["populate_s"],
    }
    return [
        Result(
            f"runs API, first {SHOWN} of {total:,} runs, filtered+sorted",
            "s",
            ours_large.listing_s,
            peer.listing_s,
            peer.listing_s / ours_large.listing_s,
            limit_s=0.3,
            details=details,
        ),
        Result(
            "  runs page (HTML), same query",
            "s",
            ours_large.page_s,
            peer.listing_s,
            peer.listing_s / ours_large.page_s,
            limit_s=0.3,
        ),
        Result(
            f"compare page, {SHOWN} runs",
            "s",
            ours_large.compare_s,
            peer.compare_s,
            peer.compare_s / ours_large.compare_s,
            limit_s=1.0,
            details={"mlflow": "runs/search with attributes.run_id IN (...): the data only"},
        ),
        Result(
            "runs page weight (HTML + JS + CSS)",
            "B",
            weight,
            peer_weight,
            peer_weight / weight,
            details={"samerun": assets, "mlflow_first_page_before_lazy_chunks": peer_assets},
        ),
        Result(
            f"server peak RSS, {total:,} runs",
            "B",
            ours_large.memory.serving,
            peer.memory.serving,
            peer.memory.serving / ours_large.memory.serving,
            details={
                "samerun_growth_from_1000_runs": ours_large.memory.serving
                / ours_small.memory.serving,
                "mlflow": "its serving process (uvicorn); mlflow server runs "
                f"{peer.memory.processes} processes, {peer.memory.total:,} bytes in all",
            },
        ),
        Result(f"  samerun at {SMALL_STORE:,} runs", "B", ours_small.memory.serving, None, None),
    ]


# -- web_history -------------------------------------------------------------------------------
Params = dict[str, str | int]


@dataclass(frozen=True)
class HistoryFigures:
    downsampled_s: float  # the whole series, about MAX_POINTS points
    zoom_s: float  # the ZOOM range
    memory: Memory
    every_point_s: float | None = None  # MLflow's get-history, every point, once


def samerun_history(server: Server, run_id: str, reps: int) -> HistoryFigures:
    """The chart's query and its zoom, each checked against the series."""
    series = synthetic_runs.loss_history(HISTORY_POINTS)
    url = f"/api/v1/runs/{run_id}/metrics/loss/history"
    whole: Params = {"max_points": MAX_POINTS}
    zoom: Params = {**whole, "min_step": ZOOM[0], "max_step": ZOOM[1]}
    with httpx.Client(base_url=server.url, timeout=600) as client:
        downsampled_s, history = timed(reps, lambda: client.get(url, params=whole))
        zoom_s, zoomed = timed(reps, lambda: client.get(url, params=zoom))
    buckets = history.json()["buckets"]
    found = (min(b["min"] for b in buckets), buckets[-1]["last"])
    expected = (min(value for _, value, _ in series), series[-1][1])
    if found != expected or len(buckets) > MAX_POINTS:
        raise BenchError(f"samerun's history: {len(buckets)} buckets, minimum and last {found}")
    if sum(b["count"] for b in zoomed.json()["buckets"]) != ZOOM[1] - ZOOM[0] + 1:
        raise BenchError("samerun's zoomed history does not hold every point of the range")
    return HistoryFigures(downsampled_s, zoom_s, server.peak_memory())


def mlflow_history(server: Server, run_id: str, reps: int) -> HistoryFigures:
    """What MLflow's charts ask for (sampled), its zoom, and every point once."""
    bulk = "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval"
    sampled: Params = {"run_ids": run_id, "metric_key": "loss", "max_results": MAX_POINTS}
    zoom: Params = {**sampled, "start_step": ZOOM[0], "end_step": ZOOM[1]}
    every: Params = {"run_id": run_id, "metric_key": "loss"}
    with httpx.Client(base_url=server.url, timeout=600) as client:
        sampled_s, _ = timed(reps, lambda: client.get(bulk, params=sampled))
        zoom_s, _ = timed(reps, lambda: client.get(bulk, params=zoom))
        say("MLflow: get-history of every point, once (about a minute)")
        start = time.perf_counter()
        history = _ok(client.get("/api/2.0/mlflow/metrics/get-history", params=every))
        every_point_s = time.perf_counter() - start
    if len(json.loads(history.content)["metrics"]) != HISTORY_POINTS:
        raise BenchError(f"MLflow's get-history did not return {HISTORY_POINTS:,} points")
    return HistoryFigures(sampled_s, zoom_s, server.peak_memory(), every_point_s)


def bench_web_history(config: Config) -> list[Result]:
    points = HISTORY_POINTS
    say(f"web UI: a {points:,}-point metric history, samerun ui vs mlflow server")
    with scratch("web-history") as root:
        ours_project, populated = samerun_store(root, "history", points)
        with samerun_server(ours_project) as server:
            ours = samerun_history(server, populated["last_run_id"], config.reps)
        theirs_project = root / "mlflow"
        mlflow_store(theirs_project, "history", points)
        (run_id,) = mlflow_run_ids(theirs_project)
        with mlflow_server(theirs_project) as server:
            theirs = mlflow_history(server, run_id, config.reps)
    assert theirs.every_point_s is not None
    say(
        f"server peak RSS: samerun {_mb(ours.memory.serving)}, MLflow's serving process "
        f"{_mb(theirs.memory.serving)} ({theirs.memory.processes} processes: "
        f"{_mb(theirs.memory.total)})"
    )
    details = {
        "reps": config.reps,
        "points": points,
        "samerun": f"GET /api/v1/runs/ID/metrics/loss/history?max_points={MAX_POINTS}",
        "mlflow": "GET /api/2.0/mlflow/metrics/get-history (every point, timed once)",
        "samerun_populate_s": populated["populate_s"],
    }
    return [
        Result(
            f"history API, {points:,} points -> {MAX_POINTS:,} buckets",
            "s",
            ours.downsampled_s,
            theirs.every_point_s,
            theirs.every_point_s / ours.downsampled_s,
            limit_s=0.2,
            details=details,
        ),
        Result(
            f"  vs MLflow's chart sampling ({MAX_POINTS:,} points)",
            "s",
            ours.downsampled_s,
            theirs.downsampled_s,
            theirs.downsampled_s / ours.downsampled_s,
            details={"mlflow": "get-history-bulk-interval: sampled points, no min/max"},
        ),
        Result(
            f"  zoom into {ZOOM[1] - ZOOM[0] + 1:,} steps",
            "s",
            ours.zoom_s,
            theirs.zoom_s,
            theirs.zoom_s / ours.zoom_s,
        ),
        Result(
            f"server peak RSS, {points:,}-point series",
            "B",
            ours.memory.serving,
            theirs.memory.serving,
            theirs.memory.serving / ours.memory.serving,
            details={"mlflow_all_processes": theirs.memory.total},
        ),
    ]


WEB_BENCHMARKS = {"web_runs": bench_web_runs, "web_history": bench_web_history}
