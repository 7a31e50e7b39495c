from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
from psycopg_pool import AsyncConnectionPool

from gateway.mqtt import BrokerAddress
from gateway.worker import Gateway, GatewayConfig
from telemetry import store


@pytest_asyncio.fixture
async def pool(db_url: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = AsyncConnectionPool(db_url, min_size=1, max_size=4, open=False)
    await pool.open()
    yield pool
    await pool.close()


@pytest_asyncio.fixture
async def provisioned(pool: AsyncConnectionPool) -> list[str]:
    """Two pumps on site-1 that may publish."""
    async with pool.connection() as conn:
        for asset in ("pump-001", "pump-002"):
            await store.provision_device(conn, asset_id=asset, site_id="site-1", model="CP-200", expected_interval_s=1)
    return ["pump-001", "pump-002"]


class RunningGateway:
    """A gateway worker running in the test's event loop; restartable with the same client id."""

    def __init__(self, pool: AsyncConnectionPool, config: GatewayConfig, *, fault_processors=()) -> None:
        self.pool = pool
        self.config = config
        self.fault_processors = fault_processors
        self.gateway: Gateway | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self) -> Gateway:
        self._stop = asyncio.Event()
        self.gateway = Gateway(self.config, self.pool, fault_processors=self.fault_processors)
        self._task = asyncio.create_task(self.gateway.run(self._stop))
        for _ in range(200):
            if self.gateway.stats.connected:
                return self.gateway
            await asyncio.sleep(0.025)
        raise TimeoutError("gateway did not connect")

    async def stop(self) -> None:
        self._stop.set()
        if self._task:
            await asyncio.wait_for(self._task, 10)

    async def crash(self) -> None:
        """Stop the worker where it stands, as a dying process would: no batch finished, nothing acknowledged."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def wait_for(self, messages: int, timeout: float = 15.0) -> None:
        for _ in range(int(timeout / 0.05)):
            if self.gateway.stats.messages >= messages:
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(f"gateway handled {self.gateway.stats.messages} of {messages} messages")


@pytest_asyncio.fixture
async def running_gateway(pool, provisioned, mqtt_url: str, mqtt5: bool, topic_root: str) -> AsyncIterator[RunningGateway]:
    config = GatewayConfig(
        broker=BrokerAddress.parse(mqtt_url), client_id=f"gw-{uuid.uuid4().hex[:8]}", topic_root=topic_root,
        batch_wait_s=0.02, mqtt5=mqtt5,
    )
    running = RunningGateway(pool, config)
    await running.start()
    yield running
    await running.stop()
