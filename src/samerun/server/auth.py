"""Who a request comes from: users with argon2id passwords, API tokens, browser sessions.

No secret is ever stored: a password is kept as its argon2id hash, an API token and a session
cookie as their sha256 (a token is 32 random bytes, so a fast hash is enough to make the stored
value useless to a thief). A token is shown once, when it is created. Lookups go by hash and the
found hash is compared again in constant time; a revoked token, an ended session or a disabled
user is refused from the next request on, as every request reads the database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import NamedTuple

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from samerun._exceptions import UsageError
from samerun.store.schema import sessions, tokens, users

#: What every API token starts with, so that a leaked one is recognisable (secret scanners).
TOKEN_PREFIX = "srn_"
#: How long a browser session lasts after signing in.
SESSION_TTL_S = 12 * 3600
#: How fresh a token's ``last_used_at`` is kept. Noting every use would make every request a
#: write to the token's row, and the requests of one client (a push sends eight at a time) wait
#: for each other's lock on it.
LAST_USED_RESOLUTION_S = 60.0
#: The name of the session cookie.
SESSION_COOKIE = "samerun_session"
#: User and token names: letters, digits, ``.-_``, starting with a letter or digit.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

_HASHER = PasswordHasher()  # argon2id, the library's (RFC 9106) parameters
#: Verified when the user does not exist, so that an unknown name takes as long as a known one.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class User(NamedTuple):
    """A signed-in user."""

    id: int
    name: str


class IssuedToken(NamedTuple):
    """A token just created: ``secret`` is shown once and never stored."""

    id: int
    user: str
    name: str
    secret: str


def checked_name(name: str, what: str) -> str:
    """``name`` if it is a valid user, token or project name, else a :class:`UsageError`."""
    if not NAME.fullmatch(name):
        raise UsageError(
            f"{what} {name!r} is not a valid name: use up to 64 letters, digits, '.', '-' or '_'"
        )
    return name


def digest(secret: str) -> str:
    """The sha256 of a token or session cookie, as stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token(session: str) -> str:
    """The CSRF token of a session: derived from the cookie's secret, so a page on another
    origin, which cannot read the cookie, cannot compute it, and no server state is needed."""
    return hmac.new(session.encode(), b"samerun-csrf", hashlib.sha256).hexdigest()


