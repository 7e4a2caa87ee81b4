"""Exporting a recorded environment: each format is read back by the tool that consumes it (pip
installs the requirements, packaging validates the pylock, YAML and conda's rules hold for the
environment file, a Dockerfile parser reads the Dockerfile and its install step runs for real).

Each run is recorded for real in the ``project`` fixture; its environment is then replaced by a
small one on a ``file://`` index built in ``tmp_path``, so nothing needs the network.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser
from packaging.pylock import Pylock

import samerun
from samerun._exceptions import EnvironmentRebuildError, UsageError
from samerun.capture.environment import CondaPackage, IndexConfig, Origin
from samerun.env.export import EXPORT_FORMATS, export
from samerun.env.index import IndexFile, IndexLookup, Release
from samerun.manifest import Manifest
from samerun.store.project import Project, open_store
from tests.conftest import git
from tests.env.test_index import build_sdist, build_wheel, sha256, simple_index

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest itself needs tomli there
    import tomli as tomllib

FROM_INDEX = Origin("index", "pip")
VCS = Origin("vcs", "pip", "https://git.example.com/tool.git", "git", "c0ffee" * 6 + "c0ff")
ARCHIVE = Origin(
    "archive", "pip", "https://files.example/arch-2.0.tar.gz", hash="sha256=" + "ab" * 32
)
#: No network, no user configuration: pip sees only what the exported file says.
PIP_ENV = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


@pytest.fixture
def recorded(project: Path) -> Manifest:
    """A run recorded for real in ``project``."""
    with samerun.start_run(name="export", seed=1) as run:
        pass
    return samerun.get_run(run.id).manifest


@pytest.fixture
def index(tmp_path: Path) -> str:
    """A ``file://`` index holding ``tiny`` 1.0: a pure wheel, wheels for other platforms and
    interpreters, and its sdist."""
    root = tmp_path / "index"
    tags = [
        "py3-none-any",
        "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
        "cp311-cp311-manylinux_2_39_x86_64",  # a newer glibc than the record's 2.36
        "cp311-cp311-win_amd64",
        "cp312-cp312-manylinux_2_17_x86_64",
    ]
    files = [build_wheel(root / "files", "tiny", "1.0", tag) for tag in tags]
    return simple_index(root, "tiny", [*files, build_sdist(root / "files", "tiny", "1.0")])


def with_environment(
    manifest: Manifest, packages: dict[str, tuple[str, Origin]], index: IndexConfig | None = None
) -> Manifest:
    """``manifest`` as if recorded with ``{name: (version, origin)}`` installed in CPython 3.11.7
    on x86-64 Linux with glibc 2.36."""
    environment = replace(
        manifest.inputs.environment,
        python="3.11.7",
        implementation="CPython",
        system="Linux",
        machine="x86_64",
        platform_tag="linux-x86_64",
        libc="glibc 2.36",
        packages={name: version for name, (version, _) in packages.items()},
        origins={name: origin for name, (_, origin) in packages.items()},
        index=index or IndexConfig(),
        conda=None,
    )
    return replace(manifest, inputs=replace(manifest.inputs, environment=environment))


def with_tiny(manifest: Manifest, index: str, **more: tuple[str, Origin]) -> Manifest:
    return with_environment(manifest, {"tiny": ("1.0", FROM_INDEX), **more}, IndexConfig(index))


def pip_install(requirements: Path, target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-r", requirements],
        env={**PIP_ENV, "PIP_TARGET": str(target)},
        capture_output=True,
        text=True,
    )


def heredoc(dockerfile: str, target: str) -> str:
    """The content a BuildKit heredoc (``COPY <<'DELIMITER' target``) writes to ``target``."""
    lines = dockerfile.splitlines()
    start = next(i for i, line in enumerate(lines) if re.fullmatch(f"COPY <<'.+' {target}", line))
    delimiter = lines[start].split("'")[1]
    return "\n".join(lines[start + 1 : lines.index(delimiter, start + 1)]) + "\n"


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, value)`` of each line dockerfile-parse reads, heredoc bodies aside (it
    does not know them; BuildKit does)."""
    bodies = re.compile(r"^(COPY <<'(.+)' .+\n)(?:.*\n)*?\2\n", re.M)
    parser = DockerfileParser(fileobj=io.BytesIO(bodies.sub(r"\1", dockerfile).encode()))
    return [
        (i["instruction"], i["value"]) for i in parser.structure if i["instruction"] != "COMMENT"
    ]


