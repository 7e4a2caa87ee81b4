from __future__ import annotations

import importlib.metadata as md
import json
import platform
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from samerun._exceptions import CaptureError
from samerun.capture.environment import CondaPackage, Environment, Origin, capture_environment
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


def _fake_venv(tmp_path: Path) -> tuple[Path, Path]:
    """A virtual environment without pip, and its site-packages folder."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (site,) = (venv / "lib").glob("python*/site-packages")
    return venv, site


def _install_fake(
    site: Path, name: str, version: str, *, installer: str = "pip", direct_url: str | None = None
) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "INSTALLER").write_text(installer + "\n")
    if direct_url is not None:
        (info / "direct_url.json").write_text(direct_url)


def test_each_distribution_is_recorded_with_where_it_came_from(tmp_path: Path) -> None:
    venv, site = _fake_venv(tmp_path)
    _install_fake(site, "plain", "1.0")
    _install_fake(
        site,
        "from_git",
        "0.3",
        direct_url='{"url": "https://user:s3cret@git.example.com/x.git",'
        ' "vcs_info": {"vcs": "git", "commit_id": "abc123", "requested_revision": "main"}}',
    )
    _install_fake(
        site,
        "wheel_file",
        "2.0",
        installer="uv",
        direct_url='{"url": "file:///tmp/wheel_file-2.0-py3-none-any.whl",'
        ' "archive_info": {"hashes": {"sha256": "ff00"}}}',
    )
    _install_fake(
        site,
        "editable",
        "0.1",
        direct_url='{"url": "file:///src/editable", "dir_info": {"editable": true}}',
    )
    _install_fake(site, "broken", "1.1", direct_url="{not json")
    env = capture_environment(str(venv / "bin" / "python"))
    assert env.origins is not None
    assert env.origins["plain"] == Origin("index", "pip")
    assert env.origins["from-git"] == Origin(
        "vcs", "pip", "https://git.example.com/x.git", vcs="git", commit="abc123"
    )
    assert env.origins["wheel-file"] == Origin(
        "archive", "uv", "file:///tmp/wheel_file-2.0-py3-none-any.whl", hash="sha256=ff00"
    )
    assert env.origins["editable"] == Origin(
        "directory", "pip", "file:///src/editable", editable=True
    )
    assert env.origins["broken"] == Origin("index", "pip")
    assert "s3cret" not in json.dumps(env.to_dict())
    # A commit or an archive hash is part of what makes two environments the same.
    assert "origins_hash" in env.identity()
    assert Environment.from_dict(env.to_dict()) == env


def test_the_interpreter_build_libc_and_platform_are_recorded() -> None:
    env = capture_environment()
    assert env.build is not None
    assert env.python in env.build
    assert env.platform_tag == sysconfig.get_platform()
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert env.libc == f"glibc {platform.libc_ver()[1]}"
    # This checkout is installed editable: its origin says so.
    assert env.origins is not None
    assert env.origins["samerun"].kind == "directory"
    assert env.origins["samerun"].editable


def test_index_settings_come_from_pip_config_and_the_environment_without_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "pip.conf"
    config.write_text(
        "[global]\nindex-url = https://mirror.example/simple\n"
        "[install]\nextra-index-url =\n  https://a.example/simple\n  https://b.example/simple\n"
    )
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("UV_INDEX", raising=False)
    monkeypatch.delenv("UV_EXTRA_INDEX_URL", raising=False)
    from_files = capture_environment().index
    assert from_files is not None
    assert from_files.index_url == "https://mirror.example/simple"
    assert from_files.extra_index_urls == ["https://a.example/simple", "https://b.example/simple"]

    monkeypatch.setenv("PIP_INDEX_URL", "https://deploy:hunter2@private.example/simple")
    monkeypatch.setenv("UV_EXTRA_INDEX_URL", "https://__token__:pypi-abc@extra.example/simple")
    from_env = capture_environment().index
    assert from_env is not None
    assert from_env.index_url == "https://private.example/simple"
    assert "https://extra.example/simple" in from_env.extra_index_urls
    assert "hunter2" not in json.dumps(from_env.to_dict())
    assert "pypi-abc" not in json.dumps(from_env.to_dict())


def test_a_conda_environment_records_its_conda_packages(tmp_path: Path) -> None:
    venv, _ = _fake_venv(tmp_path)
    meta = venv / "conda-meta"
    meta.mkdir()
    (meta / "numpy-1.26.4-py311h64a7726_0.json").write_text(
        json.dumps(
            {
                "name": "numpy",
                "version": "1.26.4",
                "build": "py311h64a7726_0",
                "channel": "https://conda.anaconda.org/conda-forge/linux-64",
            }
        )
    )
    (meta / "history").write_text("not a package\n")
    env = capture_environment(str(venv / "bin" / "python"))
    assert env.conda == [
        CondaPackage(
            "numpy", "1.26.4", "py311h64a7726_0", "https://conda.anaconda.org/conda-forge/linux-64"
        )
    ]
    assert "conda_hash" in env.identity()
    assert capture_environment().conda is None


def test_a_run_recorded_before_origins_were_captured_reads_them_as_unknown() -> None:
    old = {
        "python": "3.11.7",
        "implementation": "CPython",
        "executable": "/usr/bin/python3",
        "system": "Linux",
        "machine": "x86_64",
        "packages": {"numpy": "1.26.4"},
        "packages_hash": hash_json({"numpy": "1.26.4"}),
    }
    env = Environment.from_dict(old)
    assert env.origins is None
    assert env.index is None
    assert env.build is None
    assert env.to_dict() == old  # re-serialized without inventing anything
    # Its identity is what it was, so old runs keep their fingerprints.
    assert set(env.identity()) == {"python", "implementation", "system", "machine", "packages_hash"}