class Accounts:
    """The server's users, tokens and sessions, in the metadata store's database."""

    def __init__(self, engine: sa.Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock

    # -- users -----------------------------------------------------------------------------------
    def create_user(self, name: str) -> str:
        """Create user ``name`` with a random password, returned once (there is no default)."""
        checked_name(name, "user")
        password = secrets.token_urlsafe(18)
        with self.engine.begin() as conn:
            if conn.execute(sa.select(users.c.id).where(users.c.name == name)).first():
                raise UsageError(f"user {name!r} already exists; choose another name")
            conn.execute(
                users.insert().values(
                    name=name,
                    password_hash=_HASHER.hash(password),
                    created_at=self.clock(),
                    disabled=False,
                )
            )
        return password

    def user(self, name: str) -> User:
        """User ``name``, or a :class:`UsageError` saying there is none."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users.c.id).where(users.c.name == name)).first()
        if row is None:
            raise UsageError(f"no user {name!r}; create it with `samerun server admin create`")
        return User(int(row.id), name)

    def check_password(self, name: str, password: str) -> User | None:
        """The user whose name and password these are; None for any mismatch (the same time
        whether or not the user exists)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(users.c.id, users.c.password_hash, users.c.disabled).where(
                    users.c.name == name
                )
            ).first()
        try:
            _HASHER.verify(_DUMMY_HASH if row is None else row.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row.disabled:
            return None
        return User(int(row.id), name)

    # -- API tokens ------------------------------------------------------------------------------
    def create_token(self, user_name: str, name: str) -> IssuedToken:
        """A new API token for ``user_name`` labelled ``name`` (unique among its live tokens)."""
        checked_name(name, "token")
        owner = self.user(user_name)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            live = sa.select(tokens.c.id).where(
                tokens.c.user_id == owner.id, tokens.c.name == name, tokens.c.revoked_at.is_(None)
            )
            if conn.execute(live).first():
                raise UsageError(
                    f"user {user_name!r} already has a token named {name!r}; revoke it first"
                )
            created = conn.execute(
                tokens.insert().values(
                    user_id=owner.id, name=name, token_hash=digest(secret), created_at=self.clock()
                )
            )
            token_id: int = created.inserted_primary_key[0]  # type: ignore[index]
        return IssuedToken(token_id, user_name, name, secret)

    def revoke_token(self, user_name: str, name: str) -> int:
        """Revoke ``user_name``'s live token ``name``; from the next request on it is refused.
        Returns how many were revoked (0: none by that name)."""
        owner = self.user(user_name)
        with self.engine.begin() as conn:
            done = conn.execute(
                tokens.update()
                .where(
                    tokens.c.user_id == owner.id,
                    tokens.c.name == name,
                    tokens.c.revoked_at.is_(None),
                )
                .values(revoked_at=self.clock())
            )
        return int(done.rowcount)

    def token_user(self, secret: str) -> User | None:
        """The user of live token ``secret`` (and its use noted, to the minute), or None."""
        if not secret.startswith(TOKEN_PREFIX):
            return None
        wanted = digest(secret)
        query = (
            sa.select(
                tokens.c.id,
                tokens.c.token_hash,
                tokens.c.last_used_at,
                users.c.id.label("user_id"),
                users.c.name,
            )
            .join(users, users.c.id == tokens.c.user_id)
            .where(
                tokens.c.token_hash == wanted,
                tokens.c.revoked_at.is_(None),
                users.c.disabled.is_(False),
            )
        )
        with self.engine.begin() as conn:
            row = conn.execute(query).first()
            if row is None or not hmac.compare_digest(row.token_hash, wanted):
                return None
            now = self.clock()
            if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION_S:
                conn.execute(tokens.update().where(tokens.c.id == row.id).values(last_used_at=now))
        return User(int(row.user_id), str(row.name))

    # -- sessions --------------------------------------------------------------------------------
    def start_session(self, user: User) -> str:
        """A new session for ``user``: the cookie's value, returned once."""
        secret = secrets.token_urlsafe(32)
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(
                sessions.insert().values(
                    id_hash=digest(secret),
                    user_id=user.id,
                    created_at=now,
                    expires_at=now + SESSION_TTL_S,
                )
            )
        return secret

    def session_user(self, secret: str) -> User | None:
        """The user of unexpired session ``secret``, or None."""
        wanted = digest(secret)
        query = (
            sa.select(sessions.c.id_hash, users.c.id, users.c.name)
            .join(users, users.c.id == sessions.c.user_id)
            .where(
                sessions.c.id_hash == wanted,
                sessions.c.expires_at > self.clock(),
                users.c.disabled.is_(False),
            )
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None or not hmac.compare_digest(row.id_hash, wanted):
            return None
        return User(int(row.id), str(row.name))

    def end_session(self, secret: str) -> None:
        """Sign out: session ``secret`` is refused from now on."""
        with self.engine.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.id_hash == digest(secret)))


class LoginLimiter:
    """At most ``attempts`` failed sign-ins per (user name, client address) in ``window_s``
    seconds: password guessing is slowed to a crawl, and one client's failures do not lock the
    user out for everyone else. Kept in memory, per server process."""

    #: Past this many tracked pairs, a failure first sweeps out those with none in the window.
    MAX_TRACKED = 10_000

    def __init__(
        self, attempts: int = 5, window_s: float = 60.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def tracked(self) -> int:
        """How many (user name, client) pairs have failures in the window: memory held."""
        self._sweep()
        return len(self._failures)

    def retry_after(self, name: str, client: str) -> float:
        """Seconds until ``client`` may try ``name`` again (0: now)."""
        recent = self._recent((name, client))
        if len(recent) < self.attempts:
            return 0.0
        return max(0.0, recent[0] + self.window_s - self.clock())

    def failed(self, name: str, client: str) -> None:
        if len(self._failures) >= self.MAX_TRACKED:  # names nobody tries again: forget them
            self._sweep()
        key = (name, client)
        self._failures.setdefault(key, self._recent(key)).append(self.clock())

    def succeeded(self, name: str, client: str) -> None:
        self._failures.pop((name, client), None)

    def _sweep(self) -> None:
        for key in list(self._failures):
            self._recent(key)

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        """The failures of ``key`` in the window; a key with none is dropped (not kept for every
        name ever tried, which anyone could grow without end)."""
        found = self._failures.get(key)
        if found is None:
            return deque()
        while found and found[0] <= self.clock() - self.window_s:
            found.popleft()
        if not found:
            del self._failures[key]
        return found