def test_requirements_pin_every_package_and_pip_installs_them_checking_hashes(
    recorded: Manifest, index: str, project: Path, tmp_path: Path
) -> None:
    manifest = with_tiny(
        recorded,
        index,
        myproj=("0.1", Origin("directory", "pip", project.as_uri(), editable=True)),
        gone=("2.0", Origin("directory", "pip", (tmp_path / "elsewhere").as_uri())),
    )
    exported = export(manifest, "requirements", hashes=True)
    text = exported.text
    assert f"# Written by samerun from run {recorded.id}\n" in text
    assert "# for CPython 3.11.7 on Linux x86_64 (linux-x86_64, glibc 2.36)\n" in text
    assert "# left out: myproj 0.1, the recorded repository's own editable install" in text
    gone = f"gone 2.0: installed from the local directory {tmp_path / 'elsewhere'}"
    assert f"# cannot be fetched again, left out: {gone}\n" in text
    assert f"\n--index-url {index}\n" in text
    files = sorted((tmp_path / "index" / "files").iterdir())
    hashes = sorted(f"    --hash=sha256:{sha256(f)}" for f in files)  # every file of 1.0
    assert text.endswith("\ntiny==1.0 \\\n" + " \\\n".join(hashes) + "\n")
    assert exported.warnings == [f"cannot be fetched again: {gone}"]

    lock = tmp_path / "requirements.txt"
    lock.write_text(text)
    installed = pip_install(lock, tmp_path / "target")
    assert installed.returncode == 0, installed.stderr
    assert (tmp_path / "target" / "tiny.py").read_text() == 'VERSION = "1.0"\n'

    for file in files:  # whichever of them pip picks for this interpreter
        file.write_bytes(file.read_bytes() + b"tampered")
    refused = pip_install(lock, tmp_path / "again")
    assert refused.returncode != 0
    assert "DO NOT MATCH THE HASHES" in refused.stderr


def test_without_hashes_no_index_is_asked_and_a_torch_build_gets_its_index(
    recorded: Manifest,
) -> None:
    def no_lookup(wanted: object, config: object) -> IndexLookup:
        raise AssertionError("looked up an index")

    packages = {
        "tiny": ("1.0", FROM_INDEX),
        "tool": ("0.3", VCS),
        "torch": ("2.3.0+cpu", FROM_INDEX),
    }
    text = export(with_environment(recorded, packages), "requirements", lookup=no_lookup).text
    assert text.endswith(
        "\n\n--extra-index-url https://download.pytorch.org/whl/cpu\n\n"
        f"tiny==1.0\ntool @ git+{VCS.url}@{VCS.commit}\ntorch==2.3.0+cpu\n"
    )
    assert "--index-url" not in text  # none was recorded: pip's default, PyPI


def test_hashes_of_a_version_no_index_has_name_it(recorded: Manifest, index: str) -> None:
    manifest = with_environment(recorded, {"tiny": ("9.9", FROM_INDEX)}, IndexConfig(index))
    with pytest.raises(
        EnvironmentRebuildError, match=rf"no package index has tiny 9\.9 \(searched {index}\)"
    ):
        export(manifest, "requirements", hashes=True)


def test_hashes_refuse_a_vcs_install_which_pip_cannot_check(recorded: Manifest, index: str) -> None:
    manifest = with_tiny(recorded, index, tool=("0.3", VCS))
    with pytest.raises(EnvironmentRebuildError, match=r"refuses tool \(a VCS install\)"):
        export(manifest, "requirements", hashes=True)


def test_an_unknown_format_is_refused_with_the_known_ones(recorded: Manifest) -> None:
    with pytest.raises(UsageError) as refused:
        export(recorded, "poetry")  # type: ignore[arg-type]
    assert str(refused.value) == (
        "unknown export format 'poetry'; use one of requirements, pylock, conda, dockerfile"
    )


