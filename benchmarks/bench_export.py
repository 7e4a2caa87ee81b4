"""``samerun env export`` of a run whose environment has 300 distributions.

The environment is a virtual environment of 300 installed distributions (dist-info folders with
metadata, as pip leaves them; a tenth installed from a git commit, PEP 610), recorded once by
``samerun record``. Each export format is then timed as a whole ``samerun env export`` process,
side by side with ``pip freeze`` of the same environment: the listing a user would otherwise
start from, which pins nothing it cannot see and knows nothing of the run.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from harness import SAMERUN_CLI, SAMERUN_PY, Result, child_env, git, median, run_timed, scratch
from suites import Config

DISTRIBUTIONS = 300
FORMATS = ("requirements", "conda", "dockerfile")


def _environment(venv: Path) -> None:
    """A virtual environment holding ``DISTRIBUTIONS`` installed distributions."""
    subprocess.run([str(SAMERUN_PY), "-m", "venv", "--without-pip", str(venv)], check=True)
    (site,) = (venv / "lib").glob("python*/site-packages")
    for i in range(DISTRIBUTIONS):
        name, version = f"bench_pkg_{i:03d}", f"1.{i}.0"
        info = site / f"{name}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "INSTALLER").write_text("pip\n")
        (info / "RECORD").write_text("")
        if i % 10 == 0:
            direct = {
                "url": f"https://git.example.com/{name}.git",
                "vcs_info": {"vcs": "git", "commit_id": f"{i:040x}"},
            }
            (info / "direct_url.json").write_text(json.dumps(direct))


def bench_env_export(config: Config) -> list[Result]:
    with scratch("export") as root:
        venv = root / "venv"
        _environment(venv)
        project = root / "project"
        project.mkdir()
        (project / "train.py").write_text("print('trained')\n")
        git(project, "init", "--quiet", "--initial-branch=main")
        git(project, "add", "train.py")
        git(project, "commit", "--quiet", "-m", "train")
        env = child_env({"PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"})
        run_timed([SAMERUN_CLI, "record", "--", "python", "train.py"], project, env)
        (site,) = (venv / "lib").glob("python*/site-packages")
        freeze = [SAMERUN_PY, "-m", "pip", "freeze", "--path", site]
        frozen = run_timed(freeze, project).stdout
        if len(frozen.splitlines()) != DISTRIBUTIONS:
            raise RuntimeError(f"pip freeze listed {len(frozen.splitlines())} distributions")
        theirs = median([run_timed(freeze, project).wall_s for _ in range(config.reps)])
        results = []
        for fmt in FORMATS:
            argv = [SAMERUN_CLI, "env", "export", "last", "--format", fmt]
            printed = run_timed(argv, project).stdout  # also the warm-up
            if fmt == "requirements" and printed.count("bench-pkg-") != DISTRIBUTIONS:
                raise RuntimeError("the requirements export does not pin every distribution")
            ours = median([run_timed(argv, project).wall_s for _ in range(config.reps)])
            results.append(
                Result(
                    f"env export --format {fmt}, {DISTRIBUTIONS} dists (peer: pip freeze)",
                    "s",
                    ours,
                    theirs,
                    theirs / ours,
                    limit_s=0.5,
                    details={
                        "distributions": DISTRIBUTIONS,
                        "reps": config.reps,
                        "samerun": f"samerun env export last --format {fmt}, whole process",
                        "peer": "python -m pip freeze --path <site-packages>, whole process",
                    },
                )
            )
        return results


EXPORT_BENCHMARKS = {"env_export": bench_env_export}
