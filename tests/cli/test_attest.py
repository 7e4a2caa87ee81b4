"""``samerun attest`` and ``samerun attest verify``: what a user sees, through ``main(argv)``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Cli


@pytest.fixture
def churn(project: Path, cli: Cli) -> Path:
    """Model churn v1 from a recorded run, and an Ed25519 key pair made by openssl."""
    done = cli("record", "-p", "lr=0.1", "-o", "model.pkl", "--", "python", "train.py")
    assert done.exit_code == 0, done.stderr
    assert cli("model", "register", "churn", "--run", "last").exit_code == 0
    for argv in (
        ["openssl", "genpkey", "-algorithm", "ed25519", "-out", "signing.pem"],
        ["openssl", "pkey", "-in", "signing.pem", "-pubout", "-out", "signing.pub"],
        ["openssl", "genpkey", "-algorithm", "ed25519", "-out", "other.pem"],
        ["openssl", "pkey", "-in", "other.pem", "-pubout", "-out", "other.pub"],
    ):
        subprocess.run(argv, cwd=project, check=True, capture_output=True)
    return project


def test_attest_signs_and_verify_checks_the_signature_and_the_files(churn: Path, cli: Cli) -> None:
    done = cli("attest", "churn:1", "-o", "churn-v1.intoto.jsonl", "--key", "signing.pem")
    assert done.exit_code == 0, done.stderr
    assert "wrote churn-v1.intoto.jsonl: signed, 1 subject(s)" in done.stdout
    done = cli("attest", "verify", "churn-v1.intoto.jsonl", "--key", "signing.pub")
    assert done.exit_code == 0, done.stderr
    assert "churn v1: signature by key " in done.stdout
    assert "valid; 1 subject(s) match" in done.stdout
    done = cli("attest", "verify", "churn-v1.intoto.jsonl", "--key", "other.pub", "--json")
    assert done.exit_code == 1
    assert json.loads(done.stdout)["findings"] == [
        "the signature does not match the statement and the key"
    ]


def test_an_unsigned_attestation_is_one_statement_line(churn: Path, cli: Cli) -> None:
    done = cli("attest", "create", "churn", "-o", "churn.intoto.jsonl")
    assert done.exit_code == 0, done.stderr
    lines = (churn / "churn.intoto.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["_type"] == "https://in-toto.io/Statement/v1"
    assert len(lines) == 1
    done = cli("attest", "verify", "churn.intoto.jsonl")
    assert (done.exit_code, "not signed; 1 subject(s) match" in done.stdout) == (0, True)


def test_a_run_is_attested_by_its_outputs(churn: Path, cli: Cli) -> None:
    done = cli("runs", "--json")
    run_id = json.loads(done.stdout)[0]["id"]
    done = cli("attest", run_id[:8], "-o", "run.intoto.jsonl", "--key", "signing.pem")
    assert done.exit_code == 0, done.stderr
    assert "wrote run.intoto.jsonl: signed, 1 subject(s)" in done.stdout
    done = cli("attest", "verify", "run.intoto.jsonl", "--key", "signing.pub")
    assert done.exit_code == 0, done.stderr
    assert f"run {run_id[:8]}: signature by key " in done.stdout
    done = cli("attest", "verify", "run.intoto.jsonl", "--key", "signing.pub", "--json")
    assert (json.loads(done.stdout)["run"], json.loads(done.stdout)["model"]) == (run_id, None)


def test_a_run_without_outputs_is_one_line_and_writes_nothing(churn: Path, cli: Cli) -> None:
    assert cli("record", "--", "python", "-c", "print(1)").exit_code == 0
    done = cli("attest", "last", "-o", "a.intoto.jsonl")
    assert done.exit_code != 0
    assert "recorded no outputs, so there is nothing to attest" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (churn / "a.intoto.jsonl").exists()


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ("attest", "churn", "-o", "a.intoto.jsonl", "--key", "train.py"),
            "not an unencrypted PEM",
        ),
        (("attest", "churn:7", "-o", "a.intoto.jsonl"), "model churn has no version 7"),
        (("attest", "verify", "train.py"), "holds one JSON line, this one 15"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    churn: Path, cli: Cli, argv: tuple[str, ...], said: str
) -> None:
    done = cli(*argv)
    assert done.exit_code != 0
    assert said in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (churn / "a.intoto.jsonl").exists()
