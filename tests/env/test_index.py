"""Finding pinned files and their hashes on package indexes: a PEP 503 index in a folder (as
pip reads it through ``file://``), find-links folders, a PEP 691 JSON index over HTTP, and PyPI.

``build_wheel``, ``build_sdist`` and ``simple_index`` are used by tests/env/test_export.py too.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from samerun.capture.environment import IndexConfig
from samerun.env.index import JSON_API, IndexFile, find_releases


def build_wheel(folder: Path, name: str, version: str, tag: str = "py3-none-any") -> Path:
    """A wheel pip installs: one module, ``<name>.py``, holding ``VERSION``."""
    module = name.replace("-", "_")
    info = f"{module}-{version}.dist-info"
    files = {
        f"{module}.py": f'VERSION = "{version}"\n',
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": f"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {tag}\n",
    }
    record = [f"{path},sha256={_urlsafe_sha256(text)},{len(text)}" for path, text in files.items()]
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{module}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
    return path


def _urlsafe_sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def build_sdist(folder: Path, name: str, version: str) -> Path:
    """A source distribution's file (its content is never built here)."""
    module = name.replace("-", "_")
    pkg_info = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{module}-{version}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        member = tarfile.TarInfo(f"{module}-{version}/PKG-INFO")
        member.size = len(pkg_info)
        archive.addfile(member, io.BytesIO(pkg_info))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def simple_index(root: Path, project: str, files: list[Path]) -> str:
    """A PEP 503 index in ``root`` listing ``files`` as ``project``'s, hashes in the anchors;
    its ``file://`` URL, which pip reads as an index."""
    page = root / "simple" / project / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    anchors = "".join(
        f'<a href="../../{f.relative_to(root)}#sha256={sha256(f)}">{f.name}</a><br/>\n'
        for f in files
    )
    page.write_text(f"<!DOCTYPE html><html><body>\n{anchors}</body></html>\n")
    return (root / "simple").as_uri()


@pytest.fixture
def tiny_index(tmp_path: Path) -> tuple[str, list[Path]]:
    """An index with ``tiny`` 1.0 (a wheel and an sdist) and 2.0 (a wheel)."""
    root = tmp_path / "index"
    files = [
        build_wheel(root / "files", "tiny", "1.0"),
        build_sdist(root / "files", "tiny", "1.0"),
        build_wheel(root / "files", "tiny", "2.0"),
    ]
    return simple_index(root, "tiny", files), files


def test_a_folder_index_lists_every_file_of_the_pinned_version_with_its_hash(
    tiny_index: tuple[str, list[Path]],
) -> None:
    url, (wheel, sdist, _) = tiny_index
    found = find_releases({"tiny": "1.0"}, IndexConfig(index_url=url))
    assert found.missing == []
    release = found.releases["tiny"]
    assert release.index == url
    assert [(f.filename, f.url, f.sha256) for f in release.files] == [
        (wheel.name, wheel.as_uri(), sha256(wheel)),
        (sdist.name, sdist.as_uri(), sha256(sdist)),
    ]


def test_a_version_no_index_has_is_named_with_where_it_was_looked_for(
    tiny_index: tuple[str, list[Path]], tmp_path: Path
) -> None:
    url, _ = tiny_index
    found = find_releases({"tiny": "3.0"}, IndexConfig(index_url=url, find_links=[str(tmp_path)]))
    assert found.releases == {}
    (missing,) = found.missing
    assert missing.describe() == (f"no package index has tiny 3.0 (searched {url}, {tmp_path})")


def test_find_links_folders_are_hashed_here(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "wheels", "tiny", "1.0")
    build_wheel(tmp_path / "wheels", "other", "1.0")
    empty = simple_index(tmp_path / "index", "unrelated", [])
    for location in (str(tmp_path / "wheels"), (tmp_path / "wheels").as_uri()):
        found = find_releases({"tiny": "1.0"}, IndexConfig(index_url=empty, find_links=[location]))
        release = found.releases["tiny"]
        assert release.index is None  # only a find-links folder has it
        assert release.files == [
            IndexFile(wheel.name, wheel.as_uri(), sha256(wheel), wheel.stat().st_size)
        ]