def test_a_run_without_an_environment_record_is_refused(recorded: Manifest) -> None:
    with pytest.raises(EnvironmentRebuildError, match=f"run {recorded.id[:8]} has no environment"):
        export(with_environment(recorded, {}), "requirements")


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_every_format_gives_the_same_bytes_for_the_same_record(
    recorded: Manifest, index: str, fmt: str
) -> None:
    manifest = with_tiny(recorded, index, tool=("0.3", VCS))
    first, again = (export(manifest, fmt) for _ in range(2))  # type: ignore[arg-type]
    assert first == again
    assert recorded.inputs.environment.executable not in first.text  # nothing of this machine


def test_the_pylock_validates_and_holds_the_files_the_recorded_platform_installs(
    recorded: Manifest, index: str, tmp_path: Path
) -> None:
    manifest = with_tiny(recorded, index, tool=("0.3", VCS), arch=("2.0", ARCHIVE))
    exported = export(manifest, "pylock")
    pylock = Pylock.from_dict(tomllib.loads(exported.text))
    assert pylock.created_by == "samerun"
    assert str(pylock.requires_python) == "==3.11.7"
    (environment,) = pylock.environments or []
    recorded_platform = {
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "platform_python_implementation": "CPython",
        "python_full_version": "3.11.7",
    }
    assert environment.evaluate(recorded_platform)
    assert not environment.evaluate({**recorded_platform, "python_full_version": "3.11.8"})
    arch, tiny, tool = pylock.packages
    published = {f.name: sha256(f) for f in (tmp_path / "index" / "files").iterdir()}
    fitting = [  # not Windows, not CPython 3.12, not a glibc newer than the record's
        "tiny-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "tiny-1.0-py3-none-any.whl",
    ]
    assert [(w.filename, dict(w.hashes)) for w in tiny.wheels or []] == [
        (name, {"sha256": published[name]}) for name in fitting
    ]
    assert tiny.sdist is not None
    assert (tiny.sdist.name, dict(tiny.sdist.hashes)) == (
        "tiny-1.0.tar.gz",
        {"sha256": published["tiny-1.0.tar.gz"]},
    )
    assert tiny.index == index
    assert tool.vcs is not None
    assert (tool.vcs.type, tool.vcs.url, tool.vcs.commit_id) == ("git", VCS.url, VCS.commit)
    assert arch.archive is not None
    assert (arch.archive.url, dict(arch.archive.hashes)) == (ARCHIVE.url, {"sha256": "ab" * 32})


def test_a_macos_pylock_keeps_the_wheels_for_its_architecture(recorded: Manifest) -> None:
    names = [
        "tiny-1.0-cp311-cp311-macosx_11_0_arm64.whl",
        "tiny-1.0-cp311-cp311-macosx_10_9_universal2.whl",
        "tiny-1.0-cp311-cp311-macosx_10_9_x86_64.whl",
        "tiny-1.0-cp311-cp311-manylinux_2_17_aarch64.whl",
    ]

    def lookup(wanted: object, config: object) -> IndexLookup:
        files = [IndexFile(n, f"https://files.example/{n}", "0" * 64) for n in names]
        return IndexLookup({"tiny": Release("tiny", "1.0", files, "https://pypi.org/simple")}, [])

    manifest = with_environment(recorded, {"tiny": ("1.0", FROM_INDEX)})
    environment = replace(
        manifest.inputs.environment,
        system="Darwin",
        machine="arm64",
        platform_tag="macosx-11.0-arm64",
        libc=None,
    )
    manifest = replace(manifest, inputs=replace(manifest.inputs, environment=environment))
    text = export(manifest, "pylock", lookup=lookup).text
    (tiny,) = Pylock.from_dict(tomllib.loads(text)).packages
    assert [w.filename for w in tiny.wheels or []] == names[:2]


def test_the_conda_file_outside_conda_has_the_python_and_pip_pins(
    recorded: Manifest, index: str
) -> None:
    text = export(with_tiny(recorded, index), "conda").text
    document = yaml.safe_load(text)
    assert list(document) == ["name", "channels", "dependencies"]
    assert document["name"] == f"samerun-{recorded.id[:8]}"
    assert document["channels"] == ["conda-forge"]
    assert document["dependencies"] == [
        "python=3.11.7",
        "pip",
        {"pip": [f"--index-url {index}", "tiny==1.0"]},
    ]


