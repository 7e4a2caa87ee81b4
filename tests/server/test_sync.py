"""Push a recorded run to a real server process (uvicorn, PostgreSQL), pull it into a second
clone of the repository, and check the run there is the same run: listed, shown, verified."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import httpx

import samerun
from samerun.store.project import Project, open_store
from samerun.sync import Remote, push
from tests.conftest import Cli
from tests.server.conftest import Team


def last_run(cli: Cli, cwd: Path) -> str:
    done = cli("runs", "--json", cwd=cwd)
    assert done.exit_code == 0, done.stderr
    run_id = json.loads(done.stdout)[0]["id"]
    assert isinstance(run_id, str)
    return run_id


def test_push_pull_show_and_verify(
    cli: Cli, project: Path, tmp_path: Path, served: str, team: Team
) -> None:
    recorded = cli("record", "--seed", "3", "--config", "config.yaml", "--", "python", "train.py")
    assert recorded.exit_code == 0, recorded.stderr
    run_id = last_run(cli, project)

    signed = cli("login", served, "--token", team.tokens["writer"])
    assert signed.exit_code == 0, signed.stderr
    credentials = tmp_path / "home" / ".config" / "samerun" / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert json.loads(credentials.read_text()) == {served: team.tokens["writer"]}

    first = cli("push", "--project", "alpha")
    assert first.exit_code == 0, first.stderr
    assert f"{run_id}  pushed" in first.stdout
    assert "(0 objects sent)" not in first.stdout
    # Idempotent: nothing left to push by default; named again, no object is sent, no duplicate.
    assert "nothing to push" in cli("push", "--project", "alpha").stdout
    again = cli("push", "--project", "alpha", run_id)
    assert f"{run_id}  already there  (0 objects sent)" in again.stdout

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(project), str(clone)], check=True)
    pulled = cli("pull", run_id[:8], "--project", "alpha", cwd=clone)
    assert pulled.exit_code == 0, pulled.stderr
    assert f"{run_id}  pulled" in pulled.stdout
    assert last_run(cli, clone) == run_id
    shown = cli("show", run_id, "--json", cwd=clone)
    original = cli("show", run_id, "--json", cwd=project)
    assert json.loads(shown.stdout) == json.loads(original.stdout)
    assert "already here" in cli("pull", run_id, "--project", "alpha", cwd=clone).stdout
    verified = cli("verify", run_id, cwd=clone)
    assert verified.exit_code == 0, verified.stdout + verified.stderr
    assert "identical" in verified.stdout


def test_a_reader_cannot_push_and_nothing_is_written(
    cli: Cli, project: Path, served: str, team: Team
) -> None:
    assert cli("record", "--", "python", "train.py").exit_code == 0
    assert cli("login", served, "--token", team.tokens["reader"]).exit_code == 0
    refused = cli("push", "--project", "alpha")
    assert refused.exit_code == 1
    assert "no write permission on project 'alpha'" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (project / ".samerun" / "pushed.json").exists()


def test_record_push_shares_the_run_when_it_ends(
    cli: Cli, project: Path, served: str, team: Team
) -> None:
    assert cli("login", served, "--token", team.tokens["writer"]).exit_code == 0
    done = cli("record", "--push", "alpha", "--", "python", "train.py")
    assert done.exit_code == 0, done.stderr
    run_id = last_run(cli, project)
    assert f"pushed run {run_id[:8]} to alpha" in done.stderr
    assert "nothing to push" in cli("push", "--project", "alpha").stdout


def test_record_push_refuses_before_running_when_not_signed_in(cli: Cli, project: Path) -> None:
    done = cli("record", "--push", "alpha", "--", "python", "train.py")
    assert done.exit_code != 0
    assert len(done.stderr.strip().splitlines()) == 1
    assert "trained" not in done.stdout  # the command never ran
    assert not (project / ".samerun" / "runs").exists()


def test_a_refused_push_after_a_run_keeps_the_run_and_fails_the_command(
    cli: Cli, project: Path, served: str, team: Team
) -> None:
    assert cli("login", served, "--token", team.tokens["reader"]).exit_code == 0
    done = cli("record", "--push", "alpha", "--", "python", "train.py")
    assert done.exit_code == 1
    run_id = last_run(cli, project)
    assert f"run {run_id[:8]} is recorded here, but pushing it to alpha failed" in done.stderr
    assert f"samerun push {run_id[:8]} --project alpha" in done.stderr


def test_verify_from_the_team_server_pulls_then_replays_here(
    cli: Cli, project: Path, tmp_path: Path, served: str, team: Team
) -> None:
    """Bob's run, verified on Alice's machine: a second clone with an empty store asks the
    server for the run and every object it needs, then replays it."""
    assert cli("record", "--seed", "3", "--", "python", "train.py").exit_code == 0
    run_id = last_run(cli, project)
    assert cli("login", served, "--token", team.tokens["writer"]).exit_code == 0
    assert cli("push", "--project", "alpha").exit_code == 0
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(project), str(clone)], check=True)
    added = cli("remote", "add", "team", served, "--project", "alpha", cwd=clone)
    assert added.exit_code == 0, added.stderr
    verified = cli("verify", run_id[:8], "--from", "team", cwd=clone)
    assert verified.exit_code == 0, verified.stdout + verified.stderr
    assert "identical" in verified.stdout
    assert f"pulled {run_id[:8]} from team (" in verified.stderr
    assert "(0 objects fetched)" not in verified.stderr
    again = cli("verify", run_id[:8], "--from", "team", cwd=clone)
    assert "(0 objects fetched)" in again.stderr  # already here: nothing sent twice


def test_verify_from_a_remote_that_is_no_server_says_so(cli: Cli, project: Path) -> None:
    assert cli("remote", "add", "origin", "/tmp/nowhere").exit_code == 0
    refused = cli("verify", "last", "--from", "origin")
    assert refused.exit_code != 0
    assert "is not a team server" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_the_server_is_a_data_remote_scoped_to_its_project(
    cli: Cli, project: Path, tmp_path: Path, served: str, team: Team
) -> None:
    raw = project / "data" / "raw"
    raw.mkdir(parents=True)
    contents = {f"part-{i}.csv": f"id,value\n{i},{i * i}\n" for i in range(5)}
    for name, text in contents.items():
        (raw / name).write_text(text)
    assert cli("data", "add", "data/raw").exit_code == 0
    assert cli("remote", "add", "team", served, "--project", "alpha").exit_code == 0
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "data"], cwd=project, check=True)
    assert cli("login", served, "--token", team.tokens["writer"]).exit_code == 0
    pushed = cli("data", "push", "--remote", "team", "--json")
    assert pushed.exit_code == 0, pushed.stderr
    assert json.loads(pushed.stdout)["transferred"] == 6  # five files and their tree
    assert json.loads(cli("data", "push", "--remote", "team", "--json").stdout)["transferred"] == 0

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(project), str(clone)], check=True)
    pulled = cli("data", "pull", "--remote", "team", cwd=clone)
    assert pulled.exit_code == 0, pulled.stderr
    assert {p.name: p.read_text() for p in (clone / "data" / "raw").iterdir()} == contents

    stranger = tmp_path / "stranger"  # a member of beta only: alpha's data is not theirs
    subprocess.run(["git", "clone", "-q", str(project), str(stranger)], check=True)
    assert cli("login", served, "--token", team.tokens["outsider"]).exit_code == 0
    refused = cli("data", "pull", "--remote", "team", cwd=stranger)
    assert refused.exit_code != 0
    assert "no read permission on project 'alpha'" in refused.stderr
    assert not (stranger / "data" / "raw").exists()


def test_one_push_of_many_runs_asks_once_what_is_missing(
    project: Path, served: str, team: Team
) -> None:
    """The constraint that keeps a push of a thousand runs fast (``samerun.sync.push``): one
    ``objects/missing`` question for all of them, each object sent once, then each run."""
    shared = project / "shared.txt"
    shared.write_text("the same file in every run")
    with (project / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write("shared.txt\n")  # no run has a patch: each holds a series and the file
    ids = []
    for index in range(3):
        with samerun.start_run(name=f"run-{index}", seed=index) as run:
            samerun.log_metric("loss", 1 / (index + 1), step=0)
            samerun.log_artifact(shared)
        ids.append(run.id)
    asked: list[str] = []
    client = httpx.Client(
        base_url=served, event_hooks={"request": [lambda r: asked.append(r.url.path)]}
    )
    remote = Remote(served, team.tokens["writer"], client=client)
    try:
        store = open_store(Project(project))
        pushed = push(store, remote, "alpha")
    finally:
        remote.close()
    assert [p.run_id for p in pushed] == ids
    assert all(p.created for p in pushed)
    assert sum(path.endswith("/objects/missing") for path in asked) == 1
    # The four small objects (three series, the shared file once) travel as one pack.
    assert [p.objects_sent for p in pushed] == [2, 1, 1]
    assert sum(path.endswith("/objects") for path in asked) == 1
    assert not [path for path in asked if "/objects/blake3:" in path]
    assert sum(path.endswith("/runs") for path in asked) == 3
