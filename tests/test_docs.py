"""The README is the front door: it must mention every command."""

from __future__ import annotations

import re
from pathlib import Path

from samerun.cli.app import app

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_readme_documents_every_command() -> None:
    missing = [name for name in app.commands if f"samerun {name}" not in README]
    assert missing == []


def test_readme_gives_the_two_commands() -> None:
    assert "make demo" in README
    assert "make test" in README


def test_every_image_and_file_the_readme_links_to_exists() -> None:
    root = Path(__file__).parents[1]
    targets = re.findall(r"\]\(([^)#:]+)\)", README)  # relative links; not URLs or anchors
    missing = [target for target in targets if not (root / target).exists()]
    assert missing == []
