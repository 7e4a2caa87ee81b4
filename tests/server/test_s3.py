"""The team server over its two engines that scale, both real: PostgreSQL for the metadata and
an S3 protocol server (moto, in server mode) for the objects. A run pushed through the server
(a real process) lands in the bucket, and a second clone verifies it from there."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import s3fs

from tests.conftest import Cli
from tests.server.conftest import Team
from tests.server.test_process import serving


def test_push_then_verify_from_a_server_keeping_its_objects_in_s3(
    cli: Cli,
    project: Path,
    tmp_path: Path,
    team: Team,
    s3_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SAMERUN_METADATA_URL")  # this clone's own store is local
    monkeypatch.delenv("SAMERUN_OBJECTS_URL")
    assert cli("record", "--seed", "5", "--", "python", "train.py").exit_code == 0
    run_id = json.loads(cli("runs", "--json").stdout)[0]["id"]
    with serving(team._replace(objects=s3_url), tmp_path) as served:
        assert cli("login", served.url, "--token", team.tokens["writer"]).exit_code == 0
        pushed = cli("push", "--project", "alpha")
        assert pushed.exit_code == 0, pushed.stderr
        bucket = s3fs.S3FileSystem()
        held = {key.rsplit("/", 2)[-2] + key.rsplit("/", 1)[-1] for key in bucket.find(s3_url)}
        manifest = json.loads(cli("show", run_id, "--json").stdout)
        for metric in manifest["outputs"]["metrics"].values():
            assert metric["series"].removeprefix("blake3:") in held
        clone = tmp_path / "clone"
        subprocess.run(["git", "clone", "-q", str(project), str(clone)], check=True)
        assert (
            cli("remote", "add", "team", served.url, "--project", "alpha", cwd=clone).exit_code == 0
        )
        verified = cli("verify", run_id, "--from", "team", cwd=clone)
        assert verified.exit_code == 0, verified.stdout + verified.stderr
        assert "identical" in verified.stdout
