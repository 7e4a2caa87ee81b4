"""A recorded environment in the format of the tool that rebuilds it.

``requirements`` (pip, pip-compile style), ``pylock`` (PEP 751), ``conda`` (environment.yml)
and ``dockerfile`` (an image at the recorded Python, packages, code and settings). Each is a
function of the record alone, so the same run always gives the same bytes; only package hashes
(``hashes=True``, and every pylock) come from the recorded package indexes, through ``lookup``.
What the record does not hold is never made up: a package that cannot be fetched again is named
in a comment and in the warnings, and the index settings are the recorded ones.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, TypeVar, get_args

import tomli_w
import yaml
from packaging.markers import Marker
from packaging.pylock import (
    Package,
    PackageArchive,
    PackageSdist,
    PackageVcs,
    PackageWheel,
    Pylock,
)
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from samerun._exceptions import EnvironmentRebuildError, UsageError
from samerun.capture.environment import CondaPackage, Environment, IndexConfig
from samerun.capture.envvars import REDACTED
from samerun.env.index import IndexFile, IndexLookup, Release, find_releases, valid_version
from samerun.env.lock import Lock, Pin, file_path, lock_of
from samerun.manifest import Manifest

ExportFormat = Literal["requirements", "pylock", "conda", "dockerfile"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = get_args(ExportFormat)

#: Finds the files and hashes of ``{name: version}`` on the sources of an index configuration.
Lookup = Callable[[Mapping[str, str], IndexConfig], IndexLookup]

#: The uv that installs an exact Python on a CUDA base image (python-build-standalone builds).
UV_IMAGE = "ghcr.io/astral-sh/uv:0.11.7"
#: Hash algorithms pip accepts in ``--hash`` (the strong ones).
PIP_HASHES = ("sha256", "sha384", "sha512")
#: The platform folders of a conda channel URL (``.../conda-forge/linux-64``).
CONDA_SUBDIR = re.compile(
    r"noarch|(linux|osx|win)-(32|64|aarch64|arm64|armv6l|armv7l|ppc64le|s390x)"
)
#: What ENV reads specially inside double quotes, escaped with a backslash.
DOCKER_ESCAPED = re.compile(r'["\\$]')
#: manylinux tags that predate PEP 600, by the glibc 2 minor version they stand for.
LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


@dataclass(frozen=True)
class Exported:
    """An exported environment: the file's text, and what it could not carry over."""

    text: str
    warnings: list[str]


def export_format(value: str) -> ExportFormat:
    """``value`` as an export format; an unknown one is refused with the list of known ones."""
    found = next((known for known in EXPORT_FORMATS if known == value), None)
    if found is None:
        raise UsageError(f"unknown export format {value!r}; use one of {', '.join(EXPORT_FORMATS)}")
    return found


def export(
    manifest: Manifest,
    fmt: ExportFormat,
    *,
    hashes: bool = False,
    patch: bytes | None = None,
    lookup: Lookup = find_releases,
) -> Exported:
    """``manifest``'s environment as ``fmt``.

    ``hashes`` adds every file's sha256 to a requirements lock (a Dockerfile's too), as
    ``pip-compile --generate-hashes`` does; a pylock always has them. ``patch`` is the run's
    recorded uncommitted change (the bytes of the object ``inputs.code.patch`` names), which a
    Dockerfile applies on top of the recorded commit.
    """
    fmt = export_format(fmt)
    if not manifest.inputs.environment.packages:
        raise EnvironmentRebuildError(
            f"run {manifest.id[:8]} has no environment record; there is nothing to export"
        )
    lock = lock_of(manifest)
    if fmt == "requirements":
        return _requirements(manifest, lock, hashes=hashes, lookup=lookup)
    if fmt == "pylock":
        return _pylock(manifest, lock, lookup)
    if fmt == "dockerfile":
        return _dockerfile(manifest, lock, hashes=hashes, patch=patch, lookup=lookup)
    if hashes:
        raise UsageError("a conda environment file carries no hashes; export requirements for them")
    return _conda(manifest, lock)


def _releases(manifest: Manifest, lock: Lock, lookup: Lookup) -> dict[str, Release]:
    """The index files of every pin from an index; one that no index has is an error."""
    wanted = {pin.name: pin.version for pin in lock.pins if pin.origin.kind == "index"}
    found = lookup(wanted, replace(lock.index, extra_index_urls=lock.extra_indexes))
    if found.missing:
        raise EnvironmentRebuildError(
            f"run {manifest.id[:8]}: " + "; ".join(m.describe() for m in found.missing)
        )
    return found.releases


