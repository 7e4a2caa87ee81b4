"""``samerun audit verify``: what a user sees, in-process through ``main(argv)``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.store.conftest import postgres_server, postgres_url, postgres_urls  # noqa: F401


def test_verify_says_intact_then_names_the_tampered_entry_and_exits_1(
    project: Path, cli: Cli
) -> None:
    assert cli("record", "-p", "lr=0.1", "--", "python", "train.py").exit_code == 0
    done = cli("audit", "verify")
    assert done.exit_code == 0, done.stderr
    assert "the trail starts at entry 1 on " in done.stdout
    assert "1 entries, 1 object(s) re-hashed" in done.stdout
    assert "intact; head blake3:" in done.stdout
    with sqlite3.connect(project / ".samerun" / "meta.db") as db:
        db.execute("UPDATE params SET value = '0.9' WHERE key = 'lr'")
    done = cli("audit", "verify")
    assert done.exit_code == 1
    assert "): param lr is 0.9 in the database, 0.1 on it" in done.stderr
    assert done.stderr.startswith("tampered: entry 1 (run ")
    report = json.loads(cli("audit", "verify", "--json").stdout)
    assert (report["intact"], report["entries"]) == (False, 1)
    assert report["findings"][0]["seq"] == 1


def test_verify_outside_a_project_says_what_to_do(tmp_path: Path, cli: Cli) -> None:
    done = cli("audit", "verify", cwd=tmp_path)
    assert done.exit_code != 0
    assert len(done.stderr.strip().splitlines()) == 1


def test_verify_checks_a_team_servers_store_by_its_urls(
    postgres_url: str,  # noqa: F811
    project: Path,
    cli: Cli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAMERUN_METADATA_URL", postgres_url)
    assert cli("record", "-p", "lr=0.1", "--", "python", "train.py").exit_code == 0
    monkeypatch.delenv("SAMERUN_METADATA_URL")
    objects = str(project / ".samerun" / "objects")
    done = cli("audit", "verify", "--metadata", postgres_url, "--objects", objects, cwd=tmp_path)
    assert done.exit_code == 0, done.stderr
    assert "1 entries, 1 object(s) re-hashed" in done.stdout
    done = cli("audit", "verify", "--metadata", postgres_url, cwd=tmp_path)
    assert done.exit_code != 0
    assert "give both --metadata and --objects" in done.stderr


def test_a_noted_head_must_still_be_on_the_trail(project: Path, cli: Cli) -> None:
    assert cli("record", "-p", "lr=0.1", "--", "python", "train.py").exit_code == 0
    head = json.loads(cli("audit", "verify", "--json").stdout)["head"]
    assert cli("audit", "verify", "--noted", head).exit_code == 0
    with sqlite3.connect(project / ".samerun" / "meta.db") as db:
        db.execute("DELETE FROM audit_entries")  # a rewrite of the whole chain
        db.execute("DELETE FROM audit_head")
    done = cli("audit", "verify", "--noted", head)
    assert done.exit_code == 1
    assert f"tampered: no entry (a noted entry): {head} is no longer on the trail" in done.stderr
