"""Find the files of pinned distributions, with their sha256 hashes, on the recorded indexes.

Speaks the simple repository API in both its forms: PEP 691 JSON (asked for first, through
``Accept``) and PEP 503 HTML (anchors whose URL fragment carries the hash), over https or
``file://``, where a folder is read through its ``index.html`` as pip does. ``find_links``
locations are local folders, whose matching files are hashed here, or pages of links. A file an
index lists without a sha256 is downloaded and hashed.

The pages are fetched by a thread pool, each once however many pins need it: an environment
holds hundreds of distributions and each index answers in tens of milliseconds to seconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import Request, urlopen

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from samerun.capture.environment import IndexConfig
from samerun.env.lock import file_path

PYPI_SIMPLE = "https://pypi.org/simple"
JSON_API = "application/vnd.pypi.simple.v1+json"
#: JSON first (it has sizes and upload times); HTML from indexes that only speak PEP 503.
ACCEPT = f"{JSON_API}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
USER_AGENT = "samerun (env export)"
TIMEOUT_S = 30
SDIST_SUFFIXES = (".tar.gz", ".zip")  # the forms packaging.utils.parse_sdist_filename reads
#: Concurrent requests: enough to hide the latency of a remote index, few enough to be polite.
WORKERS = 16


@dataclass(frozen=True)
class IndexFile:
    """One file of a release (a wheel or an sdist) as an index lists it."""

    filename: str
    url: str  # without the hash fragment
    sha256: str
    size: int | None = None
    upload_time: datetime | None = None

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


@dataclass(frozen=True)
class Release:
    """The files of one pinned version, from every index and find-links location that has it."""

    name: str
    version: str
    files: list[IndexFile]  # sorted by file name; a name listed twice comes from the first source
    index: str | None  # the first index that lists it; None when only find-links have it


@dataclass(frozen=True)
class NotFound:
    """A pinned version that none of the sources searched has."""

    name: str
    version: str
    searched: list[str]
    errors: list[str]  # sources that could not be read, with why

    def describe(self) -> str:
        text = (
            f"no package index has {self.name} {self.version} (searched {', '.join(self.searched)})"
        )
        return text + (f"; {'; '.join(self.errors)}" if self.errors else "")


@dataclass(frozen=True)
class IndexLookup:
    releases: dict[str, Release]
    missing: list[NotFound]


@dataclass(frozen=True)
class _Link:
    """A file a page or folder lists; its sha256 may still be unknown."""

    filename: str
    url: str
    sha256: str | None
    size: int | None = None
    upload_time: datetime | None = None


def find_releases(
    wanted: Mapping[str, str], config: IndexConfig, *, workers: int = WORKERS
) -> IndexLookup:
    """The files of each ``{name: version}`` of ``wanted`` on the sources of ``config``.

    Every index (``index_url``, PyPI when None, then ``extra_index_urls``) and every
    ``find_links`` location is searched, as pip does; a file name found in two places is taken
    from the first. A source that cannot be read is named in the :class:`NotFound` of each pin
    that no other source has.
    """
    given = [config.index_url or PYPI_SIMPLE, *config.extra_index_urls]
    indexes = list(dict.fromkeys(index.rstrip("/") for index in given))
    versions = {name: valid_version(version) for name, version in wanted.items()}
    # an invalid version is on no index: such a pin is never looked for, and so not found
    tests = {name: _Wanted(name, version) for name, version in versions.items() if version}
    candidates: dict[str, list[tuple[str, _Link]]] = {name: [] for name in wanted}
    errors: dict[str, list[str]] = {name: [] for name in wanted}
    releases: dict[str, Release] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pages = {
            (index, name): pool.submit(_page, f"{index}/{canonicalize_name(name)}/", test)
            for index in indexes
            for name, test in tests.items()
        }
        folders = {link: pool.submit(_find_links, link) for link in config.find_links}
        for name, test in tests.items():
            listings = [(index, pages[index, name]) for index in indexes] + list(folders.items())
            for source, listing in listings:
                try:
                    links = listing.result()
                except (OSError, ValueError) as err:  # URLError, HTTPError, bad JSON
                    errors[name].append(f"{source}: {err}")
                    continue
                candidates[name] += [(source, link) for link in links if test(link.filename)]
        unhashed = {
            link.url for found in candidates.values() for _, link in found if not link.sha256
        }
        digests = {url: pool.submit(_sha256, url) for url in sorted(unhashed)}
        for name, found in candidates.items():
            files = _files([link for _, link in found], digests, errors[name])
            if files:
                index = next((source for source, _ in found if source in indexes), None)
                releases[name] = Release(name, wanted[name], files, index)
    searched = [*indexes, *config.find_links]
    missing = [
        NotFound(name, version, searched, errors[name])
        for name, version in wanted.items()
        if name not in releases
    ]
    return IndexLookup(releases, missing)


def _files(
    links: list[_Link], digests: Mapping[str, Future[tuple[str, int]]], errors: list[str]
) -> list[IndexFile]:
    """``links`` as index files, sorted by name: the first of each name that has a hash."""
    files: dict[str, IndexFile] = {}
    for link in links:
        if link.filename in files:
            continue
        if link.sha256:
            sha256, size = link.sha256, link.size
        else:
            try:
                sha256, size = digests[link.url].result()
            except OSError as err:
                errors.append(f"{link.url}: {err}")
                continue
        files[link.filename] = IndexFile(link.filename, link.url, sha256, size, link.upload_time)
    return [files[name] for name in sorted(files)]


def valid_version(text: str) -> Version | None:
    """``text`` as a version, None when it is not a valid one (PEP 440)."""
    try:
        return Version(text)
    except InvalidVersion:
        return None


class _Wanted:
    """A pin as a test of file names: is this a wheel or sdist of this name at this version?

    A project page lists every file of every version (numpy's: thousands), so the
    version part of a name is compared first, each distinct one parsed once, and only the files
    of the pinned version are parsed whole.
    """

    def __init__(self, name: str, version: Version) -> None:
        self.name = canonicalize_name(name)
        self.version = version
        self._versions: dict[str, bool] = {}  # racing threads would store the same answer

    def __call__(self, filename: str) -> bool:
        text = _version_text(filename)
        if text is None:
            return False
        if text not in self._versions:
            self._versions[text] = valid_version(text) == self.version
        return self._versions[text] and _name_and_version(filename) == (self.name, self.version)


def _version_text(filename: str) -> str | None:
    """The version part of a wheel's or sdist's file name, as written."""
    if filename.endswith(".whl"):
        parts = filename.removesuffix(".whl").split("-")
        return parts[1] if len(parts) in (5, 6) else None
    suffix = next((s for s in SDIST_SUFFIXES if filename.endswith(s)), None)
    return filename.removesuffix(suffix).rpartition("-")[2] if suffix else None


def _name_and_version(filename: str) -> tuple[str, Version] | None:
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
            return name, version
        return parse_sdist_filename(filename)
    except ValueError:  # a malformed name: not a candidate
        return None


def _sha256(url: str) -> tuple[str, int]:
    """Download ``url`` (``file://`` too) and hash it; its sha256 and size."""
    digest = hashlib.sha256()
    size = 0
    with urlopen(Request(url, headers={"User-Agent": USER_AGENT}), timeout=TIMEOUT_S) as response:
        while chunk := response.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _page(url: str, keep: Callable[[str], bool]) -> list[_Link]:
    """The files a simple-API page lists whose names ``keep`` accepts; none when the index has
    no such project."""
    local = file_path(url)
    if local is not None:
        page = local / "index.html" if local.is_dir() else local
        if not page.is_file():
            return []
        return _links("text/html", page.read_bytes(), page.as_uri(), keep)
    request = Request(url, headers={"Accept": ACCEPT, "User-Agent": USER_AGENT})
    try:
        with urlopen(request, timeout=TIMEOUT_S) as response:
            kind = response.headers.get_content_type()
            return _links(kind, response.read(), response.geturl(), keep)
    except HTTPError as err:
        if err.code in (404, 410):
            return []
        raise


def _find_links(location: str) -> list[_Link]:
    """The files of a find-links location: a local folder (by path or URL) or a page of links."""
    local = file_path(location) or (Path(location) if "://" not in location else None)
    if local is None:
        return _page(location, _every_file)
    if not local.is_dir():
        return _page(local.absolute().as_uri(), _every_file)
    return [
        _Link(path.name, path.absolute().as_uri(), None, path.stat().st_size)
        for path in sorted(local.iterdir())
        if path.is_file()
    ]


def _every_file(filename: str) -> bool:
    """A find-links page holds files of every project: each pin picks its own from them."""
    return True


def _links(kind: str, body: bytes, base: str, keep: Callable[[str], bool]) -> list[_Link]:
    if kind == JSON_API:
        return _json_links(json.loads(body), base, keep)
    anchors = _Anchors()
    anchors.feed(body.decode("utf-8", errors="replace"))
    anchors.close()
    links = (_html_link(urljoin(anchors.base or base, href)) for href in anchors.hrefs)
    return [link for link in links if keep(link.filename)]


def _json_links(page: Any, base: str, keep: Callable[[str], bool]) -> list[_Link]:
    """The ``files`` of a PEP 691 project page (PEP 700 adds ``size`` and ``upload-time``)."""
    files = page.get("files") if isinstance(page, dict) else None
    found = []
    for entry in files if isinstance(files, list) else []:
        if not isinstance(entry, dict):
            continue
        filename, url = entry.get("filename"), entry.get("url")
        if not isinstance(filename, str) or not isinstance(url, str) or not keep(filename):
            continue
        hashes = entry.get("hashes")
        sha256 = hashes.get("sha256") if isinstance(hashes, dict) else None
        size = entry.get("size")
        found.append(
            _Link(
                filename,
                urljoin(base, url).partition("#")[0],
                sha256 if isinstance(sha256, str) else None,
                size if isinstance(size, int) else None,
                _timestamp(entry.get("upload-time")),
            )
        )
    return found


def _html_link(url: str) -> _Link:
    """A PEP 503 anchor: the file name is the URL's last segment, the hash its fragment."""
    bare, _, fragment = url.partition("#")
    algorithm, _, value = fragment.partition("=")
    filename = unquote(urlsplit(bare).path.rsplit("/", 1)[-1])
    return _Link(filename, bare, value if algorithm == "sha256" and value else None)


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:  # "2021-05-05T14:18:17.123456Z"; Python 3.10 reads no "Z"
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class _Anchors(HTMLParser):
    """The ``href`` of every anchor, and the page's ``<base href>`` when it has one."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if not href:
            return
        if tag == "a":
            self.hrefs.append(href)
        elif tag == "base" and self.base is None:
            self.base = href
