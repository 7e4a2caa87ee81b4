"""The README is the front door: it must mention every command."""

from __future__ import annotations

from pathlib import Path

from samerun.cli.app import app

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_readme_documents_every_command() -> None:
    missing = [name for name in app.commands if f"samerun {name}" not in README]
    assert missing == []


def test_readme_gives_the_two_commands() -> None:
    assert "make demo" in README
    assert "make test" in README
