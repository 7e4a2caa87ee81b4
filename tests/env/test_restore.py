"""``env restore``: a fresh virtual environment with exactly the recorded packages, or a clear
refusal that leaves nothing behind.

The packages come from the package index as configured here (small pure-Python wheels that the
local index and PyPI both have); the interpreter is this one, found on PATH as ``python3.X``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from samerun._exceptions import EnvironmentRebuildError
from samerun.capture.environment import IndexConfig, Origin, capture_environment
from samerun.env import restore as restore_module
from samerun.env.restore import MARKER, Restored, default_path, restore
from samerun.manifest import Manifest
from samerun.store.project import Project, open_store
from samerun.verify.compare import Change
from tests.test_manifest import make_inputs, make_manifest

SIX = {"six": "1.17.0"}
HERE = capture_environment()


@pytest.fixture(autouse=True)
def python_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """This interpreter is on PATH as ``python3.X``, as the recorded one is on a user's."""
    bin_dir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", bin_dir + os.pathsep + os.environ.get("PATH", ""))


def recorded(
    packages: dict[str, str] | None = None,
    origins: dict[str, Origin] | None = None,
    **changes: object,
) -> Manifest:
    """A run recorded by this interpreter on this machine, with ``packages`` installed."""
    packages = {} if packages is None else packages
    environment = replace(
        HERE,
        packages=packages,
        origins=origins or dict.fromkeys(packages, Origin("index", "pip")),
        **changes,  # type: ignore[arg-type]
    )
    return make_manifest(inputs=make_inputs(environment=environment))


def events_of(manifest: Manifest, path: Path) -> tuple[Restored, list[str]]:
    events: list[str] = []
    return restore(manifest, path, on_event=events.append), events


def refusal(manifest: Manifest, path: Path) -> str:
    """The one line ``restore`` refuses with; nothing may be left at ``path``."""
    with pytest.raises(EnvironmentRebuildError) as refused:
        restore(manifest, path)
    message = str(refused.value)
    assert "\n" not in message
    assert not path.exists()
    return message


def site_packages(venv: Path) -> Path:
    (site,) = (venv / "lib").glob("python*/site-packages")
    return site


def test_the_default_path_is_the_runs_folder_under_the_store(tmp_path: Path) -> None:
    store = open_store(Project(tmp_path), create=True)
    try:
        assert default_path(store, "abc") == tmp_path / ".samerun" / "envs" / "abc"
    finally:
        store.close()


@pytest.mark.slow
def test_restores_exactly_the_recorded_packages_then_reuses_them(tmp_path: Path) -> None:
    manifest = recorded({**SIX, "mdurl": "0.1.2"})
    path = tmp_path / "env"
    restored, events = events_of(manifest, path)
    assert (restored.path, restored.python) == (path, path / "bin" / "python")
    assert (restored.installed, restored.reused, restored.warnings) == (2, False, [])
    assert events[0].startswith(f"creating a virtual environment with Python {HERE.python} at")
    assert events[1:] == ["installing 2 packages", "checking the environment against the record"]
    installed = sorted(p.name for p in site_packages(path).glob("*.dist-info"))
    assert installed == ["mdurl-0.1.2.dist-info", "six-1.17.0.dist-info"]  # no pip, no extras
    done = subprocess.run(
        [restored.python, "-c", "import six; print(six.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "1.17.0"
    assert json.loads((path / MARKER).read_text()) == {"run": manifest.id}

    again, events = events_of(manifest, path)
    assert (again.reused, again.installed, again.python) == (True, 0, restored.python)
    assert events == [f"reusing the environment restored at {path}"]


def test_a_python_that_is_not_installed_is_named(tmp_path: Path) -> None:
    message = refusal(recorded(SIX, python="3.99.1"), tmp_path / "env")
    assert message == "Python 3.99.1 is not installed (no python3.99 on PATH)"


def test_a_python_on_path_that_does_not_run_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shims = tmp_path / "shims"
    shims.mkdir()
    shim = shims / "python3.99"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.99: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shims}{os.pathsep}{os.environ['PATH']}")
    message = refusal(recorded(SIX, python="3.99.1"), tmp_path / "env")
    does_not_run = f"{shim} does not run: pyenv: python3.99: command not found"
    assert message == f"Python 3.99.1 is not installed ({does_not_run})"


def test_the_same_minor_version_is_accepted_with_a_warning(tmp_path: Path) -> None:
    major, minor, micro = sys.version_info[:3]
    other = f"{major}.{minor}.{micro + 50}"
    restored = restore(recorded(python=other), tmp_path / "env")
    assert restored.warnings == [
        f"Python {other} was recorded and is not on PATH; using Python {HERE.python}, "
        "the same minor version"
    ]


def test_another_platform_is_refused_unless_forced(tmp_path: Path) -> None:
    manifest = recorded(SIX, system="Darwin", machine="arm64")
    here = f"{platform.system()} {platform.machine()}"
    assert refusal(manifest, tmp_path / "env") == (
        f"the run was recorded on Darwin arm64 and this machine is {here}; its packages may not "
        "install or behave the same here (a forced restore tries anyway)"
    )
    forced = restore(recorded(system="Darwin", machine="arm64"), tmp_path / "env", force=True)
    assert forced.warnings == [
        f"restoring an environment recorded on Darwin arm64 on {here}, as forced"
    ]


def test_a_package_no_index_has_is_named_and_nothing_is_left(tmp_path: Path) -> None:
    index = tmp_path / "index"
    index.mkdir()
    manifest = recorded(
        {"nonexistent-pkg-samerun": "9.9.9"}, index=IndexConfig(index_url=index.as_uri())
    )
    assert refusal(manifest, tmp_path / "env") == (
        "no package index has nonexistent-pkg-samerun 9.9.9 any more, or none could be reached "
        "(no distribution found for nonexistent-pkg-samerun==9.9.9)"
    )


def test_uv_on_path_installs_instead_of_pip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    called = tmp_path / "uv-argv"
    uv = tools / "uv"
    uv.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > {called}\n'
        "echo '  x No solution found when resolving dependencies:' >&2\n"
        "echo '  Because six was not found in the package registry and you require six==1.17.0,"
        " we can conclude that your requirements are unsatisfiable.' >&2\n"
        "exit 1\n"
    )
    uv.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    links = IndexConfig("https://index.example/simple", ["https://extra.example/simple"], ["/w"])
    path = tmp_path / "env"
    message = refusal(recorded(SIX, index=links), path)
    assert message.startswith("no package index has six 1.17.0 any more")
    assert called.read_text().splitlines() == [
        "pip",
        "install",
        "--python",
        str(path / "bin" / "python"),
        "--index-strategy",
        "unsafe-best-match",
        "--no-deps",
        "--index-url",
        "https://index.example/simple",
        "--extra-index-url",
        "https://extra.example/simple",
        "--find-links",
        "/w",
        "six==1.17.0",
    ]


