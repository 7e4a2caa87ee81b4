"""samerun's data versioning against DVC, side by side, on the same machine and filesystem.

Usage (from the repository root)::

    .venv/bin/python benchmarks/data/bench_data.py                 # all three workloads
    .venv/bin/python benchmarks/data/bench_data.py --only files --scale 0.1

Workloads (issue 3): 1 GiB in 10,000 files (``files``), one 1 GiB file (``big``), 200,000 small
files (``many``). Each tool gets its own fresh git repository holding the same bytes; the page
cache is warmed before ``add`` (cold stat cache, warm page cache). DVC runs with its default
cache type (reflink, else copy). Every ratio is DVC's time / samerun's time. Results go to
``benchmarks/results/data.json``.

``--unprivileged`` (when run as root) runs both tools without the capabilities that let root
ignore file modes (``setpriv`` drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH): file
permissions then apply as for a normal user. That matters to samerun: where read-only modes
protect its objects it hard-links files into its store; as root it copies them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import BENCH_DIR, SAMERUN_CLI, BenchError, child_env, median, say, scratch

DVC = BENCH_DIR / ".venv-dvc" / "bin" / "dvc"
RESULTS = BENCH_DIR / "results" / "data.json"


@dataclass(frozen=True)
class Workload:
    name: str
    files: int
    size: int  # bytes per file


WORKLOADS = {
    "files": Workload("1 GiB in 10,000 files", 10_000, (1 << 30) // 10_000),
    "big": Workload("one 1 GiB file", 1, 1 << 30),
    "many": Workload("200,000 small files", 200_000, 512),
}


def generate(root: Path, load: Workload, seed: int = 7) -> None:
    """The same pseudo-random bytes for both tools (incompressible, deterministic)."""
    rng = random.Random(seed)
    block = os.urandom(1 << 20)  # reused, shifted per file: cheap to write, distinct content
    for i in range(load.files):
        path = root / f"d{i % 100:02d}" / f"f{i:06d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            left, offset = load.size, rng.randrange(len(block))
            handle.write(i.to_bytes(8, "little"))
            left -= 8
            while left > 0:
                chunk = block[offset : offset + left] or block[: min(left, len(block))]
                handle.write(chunk)
                left -= len(chunk)
                offset = 0


_UNPRIVILEGED = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


@dataclass(frozen=True)
class Runner:
    """Runs the tools' commands, with or without root's power over file modes."""

    unprivileged: bool

    def argv(self, argv: list[str | Path]) -> list[str]:
        return [*(_UNPRIVILEGED if self.unprivileged else []), *map(str, argv)]

    def env(self) -> dict[str, str]:
        return child_env({"DVC_NO_ANALYTICS": "1"})

    def run(self, argv: list[str | Path], cwd: Path) -> None:
        subprocess.run(self.argv(argv), cwd=cwd, check=True, env=self.env(), capture_output=True)


def timed(
    runner: Runner, argv: list[str | Path], cwd: Path, ok: tuple[int, ...] = (0,)
) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one command, itself: no wrapper process is timed.

    ``wait4`` gives the peak RSS of the command and of every process it waited for.
    """
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            runner.argv(argv), cwd=cwd, env=runner.env(), stdout=subprocess.DEVNULL, stderr=err
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = code = os.waitstatus_to_exitcode(status)
        if code not in ok:
            err.seek(0)
            raise BenchError(f"{argv} exited {code}:\n{err.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss


def warm(path: Path) -> None:
    """Write the generated data back to disk (no tool should pay for that), then read it all."""
    os.sync()
    subprocess.run(
        ["sh", "-c", f"find {path} -type f -print0 | xargs -0 cat > /dev/null"], check=True
    )


def project(runner: Runner, root: Path, side: str, load: Workload) -> Path:
    repo = root / side
    repo.mkdir()
    generate(repo / "data" / "raw", load)
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    runner.run(["git", "init", "--quiet", "--initial-branch=main"], repo)
    if side == "dvc":
        runner.run([DVC, "init", "-q"], repo)
        runner.run([DVC, "config", "core.analytics", "false"], repo)
        runner.run(["git", "add", ".dvc"], repo)
    else:
        runner.run([SAMERUN_CLI, "init"], repo)
    # the data stays untracked
    runner.run(["git", *identity, "commit", "--quiet", "--allow-empty", "-m", "setup"], repo)
    return repo


def commands(side: str) -> dict[str, list[str | Path]]:
    if side == "dvc":
        return {
            "add": [DVC, "add", "-q", "data/raw"],
            "status": [DVC, "status", "-q"],
            "checkout": [DVC, "checkout", "-q", "--force"],
            "push": [DVC, "push", "-q"],
            "pull": [DVC, "pull", "-q"],
        }
    return {
        "add": [SAMERUN_CLI, "data", "add", "data/raw"],
        "status": [SAMERUN_CLI, "data", "status"],
        "checkout": [SAMERUN_CLI, "data", "checkout", "--force"],
        "push": [SAMERUN_CLI, "data", "push"],
        "pull": [SAMERUN_CLI, "data", "pull", "--force"],
    }


def drop_local(repo: Path, side: str) -> None:
    """Delete the dataset and the local cache/store: what a fresh clone has before a pull."""
    import shutil

    shutil.rmtree(repo / "data" / "raw")
    cache = repo / ".dvc" / "cache" if side == "dvc" else repo / ".samerun" / "objects"
    subprocess.run(["chmod", "-R", "u+w", str(cache)], check=True)
    shutil.rmtree(cache)


def measure(
    runner: Runner, side: str, load: Workload, root: Path, reps: int, transfer: bool
) -> dict[str, Any]:
    say(f"  {side}: generating {load.name}")
    repo = project(runner, root, side, load)
    cmd = commands(side)
    warm(repo / "data" / "raw")
    out: dict[str, Any] = {}
    say(f"  {side}: add")
    out["add_s"], out["add_rss_kib"] = timed(runner, cmd["add"], repo)
    timed(runner, cmd["status"], repo, (0, 1))  # warm-up: files written just before add
    walls = [timed(runner, cmd["status"], repo, (0, 1)) for _ in range(reps)]
    out["status_s"] = median([w for w, _ in walls])
    out["status_rss_kib"] = max(r for _, r in walls)
    victim = next((repo / "data" / "raw").rglob("*.bin"))
    victim.chmod(0o644)
    victim.unlink()  # a checkout may have made it a read-only link; replace, never edit in place
    victim.write_bytes(b"touched")
    out["status_touched_s"], _ = timed(runner, cmd["status"], repo, (0, 1))
    if load.files > 1:
        import shutil

        shutil.rmtree(repo / "data" / "raw")
        say(f"  {side}: checkout")
        out["checkout_s"], _ = timed(runner, cmd["checkout"], repo)
    else:
        timed(runner, cmd["checkout"], repo)
    if transfer:
        remote = root / f"{side}-remote"
        if side == "dvc":
            runner.run([DVC, "remote", "add", "-d", "local", remote], repo)
        else:
            runner.run([SAMERUN_CLI, "remote", "add", "local", remote], repo)
        say(f"  {side}: push / pull")
        out["push_s"], _ = timed(runner, cmd["push"], repo)
        drop_local(repo, side)
        out["pull_s"], _ = timed(runner, cmd["pull"], repo)
        if sum(1 for _ in (repo / "data" / "raw").rglob("*.bin")) != load.files:
            raise BenchError(f"{side}: pull did not bring back all {load.files} files")
    return out


ROWS = [
    ("add_s", "data add (cold stat cache)", 8.0),
    ("status_s", "data status, nothing changed", 8.0),
    ("status_touched_s", "data status, one file changed", None),
    ("checkout_s", "checkout of the whole version", None),
    ("push_s", "push to a local remote", None),
    ("pull_s", "pull from a local remote", None),
]


def table(name: str, ours: dict[str, Any], theirs: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, label, target in ROWS:
        if key in ours and key in theirs:
            ratio = theirs[key] / ours[key]
            rows.append(
                {
                    "workload": name,
                    "what": label,
                    "samerun_s": ours[key],
                    "dvc_s": theirs[key],
                    "ratio": ratio,
                    "target": target,
                    "met": None if target is None else ratio >= target,
                }
            )
    rows.append(
        {
            "workload": name,
            "what": "peak RSS of add (MiB)",
            "samerun_s": ours["add_rss_kib"] / 1024,
            "dvc_s": theirs["add_rss_kib"] / 1024,
            "ratio": theirs["add_rss_kib"] / ours["add_rss_kib"],
            "target": None,
            "met": None,
        }
    )
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'workload':24} {'measure':32} {'samerun':>10} {'DVC':>10} {'ratio':>8}  target"]
    for r in rows:
        unit = "" if "RSS" in r["what"] else " s"
        target = (
            "-" if r["target"] is None else f">= {r['target']:g}x " + ("yes" if r["met"] else "NO")
        )
        lines.append(
            f"{r['workload']:24} {r['what']:32} {r['samerun_s']:>8.2f}{unit:2} "
            f"{r['dvc_s']:>8.2f}{unit:2} {r['ratio']:>7.1f}x  {target}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(WORKLOADS))
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of each workload's files"
    )
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--unprivileged", action="store_true", help="as root: run both tools with file modes"
    )
    args = parser.parse_args(argv)
    subprocess.run(["bash", str(Path(__file__).with_name("setup_dvc.sh"))], check=True)
    rows: list[dict[str, Any]] = []
    for key in args.only or list(WORKLOADS):
        base = WORKLOADS[key]
        files = max(1, round(base.files * args.scale))
        load = Workload(
            base.name if files == base.files else f"{base.name} x{args.scale:g}", files, base.size
        )
        say(f"{load.name}: {files:,} files of {load.size:,} bytes")
        with scratch(f"data-{key}") as root:
            runner = Runner(args.unprivileged)
            transfer = key == "files"
            ours = measure(runner, "samerun", load, root, args.reps, transfer)
            theirs = measure(runner, "dvc", load, root, args.reps, transfer)
        measured = table(load.name, ours, theirs)
        rows.extend(measured)
        print(render(measured), flush=True)
    print("\n" + render(rows))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    version = subprocess.run([DVC, "--version"], capture_output=True, text=True).stdout.strip()
    root_like = os.geteuid() == 0 and not args.unprivileged
    user = "root" if root_like else "file modes enforced (a normal user)"
    args.output.write_text(
        json.dumps({"dvc": version, "cpus": os.cpu_count(), "user": user, "rows": rows}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
