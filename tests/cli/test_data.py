"""The data commands through the CLI, and ``data add`` and ``data pull`` SIGKILLed half-way."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from samerun.hashing import hash_file
from samerun.store.objects import LocalObjectStore
from tests.conftest import Cli, git


def _dataset(root: Path, files: int = 8, size: int = 1000) -> Path:
    raw = root / "data" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (raw / f"part-{i:05d}.bin").write_bytes(os.urandom(size))
    return raw


def _contents(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _objects(root: Path) -> list[Path]:
    store = root / ".samerun" / "objects"
    return [p for p in store.glob("??/*") if p.is_file()]


def test_add_status_checkout_ls(project: Path, cli: Cli) -> None:
    raw = _dataset(project)
    added = cli("data", "add", "data/raw")
    assert added.exit_code == 0, added.stderr
    assert "added data/raw: 8 files" in added.stdout
    git(project, "add", "data")
    git(project, "commit", "-q", "-m", "data v1")
    assert cli("data", "status").stdout.split() == ["unchanged", "data/raw"]

    (raw / "part-00000.bin").write_bytes(b"edited")
    changed = cli("data", "status", "--json")
    assert changed.exit_code == 1
    assert json.loads(changed.stdout)[0]["modified"] == ["part-00000.bin"]

    refused = cli("data", "checkout")
    assert refused.exit_code == 1
    assert refused.stderr.count("\n") == 1
    assert "data/raw/part-00000.bin" in refused.stderr
    forced = cli("data", "checkout", "--force", "--json")
    assert json.loads(forced.stdout)[0]["written"] == 1
    assert cli("data", "status").exit_code == 0

    listing = json.loads(cli("data", "ls", "data/raw", "--json").stdout)
    assert [f["path"] for f in listing][:2] == ["part-00000.bin", "part-00001.bin"]
    assert listing[0]["size"] == 1000


def test_add_links_where_safe_and_unprotect_copies(project: Path, cli: Cli, tmp_path: Path) -> None:
    raw = _dataset(project, files=3)
    added = cli("data", "add", "data/raw")
    if LocalObjectStore(tmp_path / "probe").read_only_protects():  # not root: links
        assert "3 files are now read-only links into the store" in added.stdout
        assert not os.access(raw / "part-00000.bin", os.W_OK)
    else:  # root writes through read-only modes: copies, the files left as they were
        assert "links" not in added.stdout
        assert os.access(raw / "part-00000.bin", os.W_OK)
    done = cli("data", "unprotect", "data/raw")
    assert done.stdout.strip().startswith("data/raw: ")
    again = cli("data", "unprotect", "--json")
    assert json.loads(again.stdout) == [{"dataset": "data/raw", "copied": 0}]  # all copies now
    assert (raw / "part-00000.bin").stat().st_nlink == 1
    assert cli("data", "status").exit_code == 0
    copied = cli("data", "add", "--copy", "--json", "data/raw")
    assert json.loads(copied.stdout)[0]["linked"] == 0


def test_checkout_rev_brings_back_an_older_version(project: Path, cli: Cli) -> None:
    raw = _dataset(project, files=3)
    v1 = _contents(raw)
    cli("data", "add", "data/raw")
    git(project, "add", "data")
    git(project, "commit", "-q", "-m", "v1")
    (raw / "part-00001.bin").unlink()
    (raw / "new.bin").write_bytes(b"v2")
    cli("data", "add", "data/raw")
    done = cli("data", "checkout", "data/raw", "--rev", "HEAD")
    assert done.exit_code == 0, done.stderr
    assert _contents(raw) == v1
    assert cli("data", "status").exit_code == 0  # the pointer came back too


def test_bad_pointers_get_one_line_naming_the_file(project: Path, cli: Cli) -> None:
    (project / "data").mkdir()
    pointer = project / "data" / "raw.samerun"
    for text, reason in [
        ("format: [oops", "not valid YAML"),
        (
            "format: samerun.pointer/1\npath: ../../etc\nkind: dir\n"
            f"oid: blake3:{'0' * 64}\nsize: 1\nfiles: 1\n",
            "unsafe",
        ),
        (
            "format: samerun.pointer/1\npath: /etc\nkind: dir\n"
            f"oid: blake3:{'0' * 64}\nsize: 1\nfiles: 1\n",
            "absolute",
        ),
    ]:
        pointer.write_text(text)
        done = cli("data", "checkout")
        assert done.exit_code == 2
        assert done.stderr.count("\n") == 1
        assert "pointer file data/raw.samerun" in done.stderr
        assert reason in done.stderr
    assert sorted(os.listdir(project / "data")) == ["raw.samerun"]


def test_corruption_is_found_by_fsck_and_refused_by_checkout(project: Path, cli: Cli) -> None:
    raw = _dataset(project, files=2)
    cli("data", "add", "data/raw")
    victim = project / ".samerun" / "objects"
    target = hash_file(raw / "part-00001.bin").partition(":")[2]
    obj = victim / target[:2] / target[2:]
    obj.chmod(0o644)
    data = bytearray(obj.read_bytes())
    data[10] ^= 0x01
    obj.write_bytes(bytes(data))
    report = cli("fsck")
    assert report.exit_code == 1
    assert "1 corrupt" in report.stdout
    (raw / "part-00001.bin").unlink()
    refused = cli("data", "checkout")
    assert refused.exit_code == 1
    assert "corrupt" in refused.stderr
    assert "part-00001.bin" in refused.stderr
    assert not (raw / "part-00001.bin").exists()


def test_remote_push_pull_and_gc(project: Path, cli: Cli, tmp_path: Path) -> None:
    raw = _dataset(project, files=5)
    before = _contents(raw)
    cli("data", "add", "data/raw")
    assert cli("remote", "add", "origin", str(tmp_path / "remote")).exit_code == 0
    assert "origin" in cli("remote", "list").stdout
    pushed = json.loads(cli("data", "push", "--json").stdout)
    assert pushed["transferred"] == 6
    assert json.loads(cli("data", "push", "--json").stdout)["transferred"] == 0
    for obj in _objects(project):
        obj.unlink()
    shutil.rmtree(raw)
    pulled = cli("data", "pull")
    assert pulled.exit_code == 0, pulled.stderr
    assert _contents(raw) == before
    (project / "orphan.txt").write_text("o")
    cli("data", "add", "orphan.txt")
    (project / "orphan.txt.samerun").unlink()
    assert "would remove 1 objects" in cli("gc", "--keep-recent", "0", "--dry-run").stdout
    assert "removed 1 objects" in cli("gc", "--keep-recent", "0").stdout
    assert _contents(raw) == before


def _kill_when(process: subprocess.Popen[bytes], ready: object, timeout: float = 60) -> bool:
    """SIGKILL ``process`` as soon as ``ready()`` is true; False if it finished first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if ready():  # type: ignore[operator]
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.002)
    process.wait()
    return False