def _header(manifest: Manifest, lock: Lock) -> list[str]:
    """Comment lines: the run, the platform it ran on, and what could not be carried over."""
    env = lock.environment
    details = ", ".join(part for part in (env.platform_tag, env.libc) if part)
    return [
        "#",
        f"# Written by samerun from run {manifest.id}",
        f"# for {env.implementation} {env.python} on {env.system} {env.machine}"
        + (f" ({details})" if details else ""),
        "#",
        *(f"# cannot be fetched again, left out: {gone.describe()}" for gone in lock.unfetchable),
    ]


def _left_out_project(lock: Lock) -> list[str]:
    """Comment lines for the recorded repository's own editable installs, which a replay (or
    the Dockerfile) installs from the code itself."""
    return [
        f"# left out: {pin.name} {pin.version}, the recorded repository's own editable install; "
        "install it from a checkout of the code"
        for pin in lock.project
    ]


def _commented(manifest: Manifest, lock: Lock, body: str) -> str:
    """``body`` under the header, which also names the project's own installs left out."""
    return "\n".join([*_header(manifest, lock), *_left_out_project(lock)]) + "\n\n" + body


def _index_options(lock: Lock) -> list[str]:
    """pip's options for the recorded package sources (and the PyTorch index a build needs)."""
    index = lock.index
    return [
        *([f"--index-url {index.index_url}"] if index.index_url else []),
        *(f"--extra-index-url {url}" for url in lock.extra_indexes),
        *(f"--find-links {link}" for link in index.find_links),
    ]


def _archive_digest(pin: Pin) -> tuple[str, str] | None:
    """``(algorithm, hex)`` of an archive install's recorded hash."""
    algorithm, _, value = (pin.origin.hash or "").partition("=")
    return (algorithm, value) if pin.origin.kind == "archive" and value else None


def _requirements(manifest: Manifest, lock: Lock, *, hashes: bool, lookup: Lookup) -> Exported:
    """A pip requirements lock: one pinned line per distribution, installable with --no-deps."""
    digests = _pip_hashes(manifest, lock, lookup) if hashes else {}
    pins = [
        " \\\n    ".join([pin.requirement, *(f"--hash={h}" for h in digests.get(pin.name, []))])
        for pin in lock.pins
    ]
    blocks = [[*_header(manifest, lock), *_left_out_project(lock)], _index_options(lock), pins]
    return Exported("\n\n".join("\n".join(b) for b in blocks if b) + "\n", lock.warnings)


def _pip_hash(pin: Pin) -> str | None:
    """An archive install's recorded hash as ``--hash`` takes it, when pip accepts it."""
    digest = _archive_digest(pin)
    return ":".join(digest) if digest and digest[0] in PIP_HASHES else None


def _pip_hashes(manifest: Manifest, lock: Lock, lookup: Lookup) -> dict[str, list[str]]:
    """Each pin's ``--hash`` values: every file of its version on the index (pip-compile's
    ``--generate-hashes``), or an archive's recorded hash."""
    unhashable = [
        f"{pin.name} ({'a VCS install' if pin.origin.kind == 'vcs' else 'an archive, no sha256'})"
        for pin in lock.pins
        if pin.origin.kind != "index" and _pip_hash(pin) is None
    ]
    if unhashable:
        raise EnvironmentRebuildError(
            f"run {manifest.id[:8]}: pip's hash-checking mode refuses {', '.join(unhashable)}; "
            "export without hashes"
        )
    releases = _releases(manifest, lock, lookup)
    return {
        pin.name: [archive]
        if (archive := _pip_hash(pin))
        else sorted({f"sha256:{file.sha256}" for file in releases[pin.name].files})
        for pin in lock.pins
    }


