"""GET /health (does the service reach its database?) and GET /metrics (Prometheus text of this process)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel

from gateway.prometheus import CONTENT_TYPE, counter, gauge
from service_core.deps import PoolDep

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

DATABASE_TIMEOUT_S = 2.0  # a health check answers quickly, even when the pool has no connection to give

# More metrics for /metrics, e.g. the in-process gateway's under ``fleetcare up``: each returns Prometheus text.
MetricsSource = Callable[[], str]


class Health(BaseModel):
    status: str
    database: str


@router.get("/health", response_model=Health,
            responses={503: {"model": Health, "description": "The database cannot be reached; `database` says why"}})
async def get_health(pool: PoolDep):
    """The service is up and reaches its database (a `select 1` through its pool)."""
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_S), pool.connection() as conn:
            await conn.execute("select 1")
    except (psycopg.Error, TimeoutError) as exc:
        reason = _reason(exc)
        log.warning("health check: database unavailable (%s)", reason)
        return JSONResponse(Health(status="degraded", database=reason).model_dump(), status_code=503)
    return Health(status="ok", database="ok")


@router.get("/metrics", response_class=PlainTextResponse)
async def get_metrics(request: Request, pool: PoolDep) -> Response:
    """This process in Prometheus' text format: `fleetcare_up`, the database pool and, where the gateway runs in the
    same process (`fleetcare up`), the gateway's ingest counters."""
    sources: list[MetricsSource] = request.app.state.metrics
    text = gauge("fleetcare_up", "1 while the service answers.", 1) + pool_metrics(pool)
    return Response("".join([text, *(source() for source in sources)]), media_type=CONTENT_TYPE)


def pool_metrics(pool: AsyncConnectionPool) -> str:
    """psycopg_pool's measures of ``pool`` as gauges and its cumulative counts as counters, labelled by its name."""
    stats, labels = pool.get_stats(), {"pool": pool.name}
    return "".join((
        gauge("fleetcare_db_pool_size", "Connections open, in use or idle.", stats.get("pool_size", 0), labels=labels),
        gauge("fleetcare_db_pool_available", "Idle connections ready to use.", stats.get("pool_available", 0),
              labels=labels),
        gauge("fleetcare_db_pool_max", "The most connections the pool opens.", stats.get("pool_max", 0),
              labels=labels),
        gauge("fleetcare_db_requests_waiting", "Requests waiting for a connection.", stats.get("requests_waiting", 0),
              labels=labels),
        counter("fleetcare_db_pool_requests_total", "Connections asked of the pool.", stats.get("requests_num", 0),
                labels=labels),
        counter("fleetcare_db_pool_request_errors_total", "Requests for a connection that failed or timed out.",
                stats.get("requests_errors", 0), labels=labels),
        counter("fleetcare_db_pool_requests_wait_seconds_total", "Time requests spent waiting for a connection.",
                stats.get("requests_wait_ms", 0) / 1000, labels=labels),
        counter("fleetcare_db_pool_connection_errors_total", "Failed attempts to open a connection.",
                stats.get("connections_errors", 0), labels=labels),
        counter("fleetcare_db_pool_returns_bad_total", "Connections given back broken or mid-transaction, discarded.",
                stats.get("returns_bad", 0), labels=labels),
    ))


def _reason(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    if not lines and isinstance(exc, TimeoutError):
        return f"no answer within {DATABASE_TIMEOUT_S:g} s"
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:200]
