"""What the gateway worker does with a batch in PostgreSQL: validate it against the registry of devices, store it
(readings, device faults, dead letters), and record what it says about its devices."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import psycopg
from psycopg_pool import AsyncConnectionPool

from gateway.ingest import Triage, triage
from gateway.mqtt import Delivery
from gateway.payloads import Limits
from gateway.registry import DeviceRegistry
from gateway.stats import IngestStats
from gateway.store import DeadLetter, add_dead_letters
from gateway.topics import TopicScheme
from telemetry import store as telemetry_store

log = logging.getLogger(__name__)


class BatchStore:
    """Every step touching the database; a failure to reach it is ``psycopg.OperationalError``, and sets the
    health report's reason (``stats.store_error``) until a batch is stored again."""

    def __init__(
        self, pool: AsyncConnectionPool, *, scheme: TopicScheme, limits: Limits, connect_timeout_s: float,
        stats: IngestStats,
    ) -> None:
        self._pool = pool
        self._scheme = scheme
        self._limits = limits
        self._connect_timeout_s = connect_timeout_s
        self._stats = stats
        self._registry = DeviceRegistry(self._load_sites)

    async def triage(self, batch: Sequence[Delivery], *, now: datetime | None = None) -> Triage:
        """Sort the batch (``gateway.ingest.triage``) once the registry is fresh enough to judge its assets."""
        await self._registry.prepare({_asset_of(d.topic) for d in batch})
        return triage(batch, scheme=self._scheme, site_of=self._registry.site_of, now=now or datetime.now(UTC),
                      limits=self._limits)

    async def store(self, batch: Sequence[Delivery], result: Triage, received_at: datetime) -> tuple[Triage, int]:
        """Write the batch in one transaction; if the database refuses it (a constraint, a value out of its range:
        not the database being away), write its messages one by one and dead-letter those it refuses, with its
        reason, so that one such message neither stops the worker nor comes back for ever. What was stored (and
        dead-lettered), and the readings written."""
        try:
            return result, await self.write(result)
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            log.warning("the database refused a batch of %d (%s); storing its messages one by one", len(batch),
                        reason(exc))
        stored, rows = Triage(), 0
        for delivery in batch:
            one = await self.triage([delivery], now=received_at)
            try:
                rows += await self.write(one)
            except psycopg.OperationalError:
                raise
            except psycopg.Error as exc:
                refused = f"refused by the database: {reason(exc)}"
                one = Triage(dead_letters=[DeadLetter(delivery.topic, delivery.payload, refused, received_at)])
                await self.write(one)
            stored.samples += one.samples
            stored.statuses += one.statuses
            stored.faults += one.faults
            stored.dead_letters += one.dead_letters
        return stored, rows

    async def write(self, result: Triage) -> int:
        """What the batch holds, in one transaction: readings, faults and dead letters. Batches are stored this
        way several at a time; what they say about the devices follows, in order (:meth:`mark_devices`)."""
        async with self._pool.connection(timeout=self._connect_timeout_s) as conn, conn.transaction():
            rows = await telemetry_store.write_samples(conn, result.samples) if result.samples else 0
            await telemetry_store.write_faults(conn, result.faults)
            await add_dead_letters(conn, result.dead_letters)
        self._stats.store_error = None
        return rows

    async def mark_devices(self, result: Triage) -> None:
        """The devices that sent data are online, with their newest sequence number; the status changes. In a
        transaction of its own, after the batch's and in the order batches were received: batches stored at once
        update the same devices' rows, and would wait for (or deadlock on) each other's row locks otherwise. If the
        database is away by now, the next batch from each device brings it up to date."""
        if not result.samples and not result.statuses:
            return
        try:
            async with self._pool.connection(timeout=self._connect_timeout_s) as conn, conn.transaction():
                await telemetry_store.record_seen(conn, result.seen())
                for change in result.statuses:
                    await telemetry_store.set_connection(
                        conn, asset_id=change.asset_id, connection=change.connection, at=change.at
                    )
        except psycopg.OperationalError as exc:
            self.database_away(exc, len(result.samples) + len(result.statuses))

    def database_away(self, exc: Exception, size: int) -> None:
        self._stats.store_error = reason(exc)
        log.warning("database unavailable (%s) for a batch of %d", exc, size)

    async def _load_sites(self) -> dict[str, str]:
        async with self._pool.connection(timeout=self._connect_timeout_s) as conn:
            return {d.asset_id: d.site_id for d in await telemetry_store.get_devices(conn) if d.provisioned}


def reason(exc: Exception) -> str:
    """The first line of an error, short enough for a health report."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:200]


def _asset_of(topic: str) -> str:
    parts = topic.rsplit("/", 2)
    return parts[-2] if len(parts) == 3 else ""
