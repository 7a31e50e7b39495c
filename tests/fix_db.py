"""PostgreSQL fixtures: one migrated template per run, a fresh database cloned from it per test.

The server is ``FLEETCARE_TEST_DATABASE_URL`` (default: the local PostgreSQL on
127.0.0.1:5432). When it cannot be reached the run stops once, clearly.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
import pytest_asyncio

from service_core.schema import upgrade, with_database

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _admin(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """The server tests run on (its maintenance database)."""
    url = os.environ.get("FLEETCARE_TEST_DATABASE_URL", DEFAULT_URL)
    try:
        with _admin(url) as conn:
            conn.execute("select 1")
    except psycopg.OperationalError as exc:
        pytest.exit(f"PostgreSQL is not reachable at {url}: {exc}. Run ./scripts/test, which starts it.", returncode=3)
    return url


@pytest.fixture(scope="session")
def pg_template(pg_server_url: str) -> Iterator[str]:
    """A database with every migration applied, cloned by each test."""
    name = f"fleetcare_tmpl_{uuid.uuid4().hex[:8]}"
    with _admin(pg_server_url) as conn:
        conn.execute(f'create database "{name}"')
    upgrade(with_database(pg_server_url, name))
    yield name
    with _admin(pg_server_url) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def pg_db_url(pg_server_url: str, pg_template: str) -> Iterator[str]:
    """A fresh, migrated database on the PostgreSQL server for this test only; dropped afterwards."""
    name = f"fleetcare_t_{uuid.uuid4().hex[:10]}"
    with _admin(pg_server_url) as conn:
        conn.execute(f'create database "{name}" template "{pg_template}"')
    yield with_database(pg_server_url, name)
    with _admin(pg_server_url) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def db_url(pg_db_url: str) -> str:
    """The test's database: PostgreSQL here; a package may run its tests on other back-ends too."""
    return pg_db_url


@pytest_asyncio.fixture
async def aconn(db_url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    """An async connection to the test's database; the test owns its transactions."""
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        yield conn


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    """A sync connection (autocommit) for setting up and checking state."""
    with psycopg.connect(db_url, autocommit=True) as c:
        yield c
