"""The plan scheduler as a job: generates due orders on a schedule, each run in a transaction of its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from psycopg_pool import AsyncConnectionPool

from service_core.plans.flows import SCHEDULER_ACTOR, RunResult, run

log = logging.getLogger(__name__)


async def run_once(
    pool: AsyncConnectionPool, *, now: datetime | None = None, actor: str = SCHEDULER_ACTOR
) -> RunResult:
    """One scheduler run, committed."""
    async with pool.connection() as conn, conn.transaction():
        return await run(conn, now=now or datetime.now(UTC), actor=actor)


async def run_plan_job(
    pool: AsyncConnectionPool,
    *,
    stop: asyncio.Event,
    every_s: float = 60.0,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Run the scheduler every ``every_s`` seconds until ``stop`` is set; a failed run is logged and the next one
    tries again.

    Several may run at once (one per gateway process): each occurrence is recorded once, by the database's
    unique key, so each opens one order.
    """
    while not stop.is_set():
        try:
            result = await run_once(pool, now=clock())
            if result.generated or result.missed or result.failed:
                log.info(
                    "plans: %d generated, %d missed, %d failed",
                    len(result.generated), len(result.missed), len(result.failed),
                )
        except Exception:  # the job outlives a lost database or a bad row; the next run tries again
            log.exception("maintenance plan run failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every_s)
