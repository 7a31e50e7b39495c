"""The connection pool; created by the app factory or an entry point, never at import time."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool


def create_pool(
    database_url: str, *, min_size: int = 1, max_size: int = 10, name: str = "service_core"
) -> AsyncConnectionPool:
    """A closed pool: open it with ``await pool.open()`` at start-up and close it at shutdown."""
    return AsyncConnectionPool(database_url, min_size=min_size, max_size=max_size, name=name, open=False)
