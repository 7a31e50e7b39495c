"""The gateway worker: subscribe, batch, validate, write, acknowledge.

A worker keeps no state that matters: the broker holds unacknowledged messages
(persistent session, QoS 1) and PostgreSQL holds everything else, so several
workers can share one MQTT v5 shared subscription and any of them can die.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import aiomqtt
import psycopg
from psycopg_pool import AsyncConnectionPool

from gateway.errors import SpoolCorrupt
from gateway.ingest import Triage
from gateway.mqtt import BrokerAddress, Delivery, Inbox, acknowledge, persistent_client
from gateway.payloads import Limits
from gateway.spool import Spool
from gateway.stats import IngestStats
from gateway.storing import BatchStore
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
    storers: int = 2  # batches stored at once, each in its own transaction; acknowledged in the order received
    spool_dir: Path | None = None  # where batches wait while PostgreSQL is away; None: no spool (the broker holds them)
    spool_max_bytes: int = 512 * 1024 * 1024
    connect_timeout_s: float = 2.0  # waiting longer for a database connection than this counts as the database away
    stale_check_s: float = 5.0
    missed_intervals: float = 5.0
    limits: Limits = field(default_factory=Limits)


T = TypeVar("T")
_STOPPED = object()  # what a retried step returns when the worker stops before it could be done


@dataclass(frozen=True, slots=True)
class _Received:
    """A received batch on its way through the pipeline."""

    number: int  # its place in the order of receipt, which acknowledgements keep
    batch: list[Delivery]
    received_at: datetime
    started: float  # perf_counter when it was received
    result: Triage | None  # None when it could not be validated: the database was away
    rows: int = 0  # readings written, once stored


class _InTurn:
    """Lets batches committed in any order through one at a time, in the order they were received."""

    def __init__(self) -> None:
        self._next = 0
        self._abandoned = False
        self._waiting: dict[int, asyncio.Future[None]] = {}

    async def wait(self, number: int) -> bool:
        """True in the batch's turn; False if an earlier batch was abandoned (stopping), so this one must be too."""
        if number != self._next and not self._abandoned:
            self._waiting[number] = asyncio.get_running_loop().create_future()
            await self._waiting[number]
        return not self._abandoned

    def done(self, number: int) -> None:
        self._next = number + 1
        if (waiting := self._waiting.pop(self._next, None)) is not None and not waiting.done():
            waiting.set_result(None)

    def abandon(self) -> None:
        self._abandoned = True
        for waiting in self._waiting.values():
            if not waiting.done():
                waiting.set_result(None)
        self._waiting.clear()


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
        self._batches = BatchStore(pool, scheme=self._scheme, limits=config.limits,
                                   connect_timeout_s=config.connect_timeout_s, stats=self.stats)
        self._spool = Spool(config.spool_dir, max_bytes=config.spool_max_bytes) if config.spool_dir else None
        self.stats.spool = self._spool
        # the live pipeline and the spool's replay both pass batches on; processors see one at a time
        self._passing = asyncio.Lock()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set, reconnecting with backoff when the broker goes away."""
        stale = asyncio.create_task(self._watch_staleness(stop))
        replay = asyncio.create_task(self._replay(stop)) if self._spool is not None else None
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
            if replay is not None:
                replay.cancel()

    async def _session(self, stop: asyncio.Event) -> None:
        """A pipeline: receive and validate each batch while those before it are stored, ``storers`` at a time,
        each in its own transaction; acknowledge them in the order received once committed (or spooled); hand their
        samples on in that order. The queues between the stages hold one batch each: a slow database stops the
        receiver, which stops acknowledging, and the broker stops sending at the session's Receive Maximum."""
        cfg = self.config
        client = persistent_client(cfg.broker, client_id=cfg.client_id, mqtt5=cfg.mqtt5)
        inbox = Inbox(client)
        async with client:
            await client.subscribe(self._scheme.subscription(cfg.shared_group), qos=1)
            self.stats.connected = True
            log.info("gateway %s subscribed to %s on %s", cfg.client_id, self._scheme.subscription(cfg.shared_group),
                     cfg.broker)
            self.stats.queued = functools.partial(len, inbox)
            handed: asyncio.Queue[_Received | None] = asyncio.Queue(maxsize=1)
            committed: asyncio.Queue[_Received | None] = asyncio.Queue(maxsize=1)
            turn = _InTurn()
            stages = {asyncio.create_task(self._store_batches(client, handed, committed, turn, stop))
                      for _ in range(cfg.storers)}
            passer = asyncio.create_task(self._pass_on_in_order(committed))
            try:
                await self._receive(inbox, handed, stages | {passer}, stop)
                # stopping, or a stage gave up: each storer finishes what it holds (unacknowledged if it cannot)
                for _ in stages:
                    closing = asyncio.ensure_future(handed.put(None))
                    await asyncio.wait({closing, *stages}, return_when=asyncio.FIRST_COMPLETED)
                    closing.cancel()
                for stage in stages:
                    await stage
                await committed.put(None)
                await passer
            except BaseException:
                for task in (*stages, passer):  # their batches are not acknowledged: the broker delivers them again
                    task.cancel()
                raise
            finally:
                self.stats.connected, self.stats.queued, self.stats.in_flight = False, None, 0

    async def _receive(
        self, inbox: Inbox, handed: asyncio.Queue, stages: set[asyncio.Task], stop: asyncio.Event
    ) -> None:
        """Batch, validate and hand on what arrives, until stopping or a later stage ends."""
        stopping = asyncio.create_task(stop.wait())
        try:
            for number in itertools.count():
                arrived = asyncio.ensure_future(inbox.wait())
                done, _ = await asyncio.wait({arrived, stopping, *stages}, return_when=asyncio.FIRST_COMPLETED)
                if arrived not in done:
                    arrived.cancel()
                    return
                arrived.result()  # raises if the connection was lost
                started, received_at = time.perf_counter(), datetime.now(UTC)
                batch = await self._fill(inbox)
                self.stats.in_flight += len(batch)
                if self._spool is None:
                    # validation reads the registry of sites from PostgreSQL, so it waits out an outage too
                    result = await self._until_stored(functools.partial(self._batches.triage, batch), len(batch), stop)
                    if result is _STOPPED:
                        return
                else:
                    result = await self._triage_unless_away(batch)
                put = asyncio.ensure_future(handed.put(_Received(number, batch, received_at, started, result)))
                done, _ = await asyncio.wait({put, *stages}, return_when=asyncio.FIRST_COMPLETED)
                if put not in done:
                    put.cancel()
                    return
        finally:
            stopping.cancel()

    async def _store_batches(
        self, client: aiomqtt.Client, handed: asyncio.Queue, committed: asyncio.Queue, turn: _InTurn,
        stop: asyncio.Event,
    ) -> None:
        """Store (or spool) each batch handed over; then, in its turn, acknowledge it and pass it on."""
        while (item := await handed.get()) is not None:
            kept = await self._keep(item, stop)
            if kept is _STOPPED:
                turn.abandon()  # stopping: unacknowledged, so the broker delivers the batch (and those after) again
                return
            if not await turn.wait(item.number):
                return
            if kept is not None:
                await self._batches.mark_devices(kept.result)
            acknowledge(client, item.batch)
            self.stats.in_flight -= len(item.batch)
            if kept is not None:
                await committed.put(kept)
            turn.done(item.number)

    async def _keep(self, item: _Received, stop: asyncio.Event) -> _Received | None | object:
        """Commit the batch, or spool it while the database is away (and until the spool is empty, so that batches
        are stored in the order received). The batch as committed, None if spooled, ``_STOPPED`` if stopping first."""
        spool = self._spool
        if spool is not None and (item.result is None or len(spool)) and await self._spooled(item):
            return None
        if item.result is not None:
            try:
                result, rows = await self._batches.store(item.batch, item.result, item.received_at)
                return dataclasses.replace(item, result=result, rows=rows)
            except psycopg.OperationalError as exc:
                self._batches.database_away(exc, len(item.batch))
                if spool is not None and await self._spooled(item):
                    return None
        # no spool, or it is full: hold the batch unacknowledged until the database is back
        stored = await self._until_stored(functools.partial(self._triage_and_store, item), len(item.batch), stop)
        return _STOPPED if stored is _STOPPED else stored

    async def _spooled(self, item: _Received) -> bool:
        added = await asyncio.to_thread(self._spool.add, item.batch, item.received_at)
        if added:
            self.stats.spooled += len(item.batch)
        return added

    async def _triage_unless_away(self, batch: list[Delivery]) -> Triage | None:
        try:
            return await self._batches.triage(batch)
        except psycopg.OperationalError as exc:
            self._batches.database_away(exc, len(batch))
            return None

    async def _triage_and_store(self, item: _Received) -> _Received:
        result = item.result or await self._batches.triage(item.batch, now=item.received_at)
        result, rows = await self._batches.store(item.batch, result, item.received_at)
        return dataclasses.replace(item, result=result, rows=rows)

    async def _pass_on_in_order(self, committed: asyncio.Queue) -> None:
        while (item := await committed.get()) is not None:
            await self._pass_on(len(item.batch), item.result, item.rows, item.started)

    async def _replay(self, stop: asyncio.Event) -> None:
        """Store what the spool holds, oldest first, whenever the database is there; then pass it on."""
        spool = self._spool
        while not stop.is_set():
            try:
                spooled = await asyncio.to_thread(spool.oldest)
            except SpoolCorrupt as exc:
                log.error("%s; moved to %s", exc, spool.set_aside(exc.path))
                continue
            if spooled is None:
                await _pause(stop, 0.2)
                continue
            started = time.perf_counter()
            try:
                result = await self._batches.triage(spooled.deliveries, now=spooled.received_at)
                result, rows = await self._batches.store(spooled.deliveries, result, spooled.received_at)
                await self._batches.mark_devices(result)
            except psycopg.OperationalError as exc:
                self._batches.database_away(exc, len(spooled.deliveries))
                await _pause(stop, 1.0)
                continue
            await asyncio.to_thread(spool.remove, spooled)
            self.stats.replayed += len(spooled.deliveries)
            await self._pass_on(len(spooled.deliveries), result, rows, started)

    async def _until_stored(self, attempt: Callable[[], Awaitable[T]], size: int, stop: asyncio.Event) -> T | object:
        """``attempt``'s result, retried while PostgreSQL is unreachable (the batch stays unacknowledged meanwhile);
        ``_STOPPED`` when stopping first."""
        backoff = 0.5
        while True:
            try:
                return await attempt()
            except psycopg.OperationalError as exc:
                self._batches.database_away(exc, size)
                log.info("retrying the batch of %d in %.1fs", size, backoff)
                try:
                    await asyncio.wait_for(stop.wait(), backoff)
                    return _STOPPED
                except TimeoutError:
                    backoff = min(backoff * 2, 10.0)

    async def _fill(self, inbox: Inbox) -> list[Delivery]:
        """What is in, and what comes in within ``batch_wait_s``, up to ``batch_max``."""
        deadline = time.monotonic() + self.config.batch_wait_s
        batch = inbox.take(self.config.batch_max)
        while len(batch) < self.config.batch_max:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await asyncio.sleep(min(remaining, 0.005))
            batch.extend(inbox.take(self.config.batch_max - len(batch)))
        return batch

    async def handle(self, batch: Sequence[Delivery]) -> Triage:
        """Validate and store one batch, then pass its samples on."""
        started = time.perf_counter()
        result = await self._batches.triage(batch)
        result, rows = await self._batches.store(batch, result, datetime.now(UTC))
        await self._batches.mark_devices(result)
        await self._pass_on(len(batch), result, rows, started)
        return result

    async def _process(self, result: Triage) -> None:
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

    async def _pass_on(self, size: int, result: Triage, rows: int, started: float) -> None:
        """The committed batch's samples to the processors (the detector), its faults to theirs; then count it."""
        async with self._passing:
            await self._process(result)
        stats = self.stats
        stats.messages += size
        stats.samples += len(result.samples)
        stats.faults += len(result.faults)
        stats.rows_written += rows
        stats.dead_letters += len(result.dead_letters)
        stats.batches += 1
        stats.observe_batch(time.perf_counter() - started)
        for letter in result.dead_letters:
            log.info("dead letter on %s: %s", letter.topic, letter.reason)

    async def _watch_staleness(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.config.stale_check_s)
                return
            except TimeoutError:
                pass
            try:
                async with self._pool.connection(timeout=self.config.connect_timeout_s) as conn:
                    stale = await telemetry_store.mark_stale(
                        conn, now=datetime.now(UTC), missed_intervals=self.config.missed_intervals
                    )
                if stale:
                    log.info("devices gone silent: %s", ", ".join(stale))
            except Exception:
                log.exception("staleness check failed")


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
