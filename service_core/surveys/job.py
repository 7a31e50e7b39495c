"""The survey job: opens a survey for each completed order, queues reminders, and sends what is due.

Sending happens outside any database transaction: a message is claimed (leased) and committed, sent,
and its result recorded in a transaction of its own. A failed send stays queued with its error and is
retried later; a sender that dies mid-way leaves a lease that expires, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from psycopg_pool import AsyncConnectionPool

from service_core.audit import act_as
from service_core.surveys import flows, rules, service
from service_core.surveys.channels import Channel, SendFailed, compose

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SurveyRun:
    """What one run did."""

    opened: int = 0
    unsendable: int = 0
    reminders: int = 0
    sent: int = 0
    failed: int = 0

    def __bool__(self) -> bool:
        return any((self.opened, self.unsendable, self.reminders, self.sent, self.failed))


async def run_once(
    pool: AsyncConnectionPool, *, channels: Mapping[str, Channel], public_url: str, now: datetime | None = None
) -> SurveyRun:
    """Open surveys and queue reminders (one transaction), then send every due message."""
    now = now or datetime.now(UTC)
    async with pool.connection() as conn, conn.transaction():
        opened = await flows.open_surveys(conn, now=now, channels=channels.keys())
        reminders = await flows.queue_reminders(conn, now=now)
    sent, failed = await send_due(pool, channels=channels, public_url=public_url, now=now)
    unsendable = sum(s.unsendable_reason is not None for s in opened)
    return SurveyRun(opened=len(opened) - unsendable, unsendable=unsendable, reminders=reminders, sent=sent,
                     failed=failed)


async def send_due(
    pool: AsyncConnectionPool, *, channels: Mapping[str, Channel], public_url: str, now: datetime
) -> tuple[int, int]:
    """Claim the due messages, send each, record each result; returns (sent, failed)."""
    async with pool.connection() as conn, conn.transaction():
        claimed = await service.claim_due(conn, now=now)
    sent = failed = 0
    for message in claimed:
        error = None
        try:
            channel = channels.get(message.channel)
            if channel is None:
                raise SendFailed(f"no {message.channel} channel is configured")
            await channel.send(compose(message, public_url=public_url))
        except SendFailed as exc:
            error = exc.detail
        except Exception as exc:  # a channel's bug must not lose the message: keep it queued with the error
            log.exception("survey message %s: unexpected error from the %s channel", message.id, message.channel)
            error = f"{type(exc).__name__}: {exc}"
        async with pool.connection() as conn, conn.transaction():
            await act_as(conn, flows.JOB_ACTOR)
            if error is None:
                await service.mark_sent(conn, message=message, at=now)
                sent += 1
            else:
                log.warning("survey %s %s via %s failed (attempt %s): %s", message.survey_id, message.kind,
                            message.channel, message.attempts, error)
                await service.mark_failed(conn, message_id=message.id, error=error,
                                          retry_at=now + rules.retry_after(message.attempts))
                failed += 1
    return sent, failed


async def run_survey_job(
    pool: AsyncConnectionPool,
    *,
    stop: asyncio.Event,
    every_s: float = 30.0,
    channels: Mapping[str, Channel],
    public_url: str,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Run every ``every_s`` seconds until ``stop`` is set; a failed run is logged and the next one tries again.

    Several may run at once: the unique survey per order and the skipped locks of claimed messages keep
    each order to one survey and each message to one sender.
    """
    while not stop.is_set():
        try:
            result = await run_once(pool, channels=channels, public_url=public_url, now=clock())
            if result:
                log.info("surveys: %s", result)
        except Exception:  # the job outlives a lost database or a bad row; the next run tries again
            log.exception("survey run failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every_s)
