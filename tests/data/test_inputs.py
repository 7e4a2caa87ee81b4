from __future__ import annotations

import json
import subprocess
import sys

from samerun.data.inputs import capture_datasets
from samerun.data.workspace import DataContext, add
from samerun.manifest import DataInput
from tests.conftest import Cli

USES_DATA = """\
import samerun
run = samerun.start_run()
path = samerun.use_dataset("extra.txt")
print(open(path).read())
"""


def test_every_pointer_is_recorded_with_what_the_workspace_holds(ctx: DataContext) -> None:
    (ds,) = add(ctx, ["data/raw"])
    entries, warnings = capture_datasets(ctx.root, ctx.objects)
    assert warnings == []
    assert entries == [
        DataInput(
            path="data/raw",
            pointer="data/raw.samerun",
            version=ds.pointer.oid,
            oid=ds.pointer.oid,
            kind="dir",
            size=ds.pointer.size,
            files=6,
        )
    ]


def test_a_workspace_that_differs_is_stored_and_recorded_with_a_warning(ctx: DataContext) -> None:
    (ds,) = add(ctx, ["data/raw"])
    (ctx.root / "data" / "raw" / "f0.csv").write_text("edited, not added")
    (entry,), (warning,) = capture_datasets(ctx.root, ctx.objects)
    assert entry.version == ds.pointer.oid
    assert entry.read != ds.pointer.oid
    assert entry.read is not None
    assert ctx.objects.exists(entry.read)  # replayable: the real content is in the store
    assert ctx.objects.exists(ctx.objects.put_bytes(b"edited, not added"))
    assert "differs from the version data/raw.samerun names" in warning


def test_record_records_datasets_inputs_and_use_dataset(ctx: DataContext, cli: Cli) -> None:
    add(ctx, ["data/raw"])
    (ctx.root / "extra.txt").write_text("extra")
    (ctx.root / "labels.csv").write_text("l")
    (ctx.root / "uses.py").write_text(USES_DATA)
    done = cli("record", "--input", "labels.csv", "--json", "--", sys.executable, "uses.py")
    assert done.exit_code == 0, done.stderr
    data = json.loads(done.stdout)["inputs"]["data"]
    assert [d["path"] for d in data] == ["data/raw", "extra.txt", "labels.csv"]
    assert all(d["oid"] and d["oid"].startswith("blake3:") for d in data)
    bad = cli("record", "--input", "missing.csv", "--", "true")
    assert bad.exit_code == 2
    assert "--input missing.csv" in bad.stderr


def test_use_dataset_without_a_launcher_records_into_the_own_run(ctx: DataContext) -> None:
    (ctx.root / "extra.txt").write_text("extra")
    report = "run.end()\nprint(run.final.to_dict()['inputs']['data'][0]['path'])\n"
    (ctx.root / "uses.py").write_text(USES_DATA + report)
    # A process: the script runs as `python uses.py` would, with no launcher and no run of ours.
    done = subprocess.run(
        [sys.executable, "uses.py"], cwd=ctx.root, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["extra", "extra.txt"]