def _pylock(manifest: Manifest, lock: Lock, lookup: Lookup) -> Exported:
    """A PEP 751 lock for the recorded platform and Python, every file with its hash."""
    env = lock.environment
    releases = _releases(manifest, lock, lookup)
    tags = _supported_tags(env)
    warnings = list(lock.warnings)
    if env.platform_tag is None:
        warnings.append(
            "this run did not record its platform tag: the pylock lists only wheels for any "
            "platform, and sdists"
        )
    packages = []
    for pin in lock.pins:
        origin = pin.origin
        name = canonicalize_name(pin.name)
        if origin.kind == "index":
            packages.append(_index_package(pin, releases[pin.name], tags, warnings))
        elif origin.kind == "vcs":  # lock_of pins a VCS install only with its commit
            vcs = PackageVcs(
                type=str(origin.vcs),
                url=origin.url,
                commit_id=str(origin.commit),
                subdirectory=origin.subdirectory,
            )
            packages.append(Package(name=name, version=valid_version(pin.version), vcs=vcs))
        elif digest := _archive_digest(pin):
            archive = PackageArchive(
                url=origin.url, hashes=dict([digest]), subdirectory=origin.subdirectory
            )
            packages.append(Package(name=name, version=valid_version(pin.version), archive=archive))
        else:
            warnings.append(
                f"left out of the pylock: {pin.name} {pin.version}, installed from the archive "
                f"{origin.url} whose hash was not recorded"
            )
    pylock = Pylock(
        lock_version=Version("1.0"),
        environments=[_environment_marker(env)],
        requires_python=SpecifierSet(f"=={env.python}"),
        created_by="samerun",
        packages=packages,
        tool={"samerun": {"run": manifest.id}},
    )
    pylock.validate()
    return Exported(_commented(manifest, lock, tomli_w.dumps(pylock.to_dict())), warnings)


def _index_package(
    pin: Pin, release: Release, tags: frozenset[Tag], warnings: list[str]
) -> Package:
    """A package from an index: the wheels the recorded interpreter accepts, and its sdist."""
    wheels = [file for file in release.files if file.is_wheel]
    fitting = [
        file for file in wheels if not tags.isdisjoint(parse_wheel_filename(file.filename)[3])
    ]
    sdists = sorted((f for f in release.files if not f.is_wheel), key=_not_tar_gz)
    if not fitting and not sdists:
        warnings.append(
            f"no file of {pin.name} {pin.version} on the index fits the recorded platform; "
            "the pylock lists all its wheels"
        )
        fitting = wheels
    return Package(
        name=canonicalize_name(pin.name),
        version=Version(pin.version),
        index=release.index,
        wheels=[_listed(PackageWheel, file) for file in fitting] or None,
        sdist=_listed(PackageSdist, sdists[0]) if sdists else None,
    )


def _not_tar_gz(file: IndexFile) -> bool:
    """Sort key: a ``.tar.gz`` sdist (the standard form) before a ``.zip``."""
    return not file.filename.endswith(".tar.gz")


_Listed = TypeVar("_Listed", PackageWheel, PackageSdist)


def _listed(kind: type[_Listed], file: IndexFile) -> _Listed:
    return kind(
        name=file.filename,
        url=file.url,
        size=file.size,
        upload_time=file.upload_time,
        hashes={"sha256": file.sha256},
    )


def _environment_marker(env: Environment) -> Marker:
    facts = (
        ("platform_system", env.system),
        ("platform_machine", env.machine),
        ("platform_python_implementation", env.implementation),
        ("python_full_version", env.python),
    )
    return Marker(" and ".join(f'{key} == "{value}"' for key, value in facts))


def _supported_tags(env: Environment) -> frozenset[Tag]:
    """The wheel tags the recorded interpreter accepts on the recorded platform."""
    major, minor = (int(part) for part in env.python.split(".")[:2])
    platforms = _platforms(env)
    if env.implementation != "CPython":  # its ABI is not recorded: only ABI-free wheels fit
        return frozenset(compatible_tags((major, minor), None, platforms))
    interpreter = f"cp{major}{minor}"
    abi = interpreter + ("t" if "free-threading" in (env.build or "") else "")
    return frozenset(
        [
            *cpython_tags((major, minor), [abi], platforms),
            *compatible_tags((major, minor), interpreter, platforms),
        ]
    )


def _platforms(env: Environment) -> list[str]:
    """The wheel platform tags of the recorded machine, most specific first."""
    if env.platform_tag is None:
        return []
    base = re.sub(r"[-. ]", "_", env.platform_tag)  # sysconfig's "linux-x86_64": linux_x86_64
    if base.startswith("linux_"):
        return [*_manylinux(base.removeprefix("linux_"), env.libc), base]
    if base.startswith("macosx_"):  # "macosx-11.0-arm64": the oldest macOS it was built for
        _, version, arch = env.platform_tag.split("-", 2)
        major, _, minor = version.partition(".")
        return list(mac_platforms((int(major), int(minor or 0)), arch))
    return [base]


def _manylinux(arch: str, libc: str | None) -> list[str]:
    """The manylinux tags a glibc accepts ("glibc 2.36": manylinux_2_36 down to the oldest)."""
    name, _, version = (libc or "").partition(" ")
    major, _, minor = version.partition(".")
    if name != "glibc" or major != "2" or not minor.isdigit():
        return []
    oldest = 5 if arch in ("x86_64", "i686") else 17
    tags = []
    for glibc_minor in range(int(minor), oldest - 1, -1):
        tags.append(f"manylinux_2_{glibc_minor}_{arch}")
        if legacy := LEGACY_MANYLINUX.get(glibc_minor):
            tags.append(f"{legacy}_{arch}")
    return tags


