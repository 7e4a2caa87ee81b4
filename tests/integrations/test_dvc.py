"""DVC-tracked data as samerun datasets, from repositories made by DVC itself (``dvc add``,
``dvc repro``) and from a DVC 2 layout whose md5s DVC's own code computes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("dvc")  # the dev extra installs it

from dvc_data.hashfile.hash import file_md5, fobj_md5

from samerun.data.scan import snapshot
from samerun.data.statcache import StatCache
from samerun.integrations.dvc import md5_of
from tests.cli.test_app import assert_one_clear_line
from tests.conftest import Cli, git

CRLF_TEXT = b"id,label\r\n1,cat\r\n2,dog\r\n"


def dvc(root: Path, *args: str) -> None:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=root, env=env, check=True, capture_output=True
    )


def _tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of the repository but samerun's own, with its bytes and mtime."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
        and ".samerun" not in p.name
        and ".samerun" not in p.parts
        and ".git" not in p.parts
    }


@pytest.fixture
def dvc_repo(project: Path) -> Path:
    """The project as a DVC 3 repository with a directory and a file added by `dvc add`."""
    dvc(project, "init", "-q")
    raw = project / "data" / "raw"
    (raw / "images").mkdir(parents=True)
    (raw / "labels.csv").write_bytes(CRLF_TEXT)
    (raw / "images" / "0.bin").write_bytes(os.urandom(2 * 1024 * 1024 + 7))  # over one chunk
    (project / "data" / "notes.txt").write_text("notes\n")
    dvc(project, "add", "-q", "data/raw", "data/notes.txt")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "data")
    return project


def test_import_dvc_stores_what_dvc_tracks_and_touches_nothing_of_dvcs(
    dvc_repo: Path, cli: Cli
) -> None:
    before = _tree(dvc_repo)
    done = cli("data", "import-dvc", "data/raw.dvc", "data/notes.txt.dvc", "--json")
    assert done.exit_code == 0, done.stderr
    raw, notes = json.loads(done.stdout)
    assert (raw["path"], raw["kind"], raw["files"]) == ("data/raw", "dir", 2)
    assert (notes["pointer"], notes["kind"]) == ("data/notes.txt.samerun", "file")
    # the pointers name exactly what samerun itself makes of the data DVC checked out
    assert raw["oid"] == snapshot(dvc_repo / "data" / "raw", StatCache()).oid
    assert notes["oid"] == snapshot(dvc_repo / "data" / "notes.txt", StatCache()).oid
    assert "unchanged data/raw" in cli("data", "status").stdout
    assert _tree(dvc_repo) == before  # nothing of DVC's (nor anything else) was changed
    # samerun's checkout gives back DVC's bytes
    shutil.rmtree(dvc_repo / "data" / "raw")
    assert cli("data", "checkout", "data/raw").exit_code == 0
    assert (dvc_repo / "data" / "raw" / "labels.csv").read_bytes() == CRLF_TEXT


def test_dvc_lock_outs_are_imported(dvc_repo: Path, cli: Cli) -> None:
    command = "python -c \"open('features.txt', 'w').write('f1\\nf2\\n')\""
    dvc(dvc_repo, "stage", "add", "-q", "-n", "features", "-o", "features.txt", command)
    dvc(dvc_repo, "repro", "-q")
    done = cli("data", "import-dvc", "dvc.lock", "--json")
    assert done.exit_code == 0, done.stderr
    (features,) = json.loads(done.stdout)
    assert features["path"] == "features.txt"
    assert features["oid"] == snapshot(dvc_repo / "features.txt", StatCache()).oid


def _legacy_repo(root: Path) -> Path:
    """A DVC 2 repository: a .dvc file without `hash:`, objects at the cache's top, named by the
    md5 DVC 2 computed (text files with LF line endings), as DVC's own code computes it."""
    (root / ".dvc").mkdir()
    cache = root / ".dvc" / "cache"
    data = root / "data" / "raw"
    data.mkdir(parents=True)
    files = {"labels.csv": CRLF_TEXT, "blob.bin": b"\x00\x01\r\n" * 10}
    entries = []
    for name, content in sorted(files.items()):
        (data / name).write_bytes(content)
        md5 = file_md5(str(data / name), name="md5-dos2unix")
        (cache / md5[:2]).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data / name, cache / md5[:2] / md5[2:])
        entries.append({"md5": md5, "relpath": name})
    manifest = json.dumps(entries, sort_keys=True).encode()  # as DVC writes a .dir object
    md5 = hashlib.md5(manifest).hexdigest()
    (cache / md5[:2]).mkdir(exist_ok=True)
    (cache / md5[:2] / f"{md5[2:]}.dir").write_bytes(manifest)
    (root / "data" / "raw.dvc").write_text(
        f"outs:\n- md5: {md5}.dir\n  size: 57\n  nfiles: 2\n  path: raw\n"
    )
    return cache


