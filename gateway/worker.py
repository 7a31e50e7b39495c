"""The gateway worker: subscribe, batch, validate, write, acknowledge.

A worker keeps no state that matters: the broker holds unacknowledged messages
(persistent session, QoS 1) and PostgreSQL holds everything else, so several
workers can share one MQTT v5 shared subscription and any of them can die.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import aiomqtt
import psycopg
from psycopg_pool import AsyncConnectionPool

from gateway import store as dead_letter_store
from gateway.ingest import Triage, triage
from gateway.mqtt import BrokerAddress, Delivery, acknowledge, delivery, persistent_client
from gateway.payloads import Limits
from gateway.registry import DeviceRegistry
from gateway.stats import IngestStats
from gateway.topics import TopicScheme
from telemetry import store as telemetry_store
from telemetry.readings import DeviceFault, Sample

log = logging.getLogger(__name__)

SampleProcessor = Callable[[list[Sample]], Awaitable[None]]
FaultProcessor = Callable[[list[DeviceFault]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    broker: BrokerAddress
    client_id: str = "fleetcare-gateway"
    topic_root: str = "fleet"
    shared_group: str | None = None  # MQTT v5 shared subscription: workers in one group split the load
    mqtt5: bool = True
    batch_max: int = 2000
    batch_wait_s: float = 0.05
    stale_check_s: float = 5.0
    missed_intervals: float = 5.0
    limits: Limits = field(default_factory=Limits)


T = TypeVar("T")
_STOPPED = object()  # what a retried step returns when the worker stops before it could be done


@dataclass(frozen=True, slots=True)
class _Validated:
    """A received batch, triaged, waiting to be stored."""

    batch: list[Delivery]
    result: Triage
    started: float  # perf_counter when it was received


class Gateway:
    """One worker. ``processors`` see the samples of each committed batch (e.g. the detector);
    ``fault_processors`` its device faults, a redelivered one included (they must be idempotent)."""

    def __init__(
        self,
        config: GatewayConfig,
        pool: AsyncConnectionPool,
        *,
        processors: Sequence[SampleProcessor] = (),
        fault_processors: Sequence[FaultProcessor] = (),
    ) -> None:
        self.config = config
        self.stats = IngestStats()
        self._pool = pool
        self._processors = list(processors)
        self._fault_processors = list(fault_processors)
        self._scheme = TopicScheme(config.topic_root)
        self._registry = DeviceRegistry(self._load_sites)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set, reconnecting with backoff when the broker goes away."""
        stale = asyncio.create_task(self._watch_staleness(stop))
        backoff = 0.5
        try:
            while not stop.is_set():
                try:
                    await self._session(stop)
                    backoff = 0.5
                except aiomqtt.MqttError as exc:
                    self.stats.connected = False
                    self.stats.reconnects += 1
                    log.warning("broker %s unavailable (%s); retrying in %.1fs", self.config.broker, exc, backoff)
                    try:
                        await asyncio.wait_for(stop.wait(), backoff)
                    except TimeoutError:
                        pass
                    backoff = min(backoff * 2, 10.0)
        finally:
            stale.cancel()

    async def _session(self, stop: asyncio.Event) -> None:
        """Receive and validate batches while the one before is being stored: a pipeline of two stages joined
        by a queue of one batch, so the database's round trips overlap the next batch's parsing. The queue's
        bound is the backpressure: a slow database stops the receiver, which stops acknowledging, and the broker
        stops sending at the session's Receive Maximum."""
        cfg = self.config
        async with persistent_client(cfg.broker, client_id=cfg.client_id, mqtt5=cfg.mqtt5) as client:
            await client.subscribe(self._scheme.subscription(cfg.shared_group), qos=1)
            self.stats.connected = True
            log.info("gateway %s subscribed to %s on %s", cfg.client_id, self._scheme.subscription(cfg.shared_group),
                     cfg.broker)
            messages = client.messages
            self.stats.queued = functools.partial(len, messages)
            stopping = asyncio.create_task(stop.wait())
            handed: asyncio.Queue[_Validated | None] = asyncio.Queue(maxsize=1)
            storer = asyncio.create_task(self._store_in_order(client, handed, stop))
            try:
                while True:
                    first = asyncio.ensure_future(anext(messages))
                    done, _ = await asyncio.wait({first, stopping, storer}, return_when=asyncio.FIRST_COMPLETED)
                    if first not in done:
                        first.cancel()
                        break
                    started = time.perf_counter()
                    batch = [delivery(first.result())]
                    await self._fill(messages, batch)
                    self.stats.in_flight += len(batch)
                    # validation reads the registry of sites from PostgreSQL, so it waits out an outage too
                    result = await self._until_stored(functools.partial(self._triage, batch), len(batch), stop)
                    if result is _STOPPED:
                        break
                    put = asyncio.ensure_future(handed.put(_Validated(batch, result, started)))
                    done, _ = await asyncio.wait({put, storer}, return_when=asyncio.FIRST_COMPLETED)
                    if put not in done:
                        put.cancel()
                        break
                # stopping, or the storer gave up: it finishes what it holds (unacknowledged if it cannot)
                if not storer.done():
                    closing = asyncio.ensure_future(handed.put(None))
                    await asyncio.wait({closing, storer}, return_when=asyncio.FIRST_COMPLETED)
                    closing.cancel()
                await storer
            except BaseException:
                storer.cancel()  # its batch is not acknowledged: the broker delivers it again
                raise
            finally:
                stopping.cancel()
                self.stats.connected, self.stats.queued, self.stats.in_flight = False, None, 0

    async def _store_in_order(self, client: aiomqtt.Client, handed: asyncio.Queue, stop: asyncio.Event) -> None:
        """Store each validated batch, acknowledge it once committed, then pass its samples on."""
        while (item := await handed.get()) is not None:
            store = functools.partial(self._store, item.batch, item.result, item.started)
            if await self._until_stored(store, len(item.batch), stop) is _STOPPED:
                return  # stopping: unacknowledged, so the broker delivers the batch again
            acknowledge(client, item.batch)
            self.stats.in_flight -= len(item.batch)
            await self._pass_on(item.result, item.started)

    async def _until_stored(self, attempt: Callable[[], Awaitable[T]], size: int, stop: asyncio.Event) -> T | object:
        """``attempt``'s result, retried while PostgreSQL is unreachable (the batch stays unacknowledged meanwhile);
        ``_STOPPED`` when stopping first."""
        backoff = 0.5
        while True:
            try:
                return await attempt()
            except psycopg.OperationalError as exc:
                self.stats.store_error = _reason(exc)
                log.warning("database unavailable (%s); retrying batch of %d in %.1fs", exc, size, backoff)
                try:
                    await asyncio.wait_for(stop.wait(), backoff)
                    return _STOPPED
                except TimeoutError:
                    backoff = min(backoff * 2, 10.0)

    async def _fill(self, messages: aiomqtt.client.MessagesIterator, batch: list[Delivery]) -> None:
        """Gather what is already queued, waiting at most ``batch_wait_s`` for more."""
        deadline = time.monotonic() + self.config.batch_wait_s
        while len(batch) < self.config.batch_max:
            queued = len(messages)
            if queued:
                # Only take what is queued: anext() then returns at once and is never cancelled
                # half-way (a cancelled anext() could swallow a message).
                for _ in range(min(queued, self.config.batch_max - len(batch))):
                    batch.append(delivery(await anext(messages)))
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, 0.005))

    async def handle(self, batch: Sequence[Delivery]) -> Triage:
        """Validate and store one batch in one transaction, then pass its samples on."""
        started = time.perf_counter()
        result = await self._triage(batch)
        await self._store(batch, result, started)
        await self._pass_on(result, started)
        return result

    async def _triage(self, batch: Sequence[Delivery]) -> Triage:
        await self._registry.prepare({_asset_of(d.topic) for d in batch})
        return triage(batch, scheme=self._scheme, site_of=self._registry.site_of, now=datetime.now(UTC),
                      limits=self.config.limits)

    async def _store(self, batch: Sequence[Delivery], result: Triage, started: float) -> None:
        """Everything the batch holds, in one transaction."""
        async with self._pool.connection() as conn, conn.transaction():
            rows = await telemetry_store.write_samples(conn, result.samples) if result.samples else 0
            await telemetry_store.write_faults(conn, result.faults)
            await dead_letter_store.add_dead_letters(conn, result.dead_letters)
            await telemetry_store.record_seen(conn, result.seen())
            for change in result.statuses:
                await telemetry_store.set_connection(
                    conn, asset_id=change.asset_id, connection=change.connection, at=change.at
                )
        stats = self.stats
        stats.messages += len(batch)
        stats.samples += len(result.samples)
        stats.faults += len(result.faults)
        stats.rows_written += rows
        stats.dead_letters += len(result.dead_letters)
        stats.batches += 1
        stats.last_batch_ms = (time.perf_counter() - started) * 1000
        stats.store_error = None
        for letter in result.dead_letters:
            log.info("dead letter on %s: %s", letter.topic, letter.reason)

    async def _pass_on(self, result: Triage, started: float) -> None:
        """The committed batch's samples to the processors (the detector), its faults to theirs."""
        if result.samples:
            for process in self._processors:
                try:
                    await process(result.samples)
                except Exception:
                    # the readings are stored; a failing consumer must not stop ingest
                    log.exception("sample processor %r failed", process)
        if result.faults:
            for process_faults in self._fault_processors:
                try:
                    await process_faults(result.faults)
                except Exception:
                    log.exception("fault processor %r failed", process_faults)
        self.stats.observe_batch(time.perf_counter() - started)

    async def _load_sites(self) -> dict[str, str]:
        async with self._pool.connection() as conn:
            return {d.asset_id: d.site_id for d in await telemetry_store.get_devices(conn) if d.provisioned}

    async def _watch_staleness(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.config.stale_check_s)
                return
            except TimeoutError:
                pass
            try:
                async with self._pool.connection() as conn:
                    stale = await telemetry_store.mark_stale(
                        conn, now=datetime.now(UTC), missed_intervals=self.config.missed_intervals
                    )
                if stale:
                    log.info("devices gone silent: %s", ", ".join(stale))
            except Exception:
                log.exception("staleness check failed")


def _reason(exc: Exception) -> str:
    """The first line of an error, short enough for a health report."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:200]


def _asset_of(topic: str) -> str:
    parts = topic.rsplit("/", 2)
    return parts[-2] if len(parts) == 3 else ""
