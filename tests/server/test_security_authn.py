"""Authentication over HTTP: no default credentials, refusals that say nothing about which part
was wrong, revocation and disabling that hold from the very next request, the sign-in rate
limit, secrets kept out of every response and log record, and session cookies that are
HttpOnly, SameSite=Lax (Secure when served over TLS) and end server-side on signing out.

Each test also checks that a refused request read nothing (no run of the team's in its body),
wrote nothing (the server's tables as they were) and leaked nothing (no secret echoed)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from samerun.server.app import create_server_app
from samerun.server.auth import SESSION_COOKIE, TOKEN_PREFIX, Accounts, LoginLimiter, digest
from samerun.store.engine import create_engine
from samerun.store.schema import members, projects, runs, sessions, tags, tokens, users
from samerun.web.security import secured, served_hosts
from tests.server.conftest import BASE, BETA_SECRET, Team, sign_in

TABLES = (users, tokens, sessions, projects, members, runs, tags)
ORIGIN = {"origin": BASE}
T = TypeVar("T")


@contextmanager
def served(
    metadata: str,
    objects: str,
    *,
    secure_cookies: bool = False,
    limiter: LoginLimiter | None = None,
    base: str = BASE,
) -> Iterator[TestClient]:
    """The app as ``samerun server`` serves it (Host check, headers), with these settings."""
    app = create_server_app(metadata, objects, secure_cookies=secure_cookies, limiter=limiter)
    with TestClient(
        secured(app, served_hosts("127.0.0.1")), base_url=base, follow_redirects=False
    ) as client:
        yield client


def tables(metadata: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the server's accounts and runs tables: what a refusal must leave as it was."""
    engine = create_engine(metadata)
    try:
        with engine.connect() as conn:
            return {
                table.name: sorted((tuple(row) for row in conn.execute(sa.select(table))), key=repr)
                for table in TABLES
            }
    finally:
        engine.dispose()


def admin(team: Team, change: Callable[[Accounts], T]) -> T:
    """What an administrator does to the server's accounts, on its database, meanwhile."""
    engine = create_engine(team.metadata)
    try:
        return change(Accounts(engine))
    finally:
        engine.dispose()


def login(client: TestClient, name: str, password: str) -> httpx.Response:
    done: httpx.Response = client.post(
        "/login", data={"name": name, "password": password}, headers=ORIGIN
    )
    return done


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def assert_refused(done: httpx.Response, team: Team | None, *secrets: str) -> None:
    """``done`` started no session, carries none of the team's runs and echoes no secret."""
    assert "set-cookie" not in done.headers, done.headers
    if team is not None:
        for value in (team.alpha_run, team.beta_run, "alpha-value", BETA_SECRET):
            assert value not in done.text
    assert_no_secret(done, *secrets)


def assert_no_secret(done: httpx.Response, *secrets: str) -> None:
    shown = done.text + "\n".join(f"{k}: {v}" for k, v in done.headers.multi_items())
    for secret in secrets:
        assert secret not in shown, f"a secret is in the {done.status_code} response"


def headers_of(done: httpx.Response) -> list[tuple[str, str]]:
    """``done``'s headers but its length (the same page compresses to a length of its own)."""
    return sorted((k, v) for k, v in done.headers.multi_items() if k != "content-length")


def cookie_attributes(done: httpx.Response) -> dict[str, str | bool]:
    """The attributes of the session cookie ``done`` sets (lower-case names)."""
    (header,) = [v for k, v in done.headers.multi_items() if k == "set-cookie"]
    parsed = SimpleCookie()
    parsed.load(header)
    morsel = parsed[SESSION_COOKIE]
    return {k: v for k, v in morsel.items() if v} | {"value": morsel.value}


# -- no default credentials --------------------------------------------------------------------


COMMON = [
    ("admin", "admin"),
    ("admin", ""),
    ("admin", "password"),
    ("root", "root"),
    ("root", ""),
    ("samerun", "samerun"),
    ("user", "user"),
    ("guest", "guest"),
    ("test", "test"),
    ("", ""),
]