def test_the_conda_file_of_a_conda_run_pins_each_build_and_leaves_conda_packages_to_conda(
    recorded: Manifest, index: str
) -> None:
    forge = "https://conda.anaconda.org/conda-forge/linux-64"
    conda = [
        CondaPackage("python", "3.11.7", "hab00c5b_1_cpython", forge),
        CondaPackage("numpy", "1.26.4", "py311h64a7726_0", forge),
        CondaPackage(
            "pip", "24.0", "pyhd8ed1ab_0", "https://conda.anaconda.org/conda-forge/noarch"
        ),
        CondaPackage(
            "mkl", "2023.1.0", "h213fc3f_46344", "https://repo.anaconda.com/pkgs/main/linux-64"
        ),
    ]
    manifest = with_tiny(recorded, index, numpy=("1.26.4", Origin("index", "conda")))
    environment = replace(manifest.inputs.environment, conda=conda)
    manifest = replace(manifest, inputs=replace(manifest.inputs, environment=environment))
    document = yaml.safe_load(export(manifest, "conda").text)
    assert set(document) == {"name", "channels", "dependencies"}
    assert document["channels"] == ["conda-forge", "https://repo.anaconda.com/pkgs/main"]
    *specs, pip = document["dependencies"]
    assert specs == [
        "mkl=2023.1.0=h213fc3f_46344",
        "numpy=1.26.4=py311h64a7726_0",
        "pip=24.0=pyhd8ed1ab_0",
        "python=3.11.7=hab00c5b_1_cpython",
    ]
    assert all(re.fullmatch(r"[a-z0-9_.-]+=[^=\s]+=[^=\s]+", spec) for spec in specs)
    assert pip == {"pip": [f"--index-url {index}", "tiny==1.0"]}  # numpy: conda installed it


def test_hashes_are_refused_for_a_conda_file(recorded: Manifest, index: str) -> None:
    with pytest.raises(UsageError, match="no hashes"):
        export(with_tiny(recorded, index), "conda", hashes=True)


def test_the_dockerfile_rebuilds_python_packages_code_and_settings(
    recorded: Manifest, index: str
) -> None:
    manifest = with_tiny(recorded, index)
    inputs = replace(
        manifest.inputs,
        code=replace(manifest.inputs.code, remote="https://git.example.com/proj.git"),
        command=replace(
            manifest.inputs.command, argv=["python", "train.py", "--lr", "0.1"], cwd="sub"
        ),
        randomness=replace(manifest.inputs.randomness, python_hash_seed="0"),
        env_vars={"OMP_NUM_THREADS": "4", "WANDB_API_KEY": "<redacted>", "XLA_FLAGS": 'a "b" c'},
    )
    exported = export(replace(manifest, inputs=inputs), "dockerfile", hashes=True)
    text = exported.text
    assert text.startswith("# syntax=docker/dockerfile:1\n")
    found = instructions(text)
    assert found[0] == ("FROM", "python:3.11.7-slim")
    commit = manifest.inputs.code.commit
    assert (
        "RUN",
        f"git clone https://git.example.com/proj.git /app && git -C /app checkout -q {commit}",
    ) in found
    assert [value for name, value in found if name == "ENV"] == [
        'OMP_NUM_THREADS="4"',
        'PYTHONHASHSEED="0"',
        'XLA_FLAGS="a \\"b\\" c"',
    ]
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()))
    assert parser.envs == {"OMP_NUM_THREADS": "4", "PYTHONHASHSEED": "0", "XLA_FLAGS": 'a "b" c'}
    assert found[-2:] == [("WORKDIR", "/app/sub"), ("CMD", '["python", "train.py", "--lr", "0.1"]')]
    assert json.loads(parser.cmd) == ["python", "train.py", "--lr", "0.1"]
    assert "# left out: WANDB_API_KEY, recorded redacted\n" in text
    assert any(w.startswith("WANDB_API_KEY was recorded redacted") for w in exported.warnings)
    assert any(w.startswith(f"the package source {index} is a folder") for w in exported.warnings)
    assert (
        heredoc(text, "/tmp/requirements.lock")
        == export(manifest, "requirements", hashes=True).text
    )