def _require_cpython(manifest: Manifest, env: Environment, what: str) -> None:
    if env.implementation != "CPython":
        raise EnvironmentRebuildError(
            f"run {manifest.id[:8]} ran on {env.implementation} {env.python}; "
            f"{what} is built with CPython only"
        )


def _conda(manifest: Manifest, lock: Lock) -> Exported:
    """An environment.yml: the recorded conda packages (or the Python), then pip's pins."""
    env = lock.environment
    conda = sorted(env.conda or [], key=_conda_name)
    if not conda:
        _require_cpython(manifest, env, "a conda environment")
    pip = [pin.requirement for pin in lock.pins if not conda or pin.origin.installer != "conda"]
    specs = [_conda_spec(package) for package in conda] or [f"python={env.python}"]
    if pip and not any(package.name == "pip" for package in conda):
        specs.append("pip")
    dependencies: list[str | dict[str, list[str]]] = [*specs]
    if pip:
        dependencies.append({"pip": [*_index_options(lock), *pip]})
    document = {
        "name": f"samerun-{manifest.id[:8]}",
        "channels": _channels(conda) or ["conda-forge"],
        "dependencies": dependencies,
    }
    body = yaml.safe_dump(document, sort_keys=False, width=10_000)
    return Exported(_commented(manifest, lock, body), lock.warnings)


def _conda_name(package: CondaPackage) -> str:
    return package.name


def _conda_spec(package: CondaPackage) -> str:
    """A match spec pinning the exact build: ``numpy=1.26.4=py311h64a7726_0``."""
    return "=".join(part for part in (package.name, package.version, package.build) if part)


def _channels(packages: list[CondaPackage]) -> list[str]:
    """The channels the packages came from, the one most came from first."""
    counts = Counter(_channel(package.channel) for package in packages if package.channel)
    return sorted(counts, key=lambda channel: (-counts[channel], channel))


def _channel(url: str) -> str:
    """``https://conda.anaconda.org/conda-forge/linux-64`` as ``conda-forge``."""
    channel = url.rstrip("/")
    head, _, last = channel.rpartition("/")
    if head and CONDA_SUBDIR.fullmatch(last):
        channel = head
    return channel.removeprefix("https://conda.anaconda.org/")


def _dockerfile(
    manifest: Manifest, lock: Lock, *, hashes: bool, patch: bytes | None, lookup: Lookup
) -> Exported:
    """An image with the recorded Python, packages (the requirements lock, installed without
    resolution), code at the recorded commit with its patch, settings and command."""
    env = lock.environment
    _require_cpython(manifest, env, "a Docker image")
    requirements = _requirements(manifest, lock, hashes=hashes, lookup=lookup)
    warnings = [*requirements.warnings, *_unreachable(lock)]
    code = manifest.inputs.code
    needs_git = bool(_clone_url(manifest) or code.patch) or any(
        pin.origin.kind == "vcs" for pin in lock.pins
    )
    lines = ["# syntax=docker/dockerfile:1", *_header(manifest, lock), *_base_image(manifest)]
    if needs_git:
        lines.append(
            "RUN apt-get update && apt-get install -y --no-install-recommends git"
            " && rm -rf /var/lib/apt/lists/*"
        )
    lines += [
        "",
        *_heredoc("/tmp/requirements.lock", requirements.text),
        "RUN pip install --no-deps --no-cache-dir -r /tmp/requirements.lock",
        "",
        *_code(manifest, patch, warnings),
        *(
            f"RUN pip install --no-deps --no-cache-dir -e {shlex.quote(_in_app(pin, code.root))}"
            for pin in lock.project
        ),
        "",
        *_environment_variables(manifest, warnings),
        f"WORKDIR {posixpath.normpath(posixpath.join('/app', manifest.inputs.command.cwd))}",
        f"CMD {json.dumps(manifest.inputs.command.argv)}",
    ]
    return Exported("\n".join(lines) + "\n", warnings)