def test_a_fresh_server_has_no_user_and_no_password_signs_in(
    postgres_url: str,
    tmp_path: Path,
) -> None:
    with served(postgres_url, str(tmp_path / "objects")) as client:
        before = tables(postgres_url)
        assert before["users"] == [] and before["tokens"] == []  # noqa: PT018
        for name, password in COMMON:
            done = login(client, name, password)
            assert done.status_code == 401, (name, password)
            assert_refused(done, None)
        for path in ("/api/v1/session", "/api/v1/runs"):
            assert client.get(path).status_code == 401
            assert client.get(path, headers=bearer(TOKEN_PREFIX)).status_code == 401
        assert client.get("/").status_code == 303
        assert tables(postgres_url) == before


def test_common_and_empty_passwords_are_refused_for_real_users(
    client: TestClient, team: Team
) -> None:
    before = tables(team.metadata)
    for name in ("admin", "reader"):  # the team has a user named admin, with its own password
        for password in (name, "", "admin", "password"):
            done = login(client, name, password)
            assert done.status_code == 401, (name, password)
            assert_refused(done, team, team.passwords[name])
    assert tables(team.metadata) == before


# -- refusals say nothing about which part was wrong -------------------------------------------


def test_a_wrong_password_and_an_unknown_user_are_refused_alike(
    client: TestClient, team: Team
) -> None:
    before = tables(team.metadata)
    wrong = login(client, "reader", team.passwords["writer"])  # a real password, not its own
    unknown = login(client, "nobody", team.passwords["reader"])  # same length as "reader"
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.text.replace("reader", "NAME") == unknown.text.replace("nobody", "NAME")
    assert headers_of(wrong) == headers_of(unknown)
    for done in (wrong, unknown):
        assert_refused(done, team, team.passwords["reader"], team.passwords["writer"])
    assert tables(team.metadata) == before


def test_a_wrong_unknown_or_malformed_token_is_refused_alike(
    client: TestClient, team: Team
) -> None:
    real = team.tokens["reader"]
    admin(team, lambda accounts: accounts.revoke_token("outsider", "test"))
    before = tables(team.metadata)
    sent = {
        "wrong": real[:-1] + ("A" if real[-1] != "A" else "B"),
        "unknown": TOKEN_PREFIX + "x" * 43,
        "revoked": team.tokens["outsider"],
        "no prefix": real.removeprefix(TOKEN_PREFIX),
        "prefix only": TOKEN_PREFIX,
        "empty": "",
        "sql": TOKEN_PREFIX + "' OR '1'='1",
        "long": TOKEN_PREFIX + "a" * 10_000,
        "its hash": digest(real),
    }
    headers = {name: bearer(token) for name, token in sent.items()}
    headers |= {
        "basic": {"authorization": "Basic cmVhZGVyOnJlYWRlcg=="},
        "no scheme": {"authorization": real},
        "scheme only": {"authorization": "Bearer"},
        "blank": {"authorization": ""},
    }
    answers = {}
    for kind, header in headers.items():
        done = client.get("/api/v1/runs", headers=header)
        assert done.status_code == 401, kind
        assert_refused(done, team, real, team.tokens["outsider"])
        answers[kind] = (done.text, headers_of(done))
        page = client.get("/", headers=header)  # a page, too, tells nothing more
        assert page.status_code in (303, 401), kind
        assert_refused(page, team, real, team.tokens["outsider"])
    assert len(set(map(repr, answers.values()))) == 1, answers
    assert tables(team.metadata) == before


# -- revocation and disabling hold from the very next request ----------------------------------


def test_a_revoked_token_is_refused_on_the_very_next_request(
    client: TestClient, team: Team
) -> None:
    second = admin(team, lambda accounts: accounts.create_token("reader", "second"))
    for token in (team.tokens["reader"], second.secret):
        assert client.get("/api/v1/runs", headers=bearer(token)).status_code == 200
    assert admin(team, lambda accounts: accounts.revoke_token("reader", "test")) == 1
    before = tables(team.metadata)
    done = client.get("/api/v1/runs", headers=bearer(team.tokens["reader"]))
    assert done.status_code == 401
    assert_refused(done, team, team.tokens["reader"])
    done = client.get(f"/api/v1/runs/{team.alpha_run}", headers=bearer(team.tokens["reader"]))
    assert done.status_code == 401
    assert_refused(done, team, team.tokens["reader"])
    assert tables(team.metadata) == before  # not even its last use noted
    listed = client.get("/api/v1/runs", headers=bearer(second.secret))  # the other one works
    assert [r["id"] for r in listed.json()["runs"]] == [team.alpha_run]


