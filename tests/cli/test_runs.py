"""`samerun runs --filter --sort --page`: what a user sees, and one line for a bad filter."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import samerun
from tests.conftest import Cli


def record(name: str, accuracy: float, lr: float) -> str:
    with samerun.start_run(name=name, params={"model": {"lr": lr}}) as run:
        samerun.log_metric("accuracy", accuracy)
        samerun.log_metric("loss", 1 - accuracy)
    return run.id


@pytest.fixture
def three_runs(project: Path) -> list[str]:
    return [record("low", 0.7, 0.1), record("high", 0.95, 0.01), record("mid", 0.91, 0.1)]


def test_filter_and_sort_choose_and_order_the_rows(three_runs: list[str], cli: Cli) -> None:
    done = cli("runs", "--filter", "metrics.accuracy > 0.9", "--sort", "metrics.accuracy", "--json")
    assert done.exit_code == 0, done.stderr
    assert [r["name"] for r in json.loads(done.stdout)] == ["mid", "high"]
    wide = {"COLUMNS": "160"}
    table = cli("runs", "-f", "params.model.lr < 0.1", "-s", "metrics.accuracy desc", env=wide)
    assert "high" in table.stdout
    assert "low" not in table.stdout
    assert "accuracy=0.95  loss=0.05" in table.stdout  # the sorted-by metric comes first
    by_loss = cli("runs", "-f", "metrics.loss < 0.1", env=wide)
    assert "loss=0.05  accuracy=0.95" in by_loss.stdout  # and so does the filtered-by one


def test_pages_name_the_token_of_the_next(three_runs: list[str], cli: Cli) -> None:
    first = cli("runs", "--sort", "name", "--limit", "2")
    assert "showing 2 of 3 runs; next page: --page " in first.stdout
    token = first.stdout.split("--page ")[1].split()[0]
    second = cli("runs", "--sort", "name", "--limit", "2", "--page", token, "--json")
    assert [r["name"] for r in json.loads(second.stdout)] == ["mid"]


def test_nothing_matching_says_so(three_runs: list[str], cli: Cli) -> None:
    done = cli("runs", "--filter", "metrics.accuracy > 2")
    assert done.exit_code == 0
    assert "no runs match the filter" in done.stdout


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("metrics.accuracy >", "at column 19: expected a value"),
        ("metrics. > 0.9", "`metrics.` needs a key after it"),
        ("foo.bar = 1", "unknown field 'foo.bar'"),
        ("params.model.lr > 'abc'", "'abc' is not one"),
        ("status = 'succeeded'", "unknown run status 'succeeded'"),
    ],
)
def test_a_bad_filter_is_one_line_and_writes_nothing(
    three_runs: list[str], project: Path, cli: Cli, bad: str, reason: str
) -> None:
    store = project / ".samerun" / "meta.db"
    before = store.read_bytes()
    done = cli("runs", "--filter", bad)
    assert done.exit_code == 2
    assert reason in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
    assert store.read_bytes() == before


def test_a_bad_filter_creates_no_store(tmp_path: Path, cli: Cli) -> None:
    done = cli("runs", "--filter", "metrics.", cwd=tmp_path)
    assert done.exit_code == 2
    assert not (tmp_path / ".samerun").exists()


def test_a_bad_sort_key_is_one_line(three_runs: list[str], cli: Cli) -> None:
    done = cli("runs", "--sort", "metrics.accuracy sideways")
    assert done.exit_code == 2
    assert "the direction is asc or desc" in done.stderr


def test_tags_label_a_run_for_filters(three_runs: list[str], cli: Cli) -> None:
    done = cli("tag", "last", "stage=candidate", "owner=ana")
    assert done.exit_code == 0, done.stderr
    assert "tags: owner=ana  stage=candidate" in done.stdout
    listed = json.loads(cli("runs", "--filter", "tags.stage = 'candidate'", "--json").stdout)
    assert [r["name"] for r in listed] == ["mid"]
    assert listed[0]["tags"] == {"owner": "ana", "stage": "candidate"}
    assert "tags: owner=ana" in cli("tag", "last", "--remove", "stage").stdout
    assert json.loads(cli("tag", "last", "--remove", "owner", "--json").stdout) == {}


@pytest.mark.parametrize("bad", [("last", "stage"), ("last", "=x"), ("last",)])
def test_a_malformed_tag_is_one_line(three_runs: list[str], cli: Cli, bad: tuple[str]) -> None:
    done = cli("tag", *bad)
    assert done.exit_code == 2
    assert len(done.stderr.strip().splitlines()) == 1


LONG_NAME = "replay of replay of 9378 with a much longer name than fits"


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("terminal", [False, True])
def test_a_narrow_terminal_never_cuts_an_id_seed_or_commit(
    project: Path, cli: Cli, columns: int, terminal: bool
) -> None:
    with samerun.start_run(name=LONG_NAME, seed=42) as run:
        samerun.log_metric("accuracy", 0.91)
        samerun.log_metric("loss", 0.125)
    commit = samerun.get_run(run.id).manifest.inputs.code.commit
    assert commit is not None
    env = {"COLUMNS": str(columns), **({"FORCE_COLOR": "1"} if terminal else {})}
    shown = cli("runs", env=env)
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    header, row = lines[0], next(line for line in lines if run.id[:8] in line)
    assert max(len(_plain(line)) for line in lines[:2]) <= columns
    assert " 42 " in _plain(row) + " "  # the seed, whole
    assert commit[:8] in _plain(row)
    assert "seed" in _plain(header)
    if columns == 80:
        assert "…" in _plain(row)  # the long name gives way, marked
        assert "left out to fit 80 columns (--wide shows all)" in _plain(shown.stdout)
    else:
        assert "accuracy=0.91" in _plain(row)
    wide = cli("runs", "--wide", env=env)
    assert LONG_NAME in _plain(wide.stdout)


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_last_and_runs_leave_replays_to_their_original(project: Path, cli: Cli) -> None:
    recorded = cli("record", "--seed", "1", "--name", "baseline", "--", "python", "train.py")
    assert recorded.exit_code == 0, recorded.stderr
    first = cli("verify", "last", "--json")
    second = cli("verify", "last", "--json")
    original = json.loads(first.stdout)["run"]
    assert json.loads(second.stdout)["run"] == original  # not the replay of the first verify
    assert cli("show", "last", "--json").stdout.count(original) >= 1
    assert json.loads(cli("show", "last", "--json").stdout)["id"] == original
    listed = cli("runs", env={"COLUMNS": "120"})
    assert "replay of" not in listed.stdout
    assert "2 replays of verified runs not listed (--replays lists them)" in listed.stdout
    assert "replay of baseline" in cli("runs", "--replays", env={"COLUMNS": "120"}).stdout
    replay = json.loads(first.stdout)["replay"]
    again = cli("verify", replay, "--json")
    report = json.loads(again.stdout)
    assert report["run"] == original
    assert any("is a replay of run" in note for note in report["notes"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("last", "--reason", " "), "--reason cannot be empty"),
        (("last",), "Missing option '--reason'"),
        (("f00d", "--reason", "x"), "f00d"),
    ],
)
def test_a_delete_without_a_reason_or_run_changes_nothing(
    three_runs: list[str], cli: Cli, args: tuple[str, ...], message: str
) -> None:
    done = cli("delete", *args)
    assert done.exit_code != 0
    assert message in done.stderr
    assert len(json.loads(cli("runs", "--json").stdout)) == 3
