"""``samerun env restore`` of a run whose environment has 30 pure-Python packages.

The run is recorded in a virtual environment holding 30 small pure-Python distributions without
dependencies (each on PyPI and on the machine's package index, if it has one). Each restore is
timed as a whole ``samerun env restore last --path <fresh>`` process: the platform and Python
checks, ``python -m venv --without-pip``, one ``pip install --no-deps`` of the 30 pins into it
(uv's when ``uv`` is on PATH), and the check of the result against the record. Side by side,
what a user does by hand with the same pins and the same interpreter: ``python -m venv`` and
``pip install -r requirements.txt`` into a fresh environment (nothing checked). The wheel cache
is warm for both: recording the environment fills it, and each side is run once untimed first.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from harness import (
    SAMERUN_CLI,
    SAMERUN_PY,
    BenchError,
    Result,
    git,
    median,
    run_timed,
    say,
    scratch,
)
from suites import Config

#: Pure-Python wheels without dependencies: the recorded set is exactly these 30.
PINS = {
    "appdirs": "1.4.4",
    "blinker": "1.9.0",
    "cfgv": "3.5.0",
    "comm": "0.2.3",
    "cycler": "0.12.1",
    "decorator": "5.3.1",
    "immutabledict": "4.3.1",
    "iniconfig": "2.3.0",
    "jsonpointer": "3.1.1",
    "locket": "1.0.0",
    "mccabe": "0.7.0",
    "mdurl": "0.1.2",
    "mergedeep": "1.3.4",
    "mypy-extensions": "1.1.0",
    "nest-asyncio": "1.6.0",
    "ordered-set": "4.1.0",
    "pandocfilters": "1.5.1",
    "progress": "1.6.1",
    "pyperclip": "1.11.0",
    "retrying": "1.4.2",
    "shellingham": "1.5.4",
    "six": "1.17.0",
    "sniffio": "1.3.1",
    "termcolor": "3.3.0",
    "texttable": "1.7.0",
    "tomli-w": "1.2.0",
    "uritemplate": "4.2.0",
    "vine": "5.1.0",
    "webencodings": "0.6.1",
    "zipp": "4.1.0",
}


def _record(root: Path, requirements: Path) -> Path:
    """A project with one run recorded in a virtual environment holding exactly ``PINS``."""
    venv = root / "recorded"
    run_timed([SAMERUN_PY, "-m", "venv", "--without-pip", venv], root)
    pip = [SAMERUN_PY, "-m", "pip", "--python", venv / "bin" / "python", "install"]
    run_timed([*pip, "--no-input", "-r", requirements], root)  # also fills the wheel cache
    project = root / "project"
    project.mkdir()
    (project / "train.py").write_text("import six, zipp\nprint('trained')\n")
    git(project, "init", "--quiet", "--initial-branch=main")
    git(project, "add", "train.py")
    git(project, "commit", "--quiet", "-m", "train")
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    run_timed([SAMERUN_CLI, "record", "--", "python", "train.py"], project, env)
    return project


def _restore(project: Path, path: Path) -> float:
    timed = run_timed([SAMERUN_CLI, "env", "restore", "last", "--path", path], project)
    if f"restored {len(PINS)} packages" not in timed.stdout:
        raise BenchError(f"samerun env restore did not restore {len(PINS)} packages")
    shutil.rmtree(path)
    return timed.wall_s


def _by_hand(root: Path, requirements: Path, path: Path) -> float:
    """``python -m venv`` and ``pip install -r``, as a user rebuilds an environment by hand."""
    made = run_timed([SAMERUN_PY, "-m", "venv", path], root)
    installed = run_timed([path / "bin" / "pip", "install", "--no-input", "-r", requirements], root)
    shutil.rmtree(path)
    return made.wall_s + installed.wall_s


def bench_env_restore(config: Config) -> list[Result]:
    with scratch("restore") as root:
        requirements = root / "requirements.txt"
        requirements.write_text("".join(f"{name}=={v}\n" for name, v in PINS.items()))
        project = _record(root, requirements)
        _restore(project, root / "warm-samerun")  # warm-up: each side once, untimed
        _by_hand(root, requirements, root / "warm-pip")
        ours = median([_restore(project, root / f"env-{i}") for i in range(config.reps)])
        theirs = median(
            [_by_hand(root, requirements, root / f"pip-{i}") for i in range(config.reps)]
        )
    ratio = theirs / ours
    say(f"env restore of {len(PINS)} packages: {ours:.2f} s; venv + pip install -r: {theirs:.2f} s")
    return [
        Result(
            f"env restore, {len(PINS)} packages (peer: venv + pip install -r)",
            "s",
            ours,
            theirs,
            ratio,
            target=1.0,
            details={
                "packages": len(PINS),
                "reps": config.reps,
                "installer": "uv" if shutil.which("uv") else "pip",
                "samerun": "samerun env restore last --path <fresh>, whole process, checked",
                "peer": "python -m venv <fresh> && <fresh>/bin/pip install -r requirements.txt",
            },
        )
    ]


RESTORE_BENCHMARKS = {"env_restore": bench_env_restore}
