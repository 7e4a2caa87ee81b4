from __future__ import annotations

from samerun.server.auth import Accounts
from samerun.store.engine import create_engine
from tests.conftest import Cli
from tests.store.conftest import postgres_server, postgres_url, postgres_urls  # noqa: F401


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
