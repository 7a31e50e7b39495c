"""Dependency aliases for routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool


def get_pool(request: Request) -> AsyncConnectionPool:
    return request.app.state.pool


async def get_conn(request: Request) -> AsyncIterator[AsyncConnection]:
    """A pooled connection inside one transaction: the request owns it, committed when the route returns."""
    pool: AsyncConnectionPool = request.app.state.pool
    async with pool.connection() as conn, conn.transaction():
        yield conn


PoolDep = Annotated[AsyncConnectionPool, Depends(get_pool)]
# scope="function": commit (or roll back) before the response is sent, so a 2xx means the data is stored.
ConnDep = Annotated[AsyncConnection, Depends(get_conn, scope="function")]