def _base_image(manifest: Manifest) -> list[str]:
    """``python:<version>-slim``; for a run on CUDA, a CUDA image with that exact Python."""
    python = manifest.inputs.environment.python
    torch = manifest.host.get("torch")
    cuda = torch.get("cuda") if isinstance(torch, dict) else None
    if not isinstance(cuda, str) or not cuda:
        return [f"FROM python:{python}-slim"]
    release = ".".join(cuda.split(".")[:2])
    return [
        f"# CUDA {cuda}, which the run's torch was built for. Python {python} exactly comes from",
        "# uv (a python-build-standalone build), in a virtual environment first on PATH.",
        f"FROM nvidia/cuda:{release}.0-runtime-ubuntu22.04",
        f"COPY --from={UV_IMAGE} /uv /usr/local/bin/uv",
        "ENV UV_PYTHON_INSTALL_DIR=/opt/python PATH=/opt/venv/bin:$PATH",
        f"RUN uv venv --seed --python {python} /opt/venv",
    ]


def _unreachable(lock: Lock) -> list[str]:
    """Warnings for recorded package sources that are folders of the recording machine."""
    index = lock.index
    sources = [*([index.index_url] if index.index_url else []), *index.extra_index_urls]
    return [
        f"the package source {source} is a folder of the recording machine; "
        "an image build cannot read it"
        for source in [*sources, *index.find_links]
        if file_path(source) is not None or "://" not in source
    ]


def _code(manifest: Manifest, patch: bytes | None, warnings: list[str]) -> list[str]:
    """The recorded commit in /app (cloned, or the build context), then the recorded patch."""
    code = manifest.inputs.code
    remote = _clone_url(manifest)
    if remote and code.commit:
        lines = [
            f"RUN git clone {shlex.quote(remote)} /app && git -C /app checkout -q {code.commit}"
        ]
    elif code.commit:
        lines = [
            f"# The build context must be a checkout of commit {code.commit}"
            + (f", the recorded remote {code.remote} being a path." if code.remote else "."),
            "COPY . /app",
        ]
    else:
        lines = [
            f"# The build context must hold the recorded code (tree {code.tree}); "
            "the run was in no git repository.",
            "COPY . /app",
        ]
    if code.patch is None:
        return lines
    if patch is None:
        warnings.append(
            f"the run's uncommitted change (object {code.patch}) is not in the Dockerfile: "
            "it was not given to the export"
        )
        return [*lines, f"# left out: the run's uncommitted change (object {code.patch})"]
    try:
        text = patch.decode("utf-8")
    except UnicodeDecodeError:
        raise EnvironmentRebuildError(
            f"run {manifest.id[:8]}: its uncommitted change is not UTF-8 text, "
            "which a Dockerfile cannot hold"
        ) from None
    return [
        *lines,
        *_heredoc("/tmp/samerun.patch", text),
        "RUN git -C /app apply --whitespace=nowarn /tmp/samerun.patch",
    ]


def _clone_url(manifest: Manifest) -> str | None:
    """The recorded remote, unless it is a path that only the recording machine has."""
    remote = manifest.inputs.code.remote
    return remote if remote and not remote.startswith(("/", ".", "file:")) else None


def _in_app(pin: Pin, root: str) -> str:
    """Where the recorded repository's editable install is in the image's /app."""
    local = file_path(pin.origin.url or "")  # lock_of found it inside the repository
    if local is None:
        return "/app"
    inside = local.resolve().relative_to(Path(root).resolve()).as_posix()
    return posixpath.normpath(posixpath.join("/app", inside))


def _environment_variables(manifest: Manifest, warnings: list[str]) -> list[str]:
    """``ENV`` lines: the recorded variables and ``PYTHONHASHSEED`` (redacted ones left out)."""
    variables = dict(manifest.inputs.env_vars)
    seed = manifest.inputs.randomness.python_hash_seed
    if seed != "random":
        variables["PYTHONHASHSEED"] = seed
    lines = []
    for name, value in sorted(variables.items()):
        if value == REDACTED:
            warnings.append(f"{name} was recorded redacted; set it when running the image")
            lines.append(f"# left out: {name}, recorded redacted")
        elif "\n" in value:
            warnings.append(f"{name} spans lines, which an ENV instruction cannot hold")
            lines.append(f"# left out: {name}, whose value spans lines")
        else:
            lines.append(f"ENV {name}={_docker_quoted(value)}")
    return lines


def _docker_quoted(value: str) -> str:
    """``value`` in double quotes, as ENV reads it: no ``$`` expansion, quotes kept."""
    return '"' + DOCKER_ESCAPED.sub(lambda found: "\\" + found.group(), value) + '"'


def _heredoc(target: str, content: str) -> list[str]:
    """A BuildKit heredoc copying ``content`` to ``target``, delimited by a word it lacks."""
    delimiter = "EOF"
    while delimiter in content:
        delimiter += "_"
    return [f"COPY <<'{delimiter}' {target}", *content.removesuffix("\n").split("\n"), delimiter]