def _cli(*args: str, cwd: Path) -> subprocess.Popen[bytes]:
    # A process: SIGKILL half-way through is what these tests do to it.
    return subprocess.Popen([sys.executable, "-m", "samerun.cli", *args], cwd=cwd)


def _all_objects_intact(project: Path) -> None:
    for obj in _objects(project):
        assert hash_file(obj).partition(":")[2] == obj.parent.name + obj.name


def test_add_killed_half_way_leaves_no_partial_object_and_reruns(project: Path, cli: Cli) -> None:
    raw = _dataset(project, files=1500, size=64 * 1024)
    before = _contents(raw)
    cli("init")
    killed = _kill_when(
        _cli("data", "add", "--copy", "data/raw", cwd=project),
        lambda: len(_objects(project)) > 50,
    )
    assert killed, "data add finished before it could be killed; make the dataset bigger"
    assert not (project / "data" / "raw.samerun").exists()
    _all_objects_intact(project)
    assert _contents(raw) == before
    done = cli("data", "add", "data/raw")
    assert done.exit_code == 0, done.stderr
    assert cli("data", "status").exit_code == 0
    assert len(_objects(project)) == len(before) + 1
    assert _contents(raw) == before


def test_add_killed_half_way_takes_its_worker_processes_along(project: Path, cli: Cli) -> None:
    raw = project / "data" / "raw"
    for d in range(20):
        (raw / f"d{d:02d}").mkdir(parents=True)
        for i in range(1100):  # above the 20,000 small files hashed in worker processes
            (raw / f"d{d:02d}" / f"f{i:04d}.txt").write_bytes(b"%d %d\n" % (d, i))
    cli("init")
    add = _cli("data", "add", "--copy", "data/raw", cwd=project)
    parent = psutil.Process(add.pid)
    workers: list[psutil.Process] = []

    def hashing() -> bool:
        workers[:] = parent.children() if add.poll() is None else []
        return len(workers) >= 2 and len(_objects(project)) > 50

    assert _kill_when(add, hashing), "data add finished before its workers could be seen"
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == []
    _all_objects_intact(project)
    done = cli("data", "add", "data/raw")
    assert done.exit_code == 0, done.stderr
    assert cli("data", "status").exit_code == 0


def test_pull_killed_half_way_resumes(project: Path, cli: Cli, tmp_path: Path) -> None:
    raw = _dataset(project, files=1500, size=64 * 1024)
    before = _contents(raw)
    cli("data", "add", "data/raw")
    cli("remote", "add", "origin", str(tmp_path / "remote"))
    cli("data", "push")
    for obj in _objects(project):
        obj.unlink()
    shutil.rmtree(raw)
    killed = _kill_when(
        _cli("data", "pull", "-j", "2", cwd=project), lambda: len(_objects(project)) > 50
    )
    assert killed, "data pull finished before it could be killed"
    _all_objects_intact(project)
    done = cli("data", "pull")
    assert done.exit_code == 0, done.stderr
    assert _contents(raw) == before


def test_the_progress_bar_counts_files_and_bytes() -> None:
    from samerun.cli.data import _Bar

    bar = _Bar("storing")
    assert bar.bar is None  # nothing drawn before work is announced (a prompt may come first)
    threads = threading.active_count()
    bar.expect(3, 300)
    assert threading.active_count() == threads  # no refresh thread: workers may still fork
    bar.advance(2, 200)
    assert bar.bar is not None
    (task,) = bar.bar.tasks
    assert (task.total, task.completed, task.fields["files"]) == (300, 200, "2/3 files")
    bar.close()


def test_a_directory_is_indexed_by_the_files_that_have_the_key(project: Path, cli: Cli) -> None:
    customers = project / "data" / "customers"
    customers.mkdir(parents=True)
    (customers / "a.csv").write_text("customer_id,spend\n1,3\n2,4\n")
    (customers / "b.tsv").write_text("customer_id\tspend\n3\t5\n")
    (customers / "notes.txt").write_text("free text\n")
    (customers / "spend.csv").write_text("spend\n6\n")
    done = cli("data", "add", "data/customers", "--record-key", "customer_id")
    assert done.exit_code == 0, done.stderr
    assert "indexed 3 records in 2 files by customer_id (keyed hashes only)" in done.stdout
    assert (
        "skipped 2 file(s) without customer_id or not indexable: notes.txt, spend.csv"
        in done.stdout
    )