def test_a_dvc_2_repository_with_line_ending_normalised_md5s(project: Path, cli: Cli) -> None:
    _legacy_repo(project)
    assert file_md5(str(project / "data/raw/labels.csv"), name="md5-dos2unix") != file_md5(
        str(project / "data/raw/labels.csv")
    )  # the CRLF file's DVC 2 md5 is not its plain one
    done = cli("data", "import-dvc", "data/raw.dvc", "--json")
    assert done.exit_code == 0, done.stderr
    (raw,) = json.loads(done.stdout)
    assert raw["oid"] == snapshot(project / "data" / "raw", StatCache()).oid  # the CRLF bytes


def test_md5s_over_several_chunks_are_those_dvcs_own_code_computes() -> None:
    # text whose first chunk ends between a \r and its \n: neither rule joins the two
    text = b"a" * ((1 << 20) - 1) + b"\r\n" + b"b\r\n" * 1000
    assert fobj_md5(io.BytesIO(text), name="md5-dos2unix") in md5_of(
        [text[: 1 << 20], text[1 << 20 :]], legacy=True
    )
    assert fobj_md5(io.BytesIO(text)) in md5_of([text[: 1 << 20], text[1 << 20 :]], legacy=False)


def test_a_missing_object_or_a_wrong_md5_is_named_and_nothing_is_written(
    dvc_repo: Path, cli: Cli, tmp_path: Path
) -> None:
    manifest = next((dvc_repo / ".dvc" / "cache").rglob("*.dir"))
    entry = json.loads(manifest.read_bytes())[0]
    victim = dvc_repo / ".dvc" / "cache" / "files" / "md5" / entry["md5"][:2] / entry["md5"][2:]
    remote = tmp_path / "remote" / "files" / "md5" / entry["md5"][:2]
    remote.mkdir(parents=True)
    shutil.move(victim, remote / victim.name)
    refused = cli("data", "import-dvc", "data/raw.dvc")
    assert_one_clear_line(refused, "data/raw.dvc", entry["relpath"], entry["md5"], "dvc fetch")
    assert not (dvc_repo / "data" / "raw.samerun").exists()
    assert not (dvc_repo / ".samerun").exists()
    # the object is in a local remote: found there
    found = cli("data", "import-dvc", "data/raw.dvc", "--remote", str(tmp_path / "remote"))
    assert found.exit_code == 0, found.stderr
    (dvc_repo / "data" / "raw.samerun").unlink()
    # a cache object whose bytes no longer match its md5
    corrupt = remote / victim.name
    corrupt.chmod(0o644)
    corrupt.write_bytes(b"not what DVC hashed")
    bad = cli("data", "import-dvc", "data/raw.dvc", "--remote", str(tmp_path / "remote"))
    assert_one_clear_line(bad, entry["relpath"], entry["md5"], "does not match")
    assert not (dvc_repo / "data" / "raw.samerun").exists()


def test_paths_that_leave_the_repository_are_refused(project: Path, cli: Cli) -> None:
    (project / ".dvc" / "cache").mkdir(parents=True)
    (project / "evil.dvc").write_text(
        "outs:\n- md5: 0123456789abcdef0123456789abcdef\n  hash: md5\n  path: ../outside\n"
    )
    assert_one_clear_line(cli("data", "import-dvc", "evil.dvc"), "evil.dvc", "../outside")
    (project / "plain.yaml.dvc").write_text("just text\n")
    assert_one_clear_line(
        cli("data", "import-dvc", "plain.yaml.dvc"), "plain.yaml.dvc", "not a DVC file"
    )