def test_a_dockerfile_of_a_pypy_run_is_refused(recorded: Manifest, index: str) -> None:
    manifest = with_tiny(recorded, index)
    environment = replace(manifest.inputs.environment, implementation="PyPy", python="3.10.14")
    manifest = replace(manifest, inputs=replace(manifest.inputs, environment=environment))
    with pytest.raises(EnvironmentRebuildError) as refused:
        export(manifest, "dockerfile")
    assert str(refused.value) == (
        f"run {recorded.id[:8]} ran on PyPy 3.10.14; a Docker image is built with CPython only"
    )


def test_a_cuda_run_gets_a_cuda_image_with_the_exact_python(recorded: Manifest, index: str) -> None:
    manifest = replace(
        with_tiny(recorded, index), host={**recorded.host, "torch": {"cuda": "12.1"}}
    )
    text = export(manifest, "dockerfile").text
    found = instructions(text)
    assert found[0] == ("FROM", "nvidia/cuda:12.1.0-runtime-ubuntu22.04")
    assert ("RUN", "uv venv --seed --python 3.11.7 /opt/venv") in found
    assert "# CUDA 12.1, which the run's torch was built for. Python 3.11.7 exactly" in text


@pytest.mark.slow
def test_the_dockerfile_install_step_installs_the_lock_in_a_fresh_environment(
    recorded: Manifest, index: str, tmp_path: Path
) -> None:
    text = export(with_tiny(recorded, index), "dockerfile", hashes=True).text
    (tmp_path / "requirements.lock").write_text(heredoc(text, "/tmp/requirements.lock"))
    (install,) = [v for i, v in instructions(text) if i == "RUN" and "requirements.lock" in v]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    done = subprocess.run(
        ["sh", "-c", install.replace("/tmp/", f"{tmp_path}/")],
        env={**PIP_ENV, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    imported = subprocess.run(
        [venv / "bin" / "python", "-c", "import tiny; print(tiny.VERSION)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert imported.stdout == "1.0\n"


def test_the_dockerfile_applies_the_recorded_patch_to_the_recorded_commit(
    project: Path, tmp_path: Path
) -> None:
    changed = (project / "train.py").read_text() + "print('EOF')  # not the heredoc's end\n"
    (project / "train.py").write_text(changed)
    with samerun.start_run(name="dirty") as run:
        pass
    manifest = samerun.get_run(run.id).manifest
    code = manifest.inputs.code
    assert code.patch is not None
    store = open_store(Project(project))
    try:
        patch = store.objects.get_bytes(code.patch)
    finally:
        store.close()
    text = export(manifest, "dockerfile", patch=patch).text
    assert ("COPY", ". /app") in instructions(text)  # no remote: the context is the checkout
    assert "COPY <<'EOF_' /tmp/samerun.patch\n" in text  # the patch holds EOF
    assert f"# The build context must be a checkout of commit {code.commit}.\n" in text

    checkout = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(project), str(checkout))
    git(checkout, "checkout", "-q", str(code.commit))
    (tmp_path / "samerun.patch").write_text(heredoc(text, "/tmp/samerun.patch"))
    (apply,) = [v for i, v in instructions(text) if i == "RUN" and "git -C /app apply" in v]
    command = apply.replace("/tmp/", f"{tmp_path}/").replace("-C /app", f"-C {checkout}")
    subprocess.run(["sh", "-c", command], check=True)
    assert (checkout / "train.py").read_text() == changed


def test_a_patch_not_given_is_named_as_left_out(project: Path) -> None:
    (project / "train.py").write_text("print('changed')\n")
    with samerun.start_run(name="dirty") as run:
        pass
    manifest = samerun.get_run(run.id).manifest
    exported = export(manifest, "dockerfile")
    assert (
        f"# left out: the run's uncommitted change (object {manifest.inputs.code.patch})"
        in exported.text
    )
    assert any("uncommitted change" in w for w in exported.warnings)
