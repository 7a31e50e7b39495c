"""GET /health and GET /metrics of the API, on the real PostgreSQL: a database that goes away is a 503."""

from __future__ import annotations

import time

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from gateway.prometheus import CONTENT_TYPE
from gateway.stats import IngestStats
from service_core.app import create_app
from tests.prometheus_text import parse


@pytest.mark.asyncio
async def test_health_is_ok_with_the_database_and_503_with_the_reason_once_it_is_gone(client, db_url, pg_server_url):
    health = await client.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "database": "ok"}

    with psycopg.connect(pg_server_url, autocommit=True) as admin:
        admin.execute(f'drop database "{conninfo_to_dict(db_url)["dbname"]}" with (force)')
    for _ in range(2):  # the pool's connection broken, then no connection to be had
        started = time.monotonic()
        health = await client.get("/health")
        assert health.status_code == 503
        assert time.monotonic() - started < 3
        body = health.json()
        assert body["status"] == "degraded" and body["database"] != "ok", body


@pytest.mark.asyncio
async def test_metrics_show_the_service_up_and_its_pool(client):
    await client.get("/health")  # one request through the pool
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"] == CONTENT_TYPE
    families = parse(metrics.text)
    assert families["fleetcare_up"].value() == 1
    pool = {"pool": "service_core"}
    assert families["fleetcare_db_pool_size"].value(**pool) >= 1
    assert 0 <= families["fleetcare_db_pool_available"].value(**pool) <= families["fleetcare_db_pool_max"].value(**pool)
    assert families["fleetcare_db_requests_waiting"].value(**pool) == 0
    assert families["fleetcare_db_pool_requests_total"].value(**pool) >= 1
    assert not any(name.startswith("fleetcare_gateway_") for name in families)


@pytest.mark.asyncio
async def test_metrics_include_an_in_process_gateway_as_fleetcare_up_wires_it(db_url):
    stats = IngestStats(messages=7, dead_letters=2, connected=True)
    app = create_app(database_url=db_url, metrics=[stats.prometheus])
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://fleetcare.test"
    ) as client:
        families = parse((await client.get("/metrics")).text)
    assert families["fleetcare_up"].value() == 1
    assert families["fleetcare_gateway_messages_total"].value() == 7
    assert families["fleetcare_gateway_dead_letters_total"].value() == 2
    assert families["fleetcare_gateway_connected"].value() == 1


@pytest.mark.asyncio
async def test_health_and_metrics_are_in_the_api_docs(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert set(paths["/health"]["get"]["responses"]) == {"200", "503"}
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]
