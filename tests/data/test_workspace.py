from __future__ import annotations

from pathlib import Path

import pytest

from samerun._exceptions import UsageError
from samerun.data.pointer import read_pointer
from samerun.data.workspace import DataContext, add, entries, select, status
from tests.conftest import git


def test_add_stores_the_data_writes_a_pointer_and_ignores_the_data(ctx: DataContext) -> None:
    root = ctx.root
    (root / "data" / "labels.csv").write_text("id,label\n1,cat\n")
    added = add(ctx, ["data/raw", "data/labels.csv"])
    assert [d.pointer_rel for d in added] == ["data/raw.samerun", "data/labels.csv.samerun"]
    raw = read_pointer(root, root / "data" / "raw.samerun").pointer
    assert (raw.kind, raw.files) == ("dir", 6)
    assert ctx.objects.exists(raw.oid)
    assert (root / "data" / ".gitignore").read_text() == "/raw\n/labels.csv\n"
    assert git(root, "status", "--porcelain", "--", "data") == "?? data/"
    assert "raw/" not in git(root, "status", "--porcelain", "-uall", "--", "data")
    add(ctx, ["data/raw"])  # again: nothing changes, no duplicate ignore line
    assert (root / "data" / ".gitignore").read_text() == "/raw\n/labels.csv\n"


def test_add_rejects_paths_it_must_not_version(ctx: DataContext) -> None:
    for bad, message in [
        (".", "not ."),
        (".samerun", "not .samerun"),
        ("missing", "no such file"),
        ("/etc", "outside the project"),
    ]:
        with pytest.raises(UsageError, match=message):
            add(ctx, [bad])
    assert not (ctx.root / "data" / "raw.samerun").exists()


def test_status_lists_added_modified_and_deleted_files(ctx: DataContext) -> None:
    add(ctx, ["data/raw"])
    raw = ctx.root / "data" / "raw"
    assert [s.state for s in status(ctx, select(ctx.root, []))] == ["unchanged"]
    (raw / "f0.csv").write_text("changed")
    (raw / "f1.csv").unlink()
    (raw / "new.csv").write_text("n")
    (found,) = status(ctx, select(ctx.root, ["data/raw"]))
    assert (found.state, found.added, found.modified, found.deleted) == (
        "modified",
        ["new.csv"],
        ["f0.csv"],
        ["f1.csv"],
    )
    import shutil

    shutil.rmtree(raw)
    assert status(ctx, select(ctx.root, []))[0].state == "missing"


def test_ls_lists_a_version_and_rev_reads_the_pointer_from_git(ctx: DataContext) -> None:
    add(ctx, ["data/raw"])
    git(ctx.root, "add", "data")
    git(ctx.root, "commit", "-q", "-m", "v1")
    (ctx.root / "data" / "raw" / "extra.csv").write_text("e")
    add(ctx, ["data/raw"])
    now = [e.path for e in entries(ctx.objects, select(ctx.root, ["data/raw"])[0])]
    then = [e.path for e in entries(ctx.objects, select(ctx.root, ["data/raw"], rev="HEAD")[0])]
    assert set(now) - set(then) == {"extra.csv"}
    with pytest.raises(UsageError, match="does not exist at git revision"):
        select(ctx.root, ["data/raw"], rev="no-such-rev")


def test_selecting_a_path_without_pointer_says_how_to_add_it(ctx: DataContext) -> None:
    with pytest.raises(UsageError, match="samerun data add"):
        select(ctx.root, ["data/raw"])


def test_pointer_path_is_relative_to_its_directory(ctx: DataContext, project: Path) -> None:
    add(ctx, ["data/raw/sub"])
    ds = read_pointer(project, project / "data" / "raw" / "sub.samerun")
    assert ds.rel == "data/raw/sub"
