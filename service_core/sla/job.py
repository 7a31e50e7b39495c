"""The escalation job: evaluates every open order's SLA on a schedule, each run in a transaction of its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from psycopg_pool import AsyncConnectionPool

from service_core.sla.flows import Evaluation, evaluate

log = logging.getLogger(__name__)


async def run_once(pool: AsyncConnectionPool, *, now: datetime | None = None) -> Evaluation:
    """One evaluation, committed."""
    async with pool.connection() as conn, conn.transaction():
        return await evaluate(conn, now=now or datetime.now(UTC))


async def run_sla_job(
    pool: AsyncConnectionPool,
    *,
    stop: asyncio.Event,
    every_s: float = 30.0,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Evaluate every ``every_s`` seconds until ``stop`` is set; a failed run is logged and the next one tries again.

    Several of these may run at once (one per gateway process): the database lets each warning and each
    rule's firing for an order happen once.
    """
    while not stop.is_set():
        try:
            result = await run_once(pool, now=clock())
            if result.warnings or result.breaches or result.firings:
                log.info("sla: %s", result)
        except Exception:  # the job outlives a lost database or a bad row; the next run tries again
            log.exception("sla evaluation failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every_s)