def test_an_index_that_cannot_be_reached_is_named_with_why(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "wheels", "tiny", "1.0")
    unreachable = "http://127.0.0.1:9/simple"  # the discard port: nothing listens
    found = find_releases(
        {"tiny": "1.0", "gone": "1.0"},
        IndexConfig(index_url=unreachable, find_links=[str(wheel.parent)]),
    )
    assert [f.filename for f in found.releases["tiny"].files] == [wheel.name]
    (missing,) = found.missing
    assert missing.name == "gone"
    assert missing.errors[0].startswith(f"{unreachable}: ")
    assert "refused" in missing.describe()


class _JsonIndex(BaseHTTPRequestHandler):
    """A PEP 691 index: JSON for clients that accept it, one project, requests counted."""

    wheel: Path
    sdist: Path
    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        if self.path == "/simple/tiny/" and JSON_API in self.headers.get("Accept", ""):
            files = [
                {  # PEP 700: size and upload time; the relative URL is the index's business
                    "filename": self.wheel.name,
                    "url": f"../../files/{self.wheel.name}",
                    "hashes": {"sha256": sha256(self.wheel)},
                    "size": self.wheel.stat().st_size,
                    "upload-time": "2024-01-02T03:04:05.678901Z",
                },
                {"filename": self.sdist.name, "url": f"/files/{self.sdist.name}", "hashes": {}},
            ]
            self._send(JSON_API, json.dumps({"meta": {"api-version": "1.1"}, "files": files}))
        elif self.path.startswith("/files/"):
            self._send("application/octet-stream", (self.sdist.parent / self.path[7:]).read_bytes())
        else:
            self.send_error(404)

    def _send(self, content_type: str, body: str | bytes) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads ``requests``."""


@pytest.fixture
def json_index(tmp_path: Path) -> Iterator[tuple[str, type[_JsonIndex]]]:
    handler = type(
        "Handler",
        (_JsonIndex,),
        {
            "wheel": build_wheel(tmp_path / "files", "tiny", "1.0"),
            "sdist": build_sdist(tmp_path / "files", "tiny", "1.0"),
            "requests": [],
        },
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/simple", handler
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_json_api_is_asked_for_and_each_page_fetched_once(
    json_index: tuple[str, type[_JsonIndex]],
) -> None:
    url, handler = json_index
    config = IndexConfig(index_url=url, extra_index_urls=[url + "/"])  # the same index twice
    found = find_releases({"tiny": "1.0", "absent": "1.0"}, config)
    wheel, sdist = found.releases["tiny"].files
    assert (wheel.filename, wheel.sha256, wheel.size) == (
        handler.wheel.name,
        sha256(handler.wheel),
        handler.wheel.stat().st_size,
    )
    assert wheel.url == f"{url.removesuffix('/simple')}/files/{handler.wheel.name}"
    assert wheel.upload_time is not None
    assert wheel.upload_time.isoformat() == "2024-01-02T03:04:05.678901+00:00"
    # the index gave no sha256 for the sdist: it was downloaded and hashed
    assert (sdist.sha256, sdist.size) == (sha256(handler.sdist), handler.sdist.stat().st_size)
    assert sorted(handler.requests) == [
        f"/files/{handler.sdist.name}",
        "/simple/absent/",
        "/simple/tiny/",
    ]
    assert [m.name for m in found.missing] == ["absent"]


def test_network_pypi_lists_six_1_16_0_with_its_published_hashes() -> None:
    """Needs the network (pypi.org); deselect with ``-k 'not network'`` where there is none."""
    found = find_releases({"six": "1.16.0"}, IndexConfig())
    release = found.releases["six"]
    assert release.index == "https://pypi.org/simple"
    assert {(f.filename, f.sha256) for f in release.files} == {
        (
            "six-1.16.0-py2.py3-none-any.whl",
            "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254",
        ),
        ("six-1.16.0.tar.gz", "1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926"),
    }
    assert all(f.size and f.upload_time for f in release.files)  # PyPI speaks PEP 691 and 700
