"""Dependency and Python pins: lock files, requirements, and where the version is pinned."""

from __future__ import annotations

from pathlib import Path

import pytest

from samerun.doctor import pins


def test_a_lock_file_pins_the_dependencies(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "uv.lock").write_text("version = 1\n")
    evidence = pins.dependencies([tmp_path])
    assert evidence.holds
    assert evidence.detail == "lock file uv.lock"


def test_requirements_list_what_is_unpinned(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "# deps\nnumpy==1.26.4\ntorch==2.1.0+cu118 --hash=sha256:abc\n-r extra.txt\n-e .\n"
        "pandas>=2\nscikit-learn\nlib @ git+https://x/lib.git@" + "a" * 40 + "\n"
    )
    (tmp_path / "extra.txt").write_text("requests~=2.31\n")
    evidence = pins.dependencies([tmp_path])
    assert not evidence.holds
    assert evidence.detail.endswith("pandas, requests, scikit-learn")


def test_fully_pinned_requirements_hold(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("numpy==1.26.4\nrich===13.7.0\n")
    assert pins.dependencies([tmp_path]).holds


def test_nothing_to_pin_with(tmp_path: Path) -> None:
    evidence = pins.dependencies([tmp_path])
    assert not evidence.holds
    assert evidence.step


@pytest.mark.parametrize(
    ("name", "content", "holds"),
    [
        (".python-version", "3.11.6\n", True),
        ("runtime.txt", "python-3.10.13\n", True),
        ("environment.yml", "dependencies:\n  - python=3.11\n  - numpy\n", True),
        ("pyproject.toml", '[project]\nrequires-python = "==3.11.*"\n', True),
        ("pyproject.toml", '[project]\nrequires-python = ">=3.11,<3.12"\n', True),
        ("pyproject.toml", '[project]\nrequires-python = ">=3.10"\n', False),
        ("Dockerfile", "FROM python:3.11-slim\n", True),
    ],
)
def test_python_pins(tmp_path: Path, name: str, content: str, holds: bool) -> None:
    (tmp_path / name).write_text(content)
    assert pins.python([tmp_path]).holds is holds