def test_a_disabled_users_token_session_and_password_stop_working(
    client: TestClient, team: Team
) -> None:
    sign_in(client, team, "writer")
    token = team.tokens["writer"]
    assert client.get("/api/v1/session").json()["user"] == "writer"
    assert client.get("/api/v1/runs", headers=bearer(token)).status_code == 200
    cookie = client.cookies[SESSION_COOKIE]
    engine = create_engine(team.metadata)
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.name == "writer").values(disabled=True))
    engine.dispose()
    before = tables(team.metadata)
    done = client.get("/api/v1/runs", headers=bearer(token))
    assert done.status_code == 401
    assert_refused(done, team, token)
    done = client.get("/api/v1/session")
    assert done.status_code == 401
    assert_refused(done, team, cookie)
    page = client.get("/")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")
    assert_refused(page, team, cookie)
    tagged = client.put(
        f"/api/v1/projects/alpha/runs/{team.alpha_run}/tags",
        json={"x": "y"},
        headers=bearer(token),
    )
    assert tagged.status_code == 401
    done = login(client, "writer", team.passwords["writer"])
    assert done.status_code == 401
    assert_refused(done, team, team.passwords["writer"])
    assert tables(team.metadata) == before


# -- the sign-in rate limit ----------------------------------------------------------------------


def test_the_login_limit_answers_429_and_lets_the_right_password_in_after_its_window(
    team: Team,
) -> None:
    now = [1_000.0]
    limiter = LoginLimiter(attempts=3, window_s=60, clock=lambda: now[0])
    password = team.passwords["reader"]
    with served(team.metadata, team.objects, limiter=limiter) as client:
        before = tables(team.metadata)
        for attempt in range(3):
            done = login(client, "reader", f"guess-{attempt}")
            assert done.status_code == 401
            assert_refused(done, team, password)
        now[0] += 30
        done = login(client, "reader", password)  # the right one, but over the limit
        assert done.status_code == 429
        assert done.headers["retry-after"] == "31"
        assert_refused(done, team, password)
        assert login(client, "reader", "guess-3").status_code == 429
        assert tables(team.metadata) == before  # nothing checked, no session started
        assert login(client, "writer", team.passwords["writer"]).status_code == 303  # others
        client.cookies.clear()
        now[0] += 31  # the window has passed
        done = login(client, "reader", password)
        assert done.status_code == 303
        assert_no_secret(done, password)
        assert client.get("/api/v1/session").json()["user"] == "reader"


def test_the_limiter_forgets_failures_past_their_window(team: Team) -> None:
    """Names tried once and never again are not kept for ever: memory anyone could grow."""
    now = [0.0]
    limiter = LoginLimiter(attempts=3, window_s=60, clock=lambda: now[0])
    with served(team.metadata, team.objects, limiter=limiter) as client:
        for n in range(5):
            assert login(client, f"nobody-{n}", "x").status_code == 401
        assert limiter.tracked() == 5
        now[0] += 61
        assert client.get("/login").status_code == 200
        assert login(client, "reader", team.passwords["reader"]).status_code == 303
        assert limiter.tracked() == 0
    for n in range(3 * LoginLimiter.MAX_TRACKED):  # a failure sweeps the stale ones out
        now[0] += 1
        limiter.failed(f"name-{n}", "10.0.0.1")
    assert len(limiter._failures) <= LoginLimiter.MAX_TRACKED + 1  # held, not just counted


# -- no secret in a response or a log record -------------------------------------------------------


