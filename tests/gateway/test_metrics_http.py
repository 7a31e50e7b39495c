"""The gateway's own HTTP endpoint, over a real socket, in front of a real gateway."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from gateway.metrics_http import serve_metrics
from gateway.prometheus import CONTENT_TYPE
from tests.prometheus_text import parse


async def _raw(host: str, port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)  # the server closes the connection after answering
    writer.close()
    await writer.wait_closed()
    return answer


@pytest.mark.asyncio
async def test_health_and_metrics_of_a_running_gateway_then_of_a_stopped_one(running_gateway):
    stats = running_gateway.gateway.stats
    async with serve_metrics("127.0.0.1", 0, metrics=stats.prometheus, health=stats.health) as (host, port):
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=5) as http:
            health = await http.get("/health")
            assert health.status_code == 200
            assert health.json() == {"status": "ok", "broker": "connected", "database": "ok"}

            metrics = await http.get("/metrics")
            assert metrics.status_code == 200
            assert metrics.headers["content-type"] == CONTENT_TYPE
            families = parse(metrics.text)
            assert families["fleetcare_gateway_connected"].value() == 1
            assert "fleetcare_gateway_messages_total" in families

            assert (await http.get("/nowhere")).status_code == 404
            refused = await http.post("/metrics")
            assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"
            head = await http.head("/metrics")
            assert head.status_code == 200 and head.content == b""

            await running_gateway.stop()
            health = await http.get("/health")
            assert health.status_code == 503
            assert health.json() == {"status": "degraded", "broker": "disconnected", "database": "ok"}


@pytest.mark.asyncio
async def test_what_is_not_http_gets_a_400_and_a_closed_connection():
    async with serve_metrics("127.0.0.1", 0, metrics=lambda: "", health=lambda: (True, {})) as (host, port):
        answer = await _raw(host, port, b"hello there\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
        answer = await _raw(host, port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"\r\n\r\n{}")


@pytest.mark.asyncio
async def test_a_failing_metrics_source_is_a_500_and_the_server_keeps_answering():
    def broken() -> str:
        raise RuntimeError("boom")

    async with serve_metrics("127.0.0.1", 0, metrics=broken, health=lambda: (False, {"status": "degraded"})) as (
        host, port,
    ), httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=5) as http:
        assert (await http.get("/metrics")).status_code == 500
        health = await http.get("/health")
        assert health.status_code == 503 and health.json() == {"status": "degraded"}
