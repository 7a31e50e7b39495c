"""Fixtures of the service-core tests: a pool, the app with its lifespan running, an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool

from service_core.app import create_app
from service_core.db import create_pool


@pytest_asyncio.fixture
async def pool(db_url: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = create_pool(db_url, max_size=4)
    await pool.open(wait=True)
    yield pool
    await pool.close()


@pytest_asyncio.fixture
async def app(db_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(database_url=db_url)
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fleetcare.test") as c:
        yield c
