"""``samerun login``, ``push`` and ``pull`` refusing bad input: one line, nothing changed.
(Pushing and pulling against a real server: tests/server/test_sync.py.)"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Cli

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there


def test_login_to_an_unreachable_server_keeps_nothing(cli: Cli, tmp_path: Path) -> None:
    done = cli("login", UNREACHABLE, "--token", "t")
    assert done.exit_code == 1
    assert "cannot reach the server at http://127.0.0.1:9" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "home" / ".config" / "samerun").exists()


def test_push_and_pull_without_signing_in_say_so(cli: Cli, project: Path) -> None:
    for args in (("push", "--project", "p"), ("pull", "abc", "--project", "p")):
        done = cli(*args)
        assert done.exit_code == 1
        assert "signed in to no server; name the server with --url" in done.stderr
    done = cli("push", "--project", "p", "--url", UNREACHABLE)
    assert "sign in with `samerun login http://127.0.0.1:9` first" in done.stderr
