from __future__ import annotations

import pytest
import sqlalchemy as sa

from samerun._exceptions import UsageError
from samerun.server.auth import (
    LAST_USED_RESOLUTION_S,
    TOKEN_PREFIX,
    Accounts,
    LoginLimiter,
    csrf_token,
    digest,
)
from samerun.store.engine import create_engine
from samerun.store.meta import open_meta_store
from samerun.store.schema import tokens, users


@pytest.fixture
def accounts(postgres_url: str) -> Accounts:
    open_meta_store(postgres_url, create=True).close()
    return Accounts(create_engine(postgres_url))


def test_a_password_is_stored_as_an_argon2id_hash_and_checked(accounts: Accounts) -> None:
    password = accounts.create_user("alice")
    with accounts.engine.connect() as conn:
        (stored,) = conn.execute(sa.select(users.c.password_hash)).one()
    assert stored.startswith("$argon2id$")
    assert password not in stored
    assert accounts.check_password("alice", password) == accounts.user("alice")
    assert accounts.check_password("alice", password + "x") is None
    assert accounts.check_password("nobody", password) is None


def test_a_token_is_shown_once_stored_as_its_hash_and_revoked_at_once(accounts: Accounts) -> None:
    accounts.create_user("alice")
    issued = accounts.create_token("alice", "laptop")
    assert issued.secret.startswith(TOKEN_PREFIX)
    with accounts.engine.connect() as conn:
        (stored,) = conn.execute(sa.select(tokens.c.token_hash)).one()
    assert stored == digest(issued.secret)
    assert issued.secret not in stored
    assert accounts.token_user(issued.secret) == accounts.user("alice")
    assert accounts.token_user(issued.secret + "x") is None
    assert accounts.revoke_token("alice", "laptop") == 1
    assert accounts.token_user(issued.secret) is None
    assert accounts.revoke_token("alice", "laptop") == 0


def test_a_tokens_use_is_noted_to_the_minute_not_written_on_every_request(
    accounts: Accounts,
) -> None:
    accounts.create_user("alice")
    secret = accounts.create_token("alice", "ci").secret
    now = [1_000.0]
    clocked = Accounts(accounts.engine, clock=lambda: now[0])

    def last_used() -> float | None:
        with accounts.engine.connect() as conn:
            found = conn.execute(sa.select(tokens.c.last_used_at)).scalar_one()
        return None if found is None else float(found)

    assert last_used() is None
    for moment, noted in [
        (1_000.0, 1_000.0),
        (1_000.0 + LAST_USED_RESOLUTION_S / 2, 1_000.0),
        (1_000.0 + LAST_USED_RESOLUTION_S, 1_000.0 + LAST_USED_RESOLUTION_S),
    ]:
        now[0] = moment
        assert clocked.token_user(secret) == accounts.user("alice")
        assert last_used() == noted


def test_sessions_end_and_expire(accounts: Accounts) -> None:
    accounts.create_user("alice")
    user = accounts.user("alice")
    secret = accounts.start_session(user)
    assert accounts.session_user(secret) == user
    accounts.end_session(secret)
    assert accounts.session_user(secret) is None
    later = Accounts(accounts.engine, clock=lambda: 4e9)
    assert later.session_user(accounts.start_session(user)) is None


def test_bad_names_and_duplicates_are_one_clear_error(accounts: Accounts) -> None:
    with pytest.raises(UsageError, match="not a valid name"):
        accounts.create_user("../alice")
    accounts.create_user("alice")
    with pytest.raises(UsageError, match="already exists"):
        accounts.create_user("alice")
    with pytest.raises(UsageError, match="no user 'bob'"):
        accounts.create_token("bob", "laptop")


def test_the_limiter_counts_failures_per_user_and_client() -> None:
    now = [0.0]
    limiter = LoginLimiter(attempts=2, window_s=10, clock=lambda: now[0])
    limiter.failed("alice", "1.2.3.4")
    assert limiter.retry_after("alice", "1.2.3.4") == 0
    limiter.failed("alice", "1.2.3.4")
    assert limiter.retry_after("alice", "1.2.3.4") == 10
    assert limiter.retry_after("alice", "5.6.7.8") == 0  # another client is not locked out
    now[0] = 10.5
    assert limiter.retry_after("alice", "1.2.3.4") == 0


def test_the_csrf_token_belongs_to_its_session() -> None:
    assert csrf_token("a") == csrf_token("a") != csrf_token("b")
