from __future__ import annotations

import importlib.metadata as md
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from samerun._exceptions import CaptureError
from samerun.capture.environment import capture_environment
from samerun.hashing import hash_json


def test_this_interpreter_is_described_with_every_distribution() -> None:
    env = capture_environment()
    assert env.python == platform.python_version()
    assert env.implementation == platform.python_implementation()
    assert env.packages["blake3"] == md.version("blake3")
    assert env.packages["pyyaml"] == md.version("PyYAML")
    assert env.packages_hash == hash_json(env.packages)
    assert "executable" not in env.identity()


def test_another_virtual_environment_is_asked_in_a_subprocess(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    other = capture_environment(str(venv / "bin" / "python"))
    mine = capture_environment()
    assert other.executable.startswith(str(venv))
    assert "blake3" not in other.packages
    assert other.packages_hash != mine.packages_hash
    assert other.python == mine.python


def test_a_broken_interpreter_is_a_capture_error(tmp_path: Path) -> None:
    fake = tmp_path / "python-broken"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(CaptureError, match="python-broken"):
        capture_environment(str(fake))
