"""``samerun model``: what a user sees, in-process through ``main(argv)``."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from samerun.server.webhooks import signature
from samerun.store.project import Project, open_store
from tests.conftest import Cli, Receiver


@pytest.fixture
def churn(project: Path, cli: Cli) -> Path:
    """Model churn with versions 1 and 2 (from two runs); production moved 1 then 2."""
    for lr in ("0.1", "0.2"):
        done = cli("record", "-p", f"lr={lr}", "-o", "model.pkl", "--", "python", "train.py")
        assert done.exit_code == 0, done.stderr
        done = cli("model", "register", "churn", "--run", "last", "--artifact", "model.pkl")
        assert done.exit_code == 0, done.stderr
    for version in ("1", "2"):
        assert cli("model", "alias", "churn", "production", version, "-r", "why").exit_code == 0
    return project


def test_register_list_show_and_alias_as_a_user_sees_them(churn: Path, cli: Cli) -> None:
    listed = cli("model", "list")
    assert "churn  2 version(s)  production→v2" in listed.stdout
    assert json.loads(cli("model", "list", "--json").stdout)[0]["aliases"] == {"production": 2}
    shown = cli("model", "show", "churn@production")
    assert "churn v2  (aliases: production)" in shown.stdout
    assert "file model.pkl" in shown.stdout
    assert "never verified" in shown.stdout
    data = json.loads(cli("model", "show", "churn:1", "--json").stdout)
    assert (data["version"], data["run"]["status"], data["aliases"]) == (1, "finished", [])


def test_history_rollback_and_check(churn: Path, cli: Cli) -> None:
    history = cli("model", "history", "churn", "--alias", "production").stdout
    assert "production: - → v1  why" in history
    assert "now: production→v2" in history
    past = json.loads(cli("model", "history", "churn", "--at", "2000-01-01", "--json").stdout)
    assert (past["aliases"], past["events"]) == ({}, [])
    done = cli("model", "rollback", "churn", "--alias", "production", "--json")
    assert json.loads(done.stdout)["target"]["version"] == 1
    checked = cli("model", "history", "churn", "--check")
    assert (checked.exit_code, checked.stdout.strip()) == (
        0,
        "churn: the history of 3 event(s) is intact",
    )
    with sqlite3.connect(churn / ".samerun" / "meta.db") as db:
        db.execute("UPDATE alias_events SET reason = 'nothing to see' WHERE seq = 1")
    tampered = cli("model", "history", "churn", "--check")
    assert tampered.exit_code == 1
    assert "tampered: event 1 (production → v1) was edited" in tampered.stderr


def test_get_prints_checked_paths_and_card_writes_markdown(
    churn: Path, cli: Cli, tmp_path: Path
) -> None:
    got = cli("model", "get", "churn@production", "-o", str(tmp_path / "deploy"))
    assert got.stdout.strip() == str(tmp_path / "deploy" / "model.pkl")
    assert json.loads(cli("model", "get", "churn:1", "--json").stdout)["paths"][0].endswith(
        "models/churn/v1/model.pkl"
    )
    assert cli("model", "card", "churn:2", "-o", str(tmp_path / "CARD.md")).exit_code == 0
    assert (tmp_path / "CARD.md").read_text().startswith("# churn v2")


def test_a_flipped_byte_is_refused_with_the_file_named(churn: Path, cli: Cli) -> None:
    oid = json.loads(cli("model", "show", "churn:1", "--json").stdout)["files"][0]["oid"]
    digest = oid.partition(":")[2]
    (path,) = [p for p in (churn / ".samerun" / "objects").rglob("*") if digest[4:] in p.name]
    os.chmod(path, 0o644)
    path.write_bytes(b"X" + path.read_bytes()[1:])
    done = cli("model", "rollback", "churn", "--alias", "production")
    assert done.exit_code == 1
    assert "error: churn v1: file model.pkl cannot be used" in done.stderr
    assert cli("model", "get", "churn:1").exit_code == 1
    assert "production→v2" in cli("model", "list").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "fraud"], "no model named 'fraud'"),
        (["show", "churn:9"], "model churn has no version 9"),
        (["get", "churn@staging"], "model churn has no alias 'staging'"),
        (["alias", "churn", "prod uction", "1"], "is not a simple identifier"),
        (["rollback", "churn", "--alias", "production", "--steps", "5"], "has no holder 5"),
        (["register", "churn", "--run", "last", "--artifact", "x.pkl"], "did not produce 'x.pkl'"),
        (["history", "churn", "--at", "yesterday"], "is not an ISO date or time"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    churn: Path, cli: Cli, args: list[str], message: str
) -> None:
    before = cli("model", "history", "churn", "--json").stdout
    done = cli("model", *args)
    assert done.exit_code == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert cli("model", "history", "churn", "--json").stdout == before
    assert "2 version(s)" in cli("model", "list").stdout


def test_every_model_command_has_json_and_an_example(cli: Cli) -> None:
    for command in (
        "register",
        "list",
        "show",
        "alias",
        "history",
        "rollback",
        "get",
        "card",
        "watch",
    ):
        help_text = cli("model", command, "--help").stdout
        assert "--json" in help_text
        assert "Example:" in help_text


def test_watch_every_reports_each_check_and_posts_a_signed_change(
    churn: Path, cli: Cli, receiver: Receiver
) -> None:
    shown = json.loads(cli("model", "show", "churn@production", "--json").stdout)
    store = open_store(Project(churn))
    try:
        store.meta.add_verification(
            run_id=shown["run"]["id"],
            replay_id=None,
            verdict="diverged",
            details={"causes": ["numpy changed"]},
        )
    finally:
        store.close()
    secret = "a-secret-of-sixteen+"
    done = cli(
        "model",
        "watch",
        "churn@production",
        "--every",
        "1s",
        "--count",
        "2",
        "--webhook",
        receiver.url,
        env={"SAMERUN_WEBHOOK_SECRET": secret},
    )
    assert done.exit_code == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("churn@production = churn v2: ")
    assert "(changed: was diverged)" in lines[0]
    assert lines[1].endswith("(unchanged)")
    (posted,) = receiver.wait_for(1)
    payload = json.loads(posted.body)
    assert (payload["event"], payload["previous"], payload["version"]) == (
        "verdict.changed",
        "diverged",
        2,
    )
    assert posted.headers["x-samerun-signature"] == signature(secret, posted.body)


def test_watch_refuses_a_bad_interval_or_an_unsigned_webhook(churn: Path, cli: Cli) -> None:
    bad = cli("model", "watch", "churn@production", "--every", "soon")
    assert bad.exit_code == 2
    assert "a duration such as 30m, 6h or 1d" in bad.stderr
    unsigned = cli("model", "watch", "churn@production", "--webhook", "http://127.0.0.1:9/x")
    assert unsigned.exit_code == 2
    assert "SAMERUN_WEBHOOK_SECRET" in unsigned.stderr
