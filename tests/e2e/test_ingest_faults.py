"""The gateway under faults, against the real broker and database: a killed gateway, a restarted broker, a device
sending its backlog after an outage, and a flood of malformed messages.

Every message is counted by its asset and sequence number: what the broker acknowledged must be stored once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import psycopg
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from psycopg_pool import AsyncConnectionPool

from gateway.mqtt import BrokerAddress
from gateway.store import MAX_KEPT_BYTES
from gateway.worker import Gateway, GatewayConfig, SampleProcessor
from service_core.runtime.demo import provision_fleet
from service_core.runtime.detection import DetectionStage
from simulators.device import timestamp
from simulators.equipment import generate
from simulators.fleet import Fleet, FleetConfig, plan
from telemetry import store as telemetry_store
from tests.e2e import malformed
from tests.e2e.gateway_process import GatewayProcess
from tests.fix_private_broker import private_broker  # noqa: F401 - a fixture
from tests.mqtt_tools import publish

SITE = "site-1"
MODEL = "CP-200"


# --- helpers ---------------------------------------------------------------------------------------------------


async def _provision(db_url: str, assets: Sequence[str]) -> None:
    async with await psycopg.AsyncConnection.connect(db_url) as conn, conn.transaction():
        for asset in assets:
            await telemetry_store.provision_device(conn, asset_id=asset, site_id=SITE, model=MODEL,
                                                   expected_interval_s=1)


def _sequences(db_url: str, metric: str) -> dict[str, list[int]]:
    """Per asset, the sequence numbers of the stored readings of ``metric`` in the order of their timestamps."""
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "select asset_id, seq from telemetry.readings where metric = %(metric)s order by asset_id, ts",
            {"metric": metric},
        ).fetchall()
    out: dict[str, list[int]] = {}
    for asset, seq in rows:
        out.setdefault(asset, []).append(seq)
    return out


def _count(db_url: str, sql: str, **params: object) -> int:
    with psycopg.connect(db_url) as conn:
        return conn.execute(sql, params).fetchone()[0]


def _wait(condition: Callable[[], bool], timeout: float, what: str, poll: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


async def _await(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


def _body(seq: int, at: datetime, metrics: dict[str, float]) -> str:
    return json.dumps({"ts": timestamp(at.timestamp()), "seq": seq, "metrics": metrics}, separators=(",", ":"))


class SequencedStream:
    """A paho publisher streaming QoS 1 samples of a healthy pump to each asset in turn, at ``rate`` messages a
    second in all; each asset's ``seq`` counts from 0 and its ``ts`` is the sample's own instant (a second apart)."""

    def __init__(self, url: str, topics: dict[str, str], *, per_asset: int, rate: float) -> None:
        parts = urlsplit(url)
        self.total = per_asset * len(topics)
        self.sent = 0
        self._rate = rate
        start = datetime.now(UTC) - timedelta(seconds=per_asset + 5)
        series = [(start + timedelta(seconds=t), metrics) for t, metrics in generate(MODEL, per_asset - 1, seed=7)]
        self._messages = [(asset, topic, _body(seq, at, metrics))
                          for seq, (at, metrics) in enumerate(series) for asset, topic in topics.items()]
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"stream-{uuid.uuid4().hex[:8]}")
        self._client.max_inflight_messages_set(100)
        self._client.connect(parts.hostname, parts.port)
        self._client.loop_start()
        self._infos: list[tuple[str, mqtt.MQTTMessageInfo]] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sequenced-stream", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def _run(self) -> None:
        began = time.monotonic()
        for k, (asset, topic, payload) in enumerate(self._messages):
            if self._stopping.is_set():
                return
            delay = began + k / self._rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._infos.append((asset, self._client.publish(topic, payload, qos=1)))
            self.sent += 1

    def acknowledged(self, timeout: float = 30.0) -> dict[str, int]:
        """Once streaming is over: the messages the broker acknowledged, per asset."""
        self._thread.join(timeout)
        deadline = time.monotonic() + timeout
        acked: Counter[str] = Counter()
        for asset, info in self._infos:
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            acked[asset] += info.is_published()
        return dict(acked)

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(10)
        self._client.disconnect()
        self._client.loop_stop()


@contextlib.asynccontextmanager
async def _pool(db_url: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = AsyncConnectionPool(db_url, min_size=1, max_size=4, open=False)
    await pool.open()
    try:
        yield pool
    finally:
        await pool.close()


@contextlib.asynccontextmanager
async def _running_gateway(
    pool: AsyncConnectionPool, mqtt_url: str, topic_root: str, *, mqtt5: bool,
    processors: Sequence[SampleProcessor] = (),
) -> AsyncIterator[tuple[Gateway, asyncio.Task]]:
    """A gateway worker in this event loop, with a client id of its own; stopped afterwards."""
    config = GatewayConfig(broker=BrokerAddress.parse(mqtt_url), client_id=f"gw-{uuid.uuid4().hex[:8]}",
                           topic_root=topic_root, batch_wait_s=0.02, mqtt5=mqtt5)
    gateway = Gateway(config, pool, processors=processors)
    stop = asyncio.Event()
    task = asyncio.create_task(gateway.run(stop))
    try:
        for _ in range(200):
            if gateway.stats.connected or task.done():
                break
            await asyncio.sleep(0.025)
        assert gateway.stats.connected, "the gateway did not connect"
        yield gateway, task
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)


# --- 1. the gateway killed mid-stream ----------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.asyncio
async def test_a_gateway_killed_mid_stream_stores_every_message_once_after_its_restart(
    db_url, private_broker, topic_root, tmp_path  # noqa: F811 - the fixture imported above
):
    assets = [f"pump-{i:03d}" for i in range(1, 5)]
    await _provision(db_url, assets)
    gateway = GatewayProcess(database_url=db_url, mqtt_url=private_broker.url, topic_root=topic_root,
                             client_id=f"gw-{uuid.uuid4().hex[:8]}", directory=tmp_path)
    stream = None
    try:
        await asyncio.to_thread(gateway.start)
        stream = SequencedStream(private_broker.url, {a: f"{topic_root}/{SITE}/{a}/telemetry" for a in assets},
                                 per_asset=1000, rate=1000.0)

        def stored() -> int:
            return _count(db_url, "select count(*) from telemetry.readings where metric = 'flow_m3h'")

        stream.start()
        await _await(lambda: stored() >= stream.total // 5, 20, "a fifth of the stream to be stored")
        gateway.kill()  # SIGKILL: batches received and not committed are not acknowledged either
        killed_group = gateway.groups[-1]
        stored_at_kill, sent_at_kill = stored(), stream.sent
        await asyncio.to_thread(gateway.start)  # the same client id: its persistent session is waiting for it

        assert sent_at_kill < stream.total, "the gateway was killed after the stream had ended"
        assert stored_at_kill < stream.total
        acknowledged = await asyncio.to_thread(stream.acknowledged)
        assert acknowledged == dict.fromkeys(assets, 1000), "the broker did not acknowledge every message"
        await _await(lambda: stored() >= stream.total, 30, "every acknowledged message to be stored")
        await asyncio.sleep(0.5)  # anything delivered twice would be stored by now too

        stored_seqs = await asyncio.to_thread(_sequences, db_url, "flow_m3h")
        for asset in assets:
            seqs = stored_seqs.get(asset, [])
            assert len(seqs) == len(set(seqs)) == acknowledged[asset], f"{asset}: stored {len(seqs)} rows"
            assert seqs == list(range(acknowledged[asset])), f"{asset}: missing {set(range(1000)) - set(seqs)}"
        assert _count(db_url, "select count(*) from gateway.dead_letters") == 0
        # a detector process of the killed gateway reads end-of-file on its pipe, checkpoints and exits
        await _await(lambda: not gateway.survivors([killed_group]), 15, "the killed gateway's detector to exit")
        assert gateway.alive(), gateway.output()
        assert await asyncio.to_thread(gateway.terminate) == 0, gateway.output()
    finally:
        if stream is not None:
            stream.close()
        gateway.close()


# --- 2. the broker restarted -------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_a_broker_restart_loses_nothing_it_acknowledged_and_everyone_reconnects(
    db_url, private_broker, topic_root, tmp_path  # noqa: F811 - the fixture imported above
):
    config = FleetConfig(host="127.0.0.1", port=private_broker.port, topic_root=topic_root, devices=3, rate_hz=25)

    async def provision() -> None:
        async with await psycopg.AsyncConnection.connect(db_url) as conn, conn.transaction():
            await provision_fleet(conn, assets=plan(config))

    asyncio.run(provision())
    gateway = GatewayProcess(database_url=db_url, mqtt_url=private_broker.url, topic_root=topic_root,
                             client_id=f"gw-{uuid.uuid4().hex[:8]}", directory=tmp_path)
    fleet = Fleet(config)
    try:
        gateway.start()
        fleet.start()
        assert fleet.wait_online(5)
        flow = "select count(*) from telemetry.readings where metric = 'vibration_rms_mm_s'"
        _wait(lambda: _count(db_url, flow) >= 60, 10, "readings before the restart")

        assert private_broker.stop() == 0  # SIGTERM: Mosquitto saves its sessions and their queued messages
        _wait(lambda: fleet.online == 0 and not gateway.connected(), 10, "everyone to notice the broker is gone")
        before = sum(fleet.published.values())
        time.sleep(1.5)  # the devices go on sampling into their clients' queues
        assert sum(fleet.published.values()) > before
        private_broker.start()

        assert fleet.wait_online(20), "the devices did not reconnect"
        _wait(gateway.connected, 20, "the gateway to reconnect")
        assert gateway.metric("fleetcare_gateway_reconnects_total") >= 1
        time.sleep(1.0)  # live again
        fleet.stop()
        published = fleet.published

        def all_stored() -> bool:
            stored = _sequences(db_url, "vibration_rms_mm_s")
            return all(len(stored.get(asset, [])) >= n for asset, n in published.items())

        _wait(all_stored, 30, f"the {sum(published.values())} messages published to be stored", poll=0.2)
        stored = _sequences(db_url, "vibration_rms_mm_s")
        for asset, count in published.items():
            lost = sorted(set(range(count)) - set(stored[asset]))
            assert stored[asset] == list(range(count)), f"{asset}: lost {lost}"
        assert _count(db_url, "select count(*) from gateway.dead_letters") == 0
        assert gateway.alive(), gateway.output()
        assert gateway.terminate() == 0, gateway.output()
    finally:
        with contextlib.suppress(Exception):
            fleet.stop()
        gateway.close()


# --- 3. a device's backlog after an outage -----------------------------------------------------------------------

LIVE_S, GAP_S, AFTER_S = 600, 300, 300
# Seed s2's operating point moves from 2,330 to 2,820 rpm during the gap: a detector that saw a hole there
# instead of the backlog would raise an alert on the pump's bearing temperature (see the test below).
BACKLOG_SEED = "s2"


async def _outage(
    db_url: str, mqtt_url: str, topic_root: str, mqtt5: bool, *, backlog_sent: bool
) -> tuple[list[int], int, int]:
    """A healthy pump live for LIVE_S seconds of its own time, then away for GAP_S, then live for AFTER_S; on its
    return it first sends the backlog (``backlog_sent``) or has lost it. The stored sequence numbers in the order
    of their timestamps, the samples the detector scored and the alerts it raised."""
    # provisioned as the demo does, in telemetry and as a service asset: an alert must be able to open an order
    (pump,) = plan(FleetConfig(devices=1, sites=1))
    async with await psycopg.AsyncConnection.connect(db_url) as conn, conn.transaction():
        await provision_fleet(conn, assets=[pump])
    asset = pump.asset_id
    topic = f"{topic_root}/{pump.site_id}/{asset}/telemetry"
    start = datetime.now(UTC) - timedelta(seconds=LIVE_S + GAP_S + AFTER_S + 60)
    series = list(generate(MODEL, LIVE_S + GAP_S + AFTER_S - 1, seed=BACKLOG_SEED))
    messages = [(topic, _body(seq, start + timedelta(seconds=t), metrics)) for seq, (t, metrics) in enumerate(series)]
    live, backlog, after = messages[:LIVE_S], messages[LIVE_S:LIVE_S + GAP_S], messages[LIVE_S + GAP_S:]

    def scored() -> int:
        return _count(db_url, "select count(*) from maintenance.scores where asset_id = %(a)s", a=asset)

    async with _pool(db_url) as pool, _running_gateway(pool, mqtt_url, topic_root, mqtt5=mqtt5,
                                                       processors=[DetectionStage(pool)]) as (gateway, task):
        expected = 0
        for phase in (live, backlog if backlog_sent else [], after):
            await asyncio.to_thread(publish, mqtt_url, phase)
            expected += len(phase)
            await _await(lambda n=expected: gateway.stats.messages >= n, 30, f"{expected} messages to be stored")
            # the detector scores every sample newer than the last it saw: wait until it has caught up
            await _await(lambda n=expected: scored() >= n or task.done(), 10, f"{expected} samples to be scored")
        assert not task.done()
    stored = (await asyncio.to_thread(_sequences, db_url, "flow_m3h"))[asset]
    alerts = _count(db_url, "select count(*) from maintenance.alerts where asset_id = %(a)s", a=asset)
    return stored, scored(), alerts


@pytest.mark.e2e
@pytest.mark.asyncio
async def test_a_backlog_sent_after_an_outage_is_stored_in_order_and_raises_no_alert(
    db_url, mqtt_url, mqtt5, topic_root
):
    stored, scored, alerts = await _outage(db_url, mqtt_url, topic_root, mqtt5, backlog_sent=True)
    total = LIVE_S + GAP_S + AFTER_S
    assert stored == list(range(total)), "stored once each, in the order of their timestamps"
    assert _count(db_url, "select count(*) from telemetry.readings where metric = 'flow_m3h'") == total
    assert scored == total, "the detector saw the backlog in order: a sample behind the newest is not scored"
    assert alerts == 0, "the outage was taken for a fault"


@pytest.mark.e2e
@pytest.mark.asyncio
async def test_a_gap_never_filled_is_not_mistaken_for_a_fault(db_url, mqtt_url, mqtt5, topic_root):
    stored, scored, alerts = await _outage(db_url, mqtt_url, topic_root, mqtt5, backlog_sent=False)
    assert len(stored) == LIVE_S + AFTER_S
    assert alerts == 0, "the gap was taken for a fault"


# --- 4. a flood of malformed messages ----------------------------------------------------------------------------

FLOOD_EXAMPLES = 150


def _collect(strategy: st.SearchStrategy, count: int) -> list:
    """``count`` examples drawn by hypothesis, to be sent in bulk (one round trip per example would be minutes)."""
    found: list = []

    @settings(max_examples=count, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draw(example: object) -> None:
        found.append(example)

    draw()
    return found


@pytest.mark.e2e
@pytest.mark.asyncio
async def test_a_flood_of_malformed_messages_is_dead_lettered_and_the_good_ones_among_it_stored(
    db_url, mqtt_url, mqtt5, topic_root
):
    assets = ["pump-001", "pump-002"]
    await _provision(db_url, assets)
    now = datetime.now(UTC)
    ts = timestamp(now.timestamp() - 3600)
    telemetry = f"{SITE}/pump-001/telemetry"
    valid = {f"{SITE}/{a}/{c}" for a in assets for c in malformed.CHANNELS}
    good_body = _body(0, now - timedelta(hours=1), {"flow_m3h": 100.0}).encode()
    flood = _collect(st.one_of(
        malformed.random_bytes(telemetry),
        malformed.deeply_nested(telemetry, ts),
        malformed.huge(telemetry, ts),
        malformed.wrong_types(telemetry, ts, "pump-001"),
        malformed.wrong_topics(valid, good_body),
        malformed.bad_status(f"{SITE}/pump-002/status"),
    ), FLOOD_EXAMPLES)
    assert any(len(payload) > MAX_KEPT_BYTES for _, payload in flood), "no payload above 64 KiB was drawn"

    messages, good = [], Counter()
    for i, (tail, payload) in enumerate(flood):
        messages.append((f"{topic_root}/{tail}", payload))
        asset = assets[i % 2]
        at = now - timedelta(minutes=30) + timedelta(seconds=good[asset])
        messages.append((f"{topic_root}/{SITE}/{asset}/telemetry",
                         _body(good[asset], at, {"flow_m3h": 100.0 + i, "pressure_bar": 4.0})))
        good[asset] += 1

    async with _pool(db_url) as pool, _running_gateway(pool, mqtt_url, topic_root, mqtt5=mqtt5) as (gateway, task):
        await asyncio.to_thread(publish, mqtt_url, messages)
        await _await(lambda: gateway.stats.messages >= len(messages) or task.done(), 60, "the flood to be handled")
        assert not task.done(), f"the gateway stopped: {task.exception() if not task.cancelled() else 'cancelled'}"
        assert gateway.stats.connected and gateway.stats.messages == len(messages)

    stored = await asyncio.to_thread(_sequences, db_url, "flow_m3h")
    assert {a: stored.get(a, []) for a in assets} == {a: list(range(good[a])) for a in assets}

    expected = Counter((f"{topic_root}/{tail}", hashlib.sha256(payload[:MAX_KEPT_BYTES]).hexdigest(), len(payload))
                       for tail, payload in flood)
    with psycopg.connect(db_url) as conn:
        letters = conn.execute("select topic, payload, payload_size, truncated, reason from gateway.dead_letters"
                               ).fetchall()
    kept = Counter((topic, hashlib.sha256(payload).hexdigest(), size) for topic, payload, size, _, _ in letters)
    assert kept == expected, f"missing: {list(expected - kept)[:3]}; unexpected: {list(kept - expected)[:3]}"
    for topic, payload, size, truncated, reason in letters:
        assert reason.strip(), f"a dead letter on {topic} has no reason"
        # every message in the flood is malformed by construction: the gateway's checks, not the database, refuse it
        assert not reason.startswith("refused by the database"), f"{topic}: {reason}"
        assert len(payload) == min(size, MAX_KEPT_BYTES) and truncated == (size > MAX_KEPT_BYTES)



# Each is refused where the gateway validates a message, with a reason the dead-letter table can hold, rather than
# left for the database to refuse
POISON = [
    pytest.param('{"ts": "%s", "seq": 9223372036854775808, "metrics": {"flow_m3h": 1.0}}',
                 "seq: Input should be less than or equal to 9223372036854775807", id="seq-beyond-bigint"),
    pytest.param('{"ts": "%s", "metrics": {"flow_m3h": 1.0}, "\\u0000": 1}',
                 r"'\x00': Extra inputs are not permitted", id="nul-in-a-field-name"),
    pytest.param('{"ts": "%s", "metrics": {"flow_m3h\\n": 1.0}}',
                 r"metric name 'flow_m3h\n' must be lower_snake_case", id="metric-name-ending-in-a-newline"),
]


@pytest.mark.e2e
@pytest.mark.asyncio
@pytest.mark.parametrize(("poison", "reason"), POISON)
async def test_a_message_the_store_cannot_take_is_dead_lettered_and_ingest_goes_on(
    db_url, mqtt_url, mqtt5, topic_root, poison, reason
):
    await _provision(db_url, ["pump-001"])
    topic = f"{topic_root}/{SITE}/pump-001/telemetry"
    at = datetime.now(UTC) - timedelta(minutes=5)
    messages = [(topic, _body(1, at, {"flow_m3h": 100.0})),
                (topic, poison % timestamp((at + timedelta(seconds=1)).timestamp())),
                (topic, _body(3, at + timedelta(seconds=2), {"flow_m3h": 102.0}))]
    async with _pool(db_url) as pool, _running_gateway(pool, mqtt_url, topic_root, mqtt5=mqtt5) as (gateway, task):
        await asyncio.to_thread(publish, mqtt_url, messages)
        await _await(lambda: gateway.stats.messages >= len(messages) or task.done(), 15, "the messages to be handled")
        assert not task.done(), f"the gateway stopped: {task.exception() if not task.cancelled() else 'cancelled'}"
    assert (await asyncio.to_thread(_sequences, db_url, "flow_m3h")) == {"pump-001": [1, 3]}
    with psycopg.connect(db_url) as conn:
        reasons = [r for (r,) in conn.execute("select reason from gateway.dead_letters").fetchall()]
    assert len(reasons) == 1 and reason in reasons[0], reasons