def test_no_password_or_token_appears_in_a_response_or_the_log(
    team: Team, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    for logger in (None, "sqlalchemy.engine", "samerun", "uvicorn"):  # SQL and its parameters
        caplog.set_level(logging.DEBUG, logger=logger)
    now = [0.0]
    limiter = LoginLimiter(attempts=2, window_s=60, clock=lambda: now[0])
    password, token = team.passwords["writer"], team.tokens["writer"]
    secrets = [*team.passwords.values(), *team.tokens.values()]
    admin(team, lambda accounts: accounts.revoke_token("reader", "test"))
    responses = []
    with served(team.metadata, team.objects, limiter=limiter) as client:
        responses += [
            login(client, "writer", password + "x"),  # wrong
            login(client, "nobody", password),  # unknown user
            login(client, "writer", "x"),
            login(client, "writer", password),  # limited: 429
        ]
        assert [r.status_code for r in responses] == [401, 401, 401, 429]
        now[0] += 61
        responses.append(login(client, "writer", password))  # signed in
        assert responses[-1].status_code == 303
        csrf = client.get("/api/v1/session").json()["csrf_token"]
        responses += [
            client.get("/api/v1/runs", headers=bearer(token)),
            client.get("/api/v1/runs", headers=bearer(team.tokens["reader"])),  # revoked
            client.get("/api/v1/runs", headers=bearer(token + "x")),
            client.get("/", headers=bearer(token + "x")),
            client.get("/login"),
            client.put(
                f"/api/v1/projects/beta/runs/{team.beta_run}/tags",
                json={"token": token},
                headers=bearer(token),
            ),  # refused: 403
            client.post("/logout", data={"csrf_token": csrf}, headers=ORIGIN),
        ]
    for done in responses:
        shown = done.text + "".join(f"{k}: {v}\n" for k, v in done.headers.multi_items())
        for secret in secrets:
            assert secret not in shown, (done.request.url, done.status_code)
    printed = capfd.readouterr()
    logged = "\n".join(
        [r.getMessage() for r in caplog.records] + [printed.out, printed.err, caplog.text]
    )
    assert any(r.name.startswith("sqlalchemy") for r in caplog.records)  # the SQL was logged
    for secret in secrets:
        assert secret not in logged


# -- session cookies ---------------------------------------------------------------------------


def test_the_session_cookie_is_httponly_and_samesite_lax(client: TestClient, team: Team) -> None:
    done = login(client, "reader", team.passwords["reader"])
    assert done.status_code == 303
    attributes = cookie_attributes(done)
    assert attributes["httponly"] is True
    assert str(attributes["samesite"]).lower() == "lax"
    assert "secure" not in attributes  # served over plain http: a Secure cookie is never sent
    assert attributes["value"] != team.passwords["reader"]
    assert_no_secret(done, team.passwords["reader"])


def test_the_session_cookie_is_secure_with_secure_cookies(team: Team) -> None:
    secure = "https://127.0.0.1"
    with served(team.metadata, team.objects, secure_cookies=True, base=secure) as client:
        plain = client.post(
            "/login",
            data={"name": "reader", "password": team.passwords["reader"]},
            headers={"origin": BASE},  # an http origin is not this (TLS) server
        )
        assert plain.status_code == 403
        assert_refused(plain, team, team.passwords["reader"])
        done = client.post(
            "/login",
            data={"name": "reader", "password": team.passwords["reader"]},
            headers={"origin": secure},
        )
        assert done.status_code == 303
        attributes = cookie_attributes(done)
        assert attributes["secure"] is True
        assert attributes["httponly"] is True
        assert str(attributes["samesite"]).lower() == "lax"
        assert client.get("/api/v1/session").json()["user"] == "reader"


def test_signing_out_ends_the_session_on_the_server(client: TestClient, team: Team) -> None:
    csrf = sign_in(client, team, "reader")
    cookie = client.cookies[SESSION_COOKIE]
    engine = create_engine(team.metadata)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sessions.c.id_hash)).scalars().all()
    assert stored == [digest(cookie)]  # the secret itself is never stored
    done = client.post("/logout", data={"csrf_token": csrf}, headers=ORIGIN)
    assert done.status_code == 303
    assert done.headers["location"] == "/login"
    with engine.connect() as conn:
        assert conn.execute(sa.select(sessions.c.id_hash)).scalars().all() == []
    engine.dispose()
    before = tables(team.metadata)
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)  # a copy of the old cookie, kept by a thief
    done = client.get("/api/v1/session")
    assert done.status_code == 401
    assert_refused(done, team, cookie)
    done = client.get(f"/api/v1/runs/{team.alpha_run}")
    assert done.status_code == 401
    assert_refused(done, team, cookie)
    page = client.get("/")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/"
    assert_refused(page, team, cookie)
    tagged = client.put(
        f"/api/v1/projects/alpha/runs/{team.alpha_run}/tags",
        json={"x": "y"},
        headers={**ORIGIN, "x-csrf-token": csrf},
    )
    assert tagged.status_code in (401, 403)
    assert_refused(tagged, team, cookie)
    assert tables(team.metadata) == before