def test_without_uv_or_pip_nothing_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shutil.which", lambda _name: None)
    monkeypatch.setattr("importlib.util.find_spec", lambda _name: None)
    assert refusal(recorded(SIX), tmp_path / "env") == (
        "cannot install the recorded packages: uv is not on PATH and pip is not installed "
        "alongside samerun"
    )


def test_an_existing_path_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "env"
    path.mkdir()
    (path / "mine.txt").write_text("keep me")
    with pytest.raises(EnvironmentRebuildError, match="already exists and is not a restored"):
        restore(recorded(SIX), path)
    assert [p.name for p in path.iterdir()] == ["mine.txt"]
    (path / MARKER).write_text(json.dumps({"run": "b" * 32}))
    with pytest.raises(EnvironmentRebuildError, match="holds the environment of run bbbbbbbb"):
        restore(recorded(SIX), path)
    assert sorted(p.name for p in path.iterdir()) == ["mine.txt", MARKER]


def test_a_restore_changed_since_is_not_reused(tmp_path: Path) -> None:
    path = tmp_path / "env"
    restore(recorded(), path)
    info = site_packages(path) / "intruder-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: intruder\nVersion: 1.0\n")
    with pytest.raises(EnvironmentRebuildError) as refused:
        restore(recorded(), path)
    assert str(refused.value) == (
        f"{path} holds run aaaaaaaa's environment, but it has changed since it was restored: "
        "package intruder: not recorded, now 1.0; remove it to restore again"
    )
    assert info.is_dir()


def test_a_local_directory_that_is_gone_stops_the_restore(tmp_path: Path) -> None:
    gone = tmp_path / "mylib"
    origins = {"mylib": Origin("directory", "pip", gone.as_uri())}
    message = refusal(recorded({"mylib": "1.0"}, origins), tmp_path / "env")
    assert message == (
        f"cannot restore: mylib 1.0: installed from the local directory {gone}, "
        "and nothing else has it"
    )


@pytest.mark.slow
def test_a_local_directory_still_here_is_installed_as_it_is_now(tmp_path: Path) -> None:
    source = tmp_path / "mylib"
    source.mkdir()
    (source / "mylib.py").write_text("ANSWER = 42\n")
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "mylib"\nversion = "1.0"\n'
    )
    origins = {"mylib": Origin("directory", "pip", source.as_uri())}
    restored = restore(recorded({"mylib": "1.0"}, origins), tmp_path / "env")
    assert f"mylib 1.0 was installed from {source} as it is now" in restored.warnings
    done = subprocess.run(
        [restored.python, "-c", "import mylib; print(mylib.ANSWER)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path / "env",
    )
    assert done.stdout.strip() == "42"


def test_an_environment_that_does_not_match_the_record_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = Change("package six", "changed", "1.17.0", "1.16.0")
    monkeypatch.setattr(restore_module, "check_interpreter", lambda *_a, **_k: [changed])
    assert refusal(recorded(), tmp_path / "env") == (
        "the restored environment differs from run aaaaaaaa's record: package six 1.17.0 → 1.16.0"
    )


def test_an_interrupted_restore_removes_what_it_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "env"

    def interrupted(*_args: object) -> None:
        assert (path / "bin" / "python").exists()  # the environment was being built
        raise KeyboardInterrupt

    monkeypatch.setattr(restore_module, "_install", interrupted)
    with pytest.raises(KeyboardInterrupt):
        restore(recorded(SIX), path)
    assert not path.exists()
