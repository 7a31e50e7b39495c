"""Publishes the notification outbox to MQTT at QoS 1.

A row is marked sent only after the broker acknowledged it, so a crash in between publishes it again
(at least once; the payload's ``notification_id`` lets a receiver drop duplicates). Several publishers
may run at once: ``for update skip locked`` gives each row to one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

import aiomqtt
import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from gateway.mqtt import BrokerAddress
from service_core.notifications import service

log = logging.getLogger(__name__)


async def publish_pending(pool: AsyncConnectionPool, client: aiomqtt.Client, *, limit: int = 100) -> int:
    """Publish up to ``limit`` unsent notifications and mark them sent; returns how many went out.

    When the broker fails mid-batch the ones already acknowledged are still marked sent, then the
    MQTT error is raised.
    """
    failure: aiomqtt.MqttError | None = None
    sent: list[int] = []
    async with pool.connection() as conn:
        async with conn.transaction():
            for notification in await service.claim_unsent(conn, limit=limit):
                payload = service.json_dumps({"notification_id": notification.id, **notification.payload})
                try:
                    await client.publish(notification.topic, payload=payload, qos=1)
                except aiomqtt.MqttError as exc:
                    failure = exc
                    break
                sent.append(notification.id)
            await service.mark_sent(conn, notification_ids=sent)
    if failure is not None:
        raise failure
    return len(sent)


async def _wait_for_work(listener: psycopg.AsyncConnection, *, timeout: float) -> None:
    """Return on the next NOTIFY from the outbox trigger, or after ``timeout`` seconds."""
    async with contextlib.aclosing(listener.notifies(timeout=timeout, stop_after=1)) as notifies:
        async for _ in notifies:
            pass


async def _sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def run_publisher(
    pool: AsyncConnectionPool,
    *,
    broker: BrokerAddress,
    stop: asyncio.Event,
    client_id: str | None = None,
    poll_interval: float = 1.0,
    batch_size: int = 100,
    max_backoff: float = 30.0,
) -> None:
    """Publish unsent notifications until ``stop`` is set, waking on NOTIFY or every ``poll_interval`` seconds.

    Losing the broker or the database is logged and retried with exponential backoff.
    """
    client_id = client_id or f"fleetcare-notifications-{os.getpid()}"
    listener_kwargs = {**(pool.kwargs or {}), "autocommit": True}
    backoff = 0.5
    while not stop.is_set():
        try:
            async with (
                aiomqtt.Client(
                    broker.host, broker.port, username=broker.username, password=broker.password,
                    identifier=client_id,
                ) as client,
                await psycopg.AsyncConnection.connect(pool.conninfo, **listener_kwargs) as listener,
            ):
                await listener.execute("listen service_notifications")  # service.CHANNEL
                log.info("publishing notifications to %s as %s", broker, client_id)
                backoff = 0.5
                while not stop.is_set():
                    while await publish_pending(pool, client, limit=batch_size) == batch_size:
                        pass
                    await _wait_for_work(listener, timeout=poll_interval)
        except (aiomqtt.MqttError, psycopg.OperationalError, PoolTimeout) as exc:
            log.warning("notification publisher lost its connection (%s); retrying in %.1f s", exc, backoff)
            await _sleep_unless_stopped(stop, backoff)
            backoff = min(backoff * 2, max_backoff)
