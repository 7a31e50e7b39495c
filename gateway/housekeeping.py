"""The gateway's periodic jobs on its own tables.

Every rejected message is kept with its reason, so a device (or an attacker) sending rubbish at full rate
would grow ``gateway.dead_letters`` without bound; the dead-letter job keeps it to the newest rows and a
recent window, which is what anyone reading dead letters looks at.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from psycopg_pool import AsyncConnectionPool

from gateway.store import prune_dead_letters

log = logging.getLogger(__name__)


async def run_dead_letter_job(
    pool: AsyncConnectionPool,
    *,
    keep_rows: int,
    keep_for: timedelta | None,
    stop: asyncio.Event,
    every_s: float = 300.0,
) -> None:
    """Every ``every_s`` seconds until ``stop`` is set, delete the dead letters beyond the newest ``keep_rows``
    and those older than ``keep_for`` (``None``: no age limit). A failed run is logged and the next one tries
    again. Several workers may run it: a deletion is idempotent."""
    if keep_rows < 0:
        raise ValueError(f"keep_rows must be 0 or more, got {keep_rows!r}")
    if keep_for is not None and keep_for <= timedelta(0):
        raise ValueError(f"keep_for must be a positive duration or None, got {keep_for!r}")
    if every_s <= 0:
        raise ValueError(f"every_s must be positive, got {every_s!r}")
    while not stop.is_set():
        try:
            async with pool.connection() as conn, conn.transaction():
                deleted = await prune_dead_letters(conn, keep_rows=keep_rows, keep_for=keep_for, now=datetime.now(UTC))
            if deleted:
                log.info("dead letters: deleted %d beyond the newest %d or older than %s", deleted, keep_rows, keep_for)
        except Exception:  # the job outlives a lost database; the next run tries again
            log.exception("dead-letter retention failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
