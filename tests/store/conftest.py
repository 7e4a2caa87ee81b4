"""Real databases for the metadata-store tests: a SQLite file and a throwaway PostgreSQL server.

The PostgreSQL cluster (``tests/store/pg.py``) is started once per test process (each
pytest-xdist worker gets its own directory and port). Every test gets fresh, empty databases, so
tests are independent.

Without the binaries the PostgreSQL tests are skipped, unless ``SAMERUN_REQUIRE_POSTGRES=1``
makes that a failure (CI sets it so that PostgreSQL coverage cannot silently disappear).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from tests.store.pg import PostgresServer, PostgresUnavailable, throwaway_cluster

UrlFactory = Callable[[], str]


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("SAMERUN_REQUIRE_POSTGRES") == "1":
        message = f"SAMERUN_REQUIRE_POSTGRES=1 but PostgreSQL cannot be used: {reason}"
        pytest.fail(message, pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason} (set SAMERUN_REQUIRE_POSTGRES=1 to fail)")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster for this test process, removed at the end of the session."""
    try:
        with throwaway_cluster() as server:
            yield server
    except PostgresUnavailable as err:
        _unavailable(str(err))


@pytest.fixture
def postgres_urls(postgres_server: PostgresServer) -> UrlFactory:
    """Make URLs of empty PostgreSQL databases, a different one at each call within a test."""
    taken = iter(range(1_000))

    def new_url() -> str:
        return postgres_server.url(postgres_server.fresh_database(next(taken)))

    return new_url


@pytest.fixture
def postgres_url(postgres_urls: UrlFactory) -> str:
    """One fresh, empty PostgreSQL database."""
    return postgres_urls()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def meta_urls(request: pytest.FixtureRequest, tmp_path: Path) -> UrlFactory:
    """Make URLs of fresh, not yet created metadata stores on one backend (SQLite, PostgreSQL)."""
    if request.param == "postgresql":
        factory: UrlFactory = request.getfixturevalue("postgres_urls")
        return factory
    counter = iter(range(1_000_000))

    def new_sqlite_url() -> str:
        n = next(counter)
        return f"sqlite:///{tmp_path}/{'store' if n == 0 else f'store{n}'}/meta.db"

    return new_sqlite_url


@pytest.fixture
def meta_url(meta_urls: UrlFactory) -> str:
    """A fresh SQLite URL (``sqlite:///{tmp_path}/store/meta.db``) or a fresh PostgreSQL URL."""
    return meta_urls()
