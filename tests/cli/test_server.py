from __future__ import annotations

from pathlib import Path

from samerun.server.auth import Accounts
from samerun.store.engine import create_engine
from tests.conftest import Cli
from tests.store.conftest import (  # noqa: F401
    UrlFactory,
    postgres_server,
    postgres_url,
    postgres_urls,
)


def test_the_admin_commands_make_users_tokens_projects_and_members(
    cli: Cli,
    postgres_url: str,  # noqa: F811
) -> None:
    store = ["--metadata", postgres_url]
    made = cli("server", "admin", "create", "alice", *store)
    assert made.exit_code == 0, made.stderr
    password = made.stdout.rsplit(" ", 1)[-1].strip()
    assert Accounts(create_engine(postgres_url)).check_password("alice", password) is not None
    token = cli("server", "token", "create", "alice", "--name", "ci", *store, env={})
    assert token.exit_code == 0
    assert "srn_" in token.stdout
    assert cli("server", "project", "create", "vision", *store).exit_code == 0
    added = cli(
        "server",
        "member",
        "add",
        "vision",
        "alice",
        "writer",
        env={"SAMERUN_SERVER_METADATA": postgres_url},
    )
    assert added.stdout.strip() == "alice is now writer of vision"
    assert cli("server", "token", "revoke", "alice", "--name", "ci", *store).exit_code == 0


def test_bad_input_is_one_line(
    cli: Cli,
    postgres_url: str,  # noqa: F811
) -> None:
    store = ["--metadata", postgres_url]
    for args, message in [
        (["server", "admin", "create", "alice"], "give the server's --metadata URL"),
        (["server", "member", "add", "vision", "alice", "owner", *store], "is not a role"),
        (["server", "token", "revoke", "bob", "--name", "x", *store], "no user 'bob'"),
    ]:
        done = cli(*args)
        assert done.exit_code != 0
        assert message in done.stderr
        assert "Traceback" not in done.stderr


def test_the_admin_commands_read_the_servers_config_file(
    cli: Cli,
    tmp_path: Path,
    postgres_urls: UrlFactory,  # noqa: F811
) -> None:
    first, second = postgres_urls(), postgres_urls()
    config = tmp_path / "server.yaml"
    config.write_text(f"metadata: {first}\nobjects: {tmp_path / 'objects'}\nworkers: 2\n")
    made = cli("server", "--config", str(config), "admin", "create", "alice")
    assert made.exit_code == 0, made.stderr
    assert Accounts(create_engine(first)).user("alice").name == "alice"
    from_env = cli("server", "admin", "create", "bob", env={"SAMERUN_SERVER_CONFIG": str(config)})
    assert from_env.exit_code == 0, from_env.stderr
    assert Accounts(create_engine(first)).user("bob").name == "bob"
    # the command line wins over the file
    named = cli("server", "--config", str(config), "admin", "create", "carol", "--metadata", second)
    assert named.exit_code == 0, named.stderr
    assert Accounts(create_engine(second)).user("carol").name == "carol"


def test_a_bad_config_file_is_one_line_and_changes_nothing(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "server.yaml"
    for text, message in [
        ("metadata: [1, 2]\n", "metadata: [1, 2] is not text"),
        ("port: yes\n", "port: True is not an integer"),
        ("listen: 0.0.0.0\n", "unknown key 'listen'; use metadata, objects, host"),
        ("- a list\n", "expected a mapping"),
    ]:
        config.write_text(text)
        done = cli("server", "--config", str(config), "admin", "create", "alice")
        assert done.exit_code != 0
        assert message in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    missing = cli("server", "--config", str(tmp_path / "nowhere.yaml"), "admin", "create", "x")
    assert "cannot be read" in missing.stderr
