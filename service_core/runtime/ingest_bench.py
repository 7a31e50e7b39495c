"""``fleetcare bench ingest``: messages per second the gateway commits, publish-to-commit latency, nothing lost.

Everything runs on this machine, each component in a process of its own so its CPU and memory can be read:

- a Mosquitto broker of the bench's own on a free port (``max_queued_messages`` raised: its default of 1000
  silently drops QoS 1 messages queued for a subscriber that falls behind), or the embedded amqtt broker when
  there is no Mosquitto;
- publisher processes (``python -m service_core.runtime.ingest_load publish``): simulated EM-75 motors, five
  metrics a sample, each device on its own topic at ``rate`` samples a second, paced on a schedule; a sample's
  ``ts`` is its scheduled instant and its ``seq`` counts from 0;
- the gateway with the detector (``fleetcare gateway``) against a database of the bench's own on the PostgreSQL
  server given (created, migrated and dropped);
- first, for the ceiling, a bare paho subscriber (``... ingest_load subscribe``) that only parses and counts while
  the same publishers publish flat out through the same broker.

Commit times come from ``telemetry.devices.last_seq``, which the gateway updates once a batch's readings are
committed, before acknowledging them (so a commit is seen a little late, never early): the bench reads it every
``POLL_S``, so a message of seq k is committed at the first read that shows
``last_seq >= k``. Latency is that instant less the message's ``ts``; a publisher that falls behind its schedule
adds to it. Loss and duplication are counted from the stored sequence numbers of one metric.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = "bench"
SITE = "bench-site"
MODEL = "EM-75"
POLL_S = 0.02
CEILING_S = 20.0  # seconds of the run's messages the ceiling is timed on


@dataclass(frozen=True, slots=True)
class IngestConfig:
    devices: int = 500
    rate_hz: float = 10.0  # samples (messages) per device per second
    duration_s: float = 60.0
    warm_up_s: float = 10.0  # excluded from the sustained figures
    qos: int = 1
    batch: int = 1  # samples per message
    publishers: int = 2
    ceiling: bool = True
    detector: bool = True  # the gateway scores what it stores, as `fleetcare gateway` does by default

    @property
    def offered(self) -> float:
        return self.devices * self.rate_hz / self.batch


@dataclass(slots=True)
class Usage:
    """CPU seconds and peak resident memory of a component's processes."""

    cpu_s: float = 0.0
    peak_rss: int = 0


@dataclass(frozen=True, slots=True)
class IngestFigures:
    config: IngestConfig
    broker: str
    published: int  # messages handed to the broker
    acknowledged: int  # messages the broker acknowledged (QoS 1)
    committed_per_s: float  # sustained, over the window after warm-up
    latency_ms: tuple[float, float, float, float]  # p50, p95, p99, max
    lost: int
    duplicated: int
    publisher_lag_ms: float  # how far the publishers fell behind their schedule, at most
    window_s: float
    usage: dict[str, Usage]
    ceiling_per_s: float | None
    drained_s: float  # after the publishers stopped, until the last message was committed


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank of sorted ``values``; NaN for none.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5), percentile([5.0], 0.99)
    (2.0, 5.0)
    """
    if not values:
        return math.nan
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def commit_latencies(polls: list[tuple[float, dict[str, int]]], published: dict[str, int], *, rate_hz: float,
                     start: float, batch: int) -> list[float]:
    """Seconds from each message's scheduled instant to the first poll showing it committed.

    ``polls`` are (instant, {asset: last_seq}) in time order; ``published`` is messages per asset; a message of
    index k carries samples k*batch .. k*batch+batch-1 (its last sample's seq is what the gateway records)."""
    out: list[float] = []
    for asset, count in published.items():
        k = 0
        for at, seen in polls:
            last = seen.get(asset)
            if last is None:
                continue
            while k < count and (k + 1) * batch - 1 <= last:
                out.append(at - (start + k * batch / rate_hz + (batch - 1) / rate_hz))
                k += 1
            if k >= count:
                break
    return out


def sustained_rate(polls: list[tuple[float, dict[str, int]]], *, since: float, until: float, batch: int) -> float:
    """Messages committed per second between the last poll before ``since`` and the last before ``until``."""
    inside = [(at, sum(v + 1 for v in seen.values()) / batch) for at, seen in polls if since <= at <= until]
    if len(inside) < 2:
        return math.nan
    (t0, n0), (t1, n1) = inside[0], inside[-1]
    return (n1 - n0) / (t1 - t0) if t1 > t0 else math.nan


def report(f: IngestFigures) -> str:
    c = f.config
    p50, p95, p99, worst = f.latency_ms
    lines = [
        f"ingest benchmark: {c.devices} devices x {c.rate_hz:g} Hz, {c.batch} sample(s) of 5 metrics per message, "
        f"QoS {c.qos}, {c.duration_s:g} s ({c.warm_up_s:g} s warm-up), {c.publishers} publisher process(es); "
        f"broker {f.broker}; gateway {'with' if c.detector else 'without'} the detector",
        f"offered: {c.offered:,.0f} messages/s ({c.offered * c.batch * 5:,.0f} data points/s)",
        f"published {f.published:,} messages, acknowledged by the broker {f.acknowledged:,}; "
        f"publishers at most {f.publisher_lag_ms:,.0f} ms behind schedule",
        f"committed: {f.committed_per_s:,.0f} messages/s ({f.committed_per_s * c.batch * 5:,.0f} data points/s) "
        f"sustained over {f.window_s:.0f} s",
        f"latency publish -> commit: p50 {p50:,.0f} ms, p95 {p95:,.0f} ms, p99 {p99:,.0f} ms, max {worst:,.0f} ms "
        f"(read every {POLL_S * 1000:.0f} ms)",
        f"lost {f.lost:,}, duplicated {f.duplicated:,}; last message committed {f.drained_s:.1f} s after the "
        "publishers stopped",
    ]
    if f.ceiling_per_s is not None:
        lines.append(f"ceiling (a bare subscriber parsing and counting while the same publishers publish flat out "
                     f"through the same broker): {f.ceiling_per_s:,.0f} messages/s; gateway / ceiling "
                     f"{f.committed_per_s / f.ceiling_per_s:.2f}")
    lines.append("component        CPU s   CPU cores   peak RSS MB")
    for name, u in f.usage.items():
        lines.append(f"{name:<14} {u.cpu_s:>7.1f} {u.cpu_s / f.window_s:>11.2f} {u.peak_rss / 2**20:>13.0f}")
    return "\n".join(lines)


# --- the processes ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def broker() -> Iterator[tuple[str, list[psutil.Process], str]]:
    """A broker of the bench's own: (url, its processes, description)."""
    port = _free_port()
    if shutil.which("mosquitto"):
        with tempfile.TemporaryDirectory() as tmp:
            conf = Path(tmp) / "mosquitto.conf"
            # max_queued_messages: a subscriber that falls behind would otherwise lose QoS 1 messages past 1000.
            # max_inflight_messages stays at its default, so the gateway's MQTT v5 Receive Maximum (10,000) bounds
            # what it holds unacknowledged: backpressure. Set to 0 (unlimited), the gateway's queue grew past it.
            conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 10000000\n"
                            "persistence false\n")
            process = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            try:
                _wait_port(port)
                yield f"mqtt://127.0.0.1:{port}", [psutil.Process(process.pid)], "Mosquitto (own instance)"
            finally:
                process.terminate()
                process.wait(10)
    else:
        from service_core.runtime.embedded_broker import EmbeddedBroker

        embedded = EmbeddedBroker()
        url = embedded.start()
        try:
            yield url, [psutil.Process(os.getpid())], "embedded amqtt (in the bench's process)"
        finally:
            embedded.stop()


def _wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def asset_ids(devices: int) -> list[str]:
    return [f"motor-{i:05d}" for i in range(devices)]


def _start(role: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "service_core.runtime.ingest_load", role, *args],
                            stdout=subprocess.PIPE, text=True)


def _publishers(url: str, config: IngestConfig, start: float, *, paced: bool = True) -> list[subprocess.Popen[str]]:
    ids = asset_ids(config.devices)
    share = math.ceil(len(ids) / config.publishers)
    return [
        _start("publish", url, ",".join(ids[i:i + share]), str(config.rate_hz), str(config.duration_s),
               str(config.qos), str(config.batch), str(start), "paced" if paced else "flat-out")
        for i in range(0, len(ids), share)
    ]


@dataclass
class _Sampler:
    """Reads the components' CPU time and memory every half second."""

    groups: dict[str, list[psutil.Process]]
    usage: dict[str, Usage] = field(default_factory=dict)
    _cpu0: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.usage = {name: Usage() for name in self.groups}

    def start(self) -> None:
        for processes in self.groups.values():
            for p in processes:
                with contextlib.suppress(psutil.Error):
                    t = p.cpu_times()
                    self._cpu0[p.pid] = t.user + t.system

    def sample(self) -> None:
        for name, processes in self.groups.items():
            rss = 0
            for p in processes:
                with contextlib.suppress(psutil.Error):
                    rss += p.memory_info().rss
            self.usage[name].peak_rss = max(self.usage[name].peak_rss, rss)

    def stop(self) -> None:
        for name, processes in self.groups.items():
            total = 0.0
            for p in processes:
                with contextlib.suppress(psutil.Error):
                    t = p.cpu_times()
                    total += t.user + t.system - self._cpu0.get(p.pid, 0.0)
            self.usage[name].cpu_s = total


def _postgres_processes() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith(("postgres", "postmaster"))]


def _tree(process: subprocess.Popen[str]) -> list[psutil.Process]:
    root = psutil.Process(process.pid)
    return [root, *root.children(recursive=True)]


def _counts(publishers: list[subprocess.Popen[str]]) -> tuple[dict[str, int], int, int, float]:
    """Each publisher prints one JSON line when done: messages per asset, acknowledged, lag."""
    per_asset: dict[str, int] = {}
    published = acked = 0
    lag = 0.0
    for p in publishers:
        out, _ = p.communicate(timeout=120)
        done = json.loads(out.strip().splitlines()[-1])
        per_asset.update(done["per_asset"])
        published += sum(done["per_asset"].values())
        acked += done["acked"]
        lag = max(lag, done["lag_s"])
    return per_asset, published, acked, lag


def measure_ceiling(url: str, config: IngestConfig) -> float:
    """Messages per second a bare subscriber parses and counts while the same publishers publish as fast as they
    can through the same broker: what this machine delivers to a consumer that does nothing, with the publishers
    taking their share of it as they do in the gateway's run. Timed while the middle 80 % arrive, over
    ``CEILING_S`` seconds' worth of the run's messages."""
    sample = dataclasses.replace(config, duration_s=min(config.duration_s, CEILING_S))
    expected = config.devices * int(sample.duration_s * config.rate_hz / config.batch)
    subscriber = _start("subscribe", url, str(config.qos), f"bench-sub-{uuid.uuid4().hex[:8]}", "live", str(expected))
    assert subscriber.stdout
    if not json.loads(subscriber.stdout.readline() or "{}").get("ready"):
        raise RuntimeError("the bare subscriber did not subscribe")
    _counts(_publishers(url, sample, time.time() + 0.5, paced=False))
    try:
        out, _ = subscriber.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        subscriber.kill()
        subscriber.communicate()
        return math.nan
    counted = json.loads(out.strip().splitlines()[-1])
    return ceiling_rate(counted["marks"])


def ceiling_rate(marks: list[tuple[int, float]]) -> float:
    """Messages/s between the arrival of the first and the last of (count, instant) ``marks``.

    >>> ceiling_rate([(30, 1.0), (270, 3.0)])
    120.0
    """
    if len(marks) < 2 or marks[-1][1] <= marks[0][1]:
        return math.nan
    return (marks[-1][0] - marks[0][0]) / (marks[-1][1] - marks[0][1])


async def run(database_url: str, config: IngestConfig, *, progress=print) -> IngestFigures:
    """The whole benchmark; ``database_url`` is a PostgreSQL server the bench may create a database on."""
    import psycopg

    from service_core.runtime.storage_bench import bench_database
    from telemetry.store import provision_device

    async with bench_database(database_url, progress) as (db_url, _):
        async with await psycopg.AsyncConnection.connect(db_url) as conn, conn.transaction():
            for asset in asset_ids(config.devices):
                await provision_device(conn, asset_id=asset, site_id=SITE, model=MODEL,
                                       expected_interval_s=1 / config.rate_hz)
        with broker() as (mqtt_url, broker_processes, described):
            ceiling = None
            if config.ceiling:
                progress(f"ceiling: a bare subscriber for {config.duration_s:g} s")
                ceiling = measure_ceiling(mqtt_url, config)
            progress(f"gateway: {config.devices} devices for {config.duration_s:g} s")
            return await _gateway_run(db_url, mqtt_url, config, broker_processes, described, ceiling, progress)


async def _committed(conn) -> tuple[float, dict[str, int]]:
    """(now, each device's newest committed sequence number)."""
    cur = await conn.execute("select asset_id, last_seq from telemetry.devices where last_seq is not null")
    return time.time(), dict(await cur.fetchall())


async def _gateway_run(db_url, mqtt_url, config, broker_processes, described, ceiling, progress) -> IngestFigures:
    import psycopg

    spool = tempfile.TemporaryDirectory(prefix="fleetcare-bench-")
    env = {**os.environ, "FLEETCARE_DATABASE_URL": db_url, "FLEETCARE_MQTT_URL": mqtt_url,
           "FLEETCARE_DATA_DIR": spool.name, "FLEETCARE_DETECTION": "1" if config.detector else "0",
           "FLEETCARE_MQTT5": "1" if "Mosquitto" in described else "0", "FLEETCARE_TOPIC_ROOT": ROOT,
           "FLEETCARE_GATEWAY_CLIENT_ID": f"bench-{uuid.uuid4().hex[:8]}"}
    gateway = subprocess.Popen([sys.executable, "-m", "service_core.cli", "gateway"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    polls: list[tuple[float, dict[str, int]]] = []
    try:
        assert gateway.stdout
        line = gateway.stdout.readline()
        if "consuming" not in line:
            raise RuntimeError(f"the gateway did not start: {line.strip()}")
        await asyncio.sleep(1.0)  # subscribed
        start = time.time() + 1.0
        publishers = _publishers(mqtt_url, config, start)
        sampler = _Sampler({"gateway": _tree(gateway), "publishers": [psutil.Process(p.pid) for p in publishers],
                            "broker": broker_processes, "postgresql": _postgres_processes()})
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            started = False
            sampled = 0.0
            while True:
                now = time.time()
                if not started and now >= start + config.warm_up_s:
                    sampler.start()
                    started = True
                if now - sampled >= 0.5:
                    sampler.sample()
                    sampled = now
                polls.append(await _committed(conn))
                if now >= start + config.duration_s:
                    break
                await asyncio.sleep(POLL_S)
            sampler.stop()
            per_asset, published, acked, lag = await asyncio.to_thread(_counts, publishers)
            stopped = start + config.duration_s
            expected = sum(n * config.batch for n in per_asset.values())
            deadline = time.time() + 120
            while time.time() < deadline:
                polls.append(await _committed(conn))
                if sum(v + 1 for v in polls[-1][1].values()) >= expected:
                    break
                await asyncio.sleep(POLL_S)
            drained = polls[-1][0] - stopped
            cur = await conn.execute(
                "select asset_id, count(*), count(distinct seq) from telemetry.readings where metric = 'speed_rpm' "
                "group by asset_id")
            stored = {a: (n, distinct) for a, n, distinct in await cur.fetchall()}
    finally:
        gateway.terminate()
        try:
            gateway.wait(20)
        except subprocess.TimeoutExpired:
            gateway.kill()
            gateway.wait()
        if gateway.stdout:
            gateway.stdout.close()
        spool.cleanup()
    lost = sum(max(0, n * config.batch - stored.get(a, (0, 0))[1]) for a, n in per_asset.items())
    duplicated = sum(n - distinct for n, distinct in stored.values())
    window = [p for p in polls if start + config.warm_up_s <= p[0] <= start + config.duration_s]
    latencies = sorted(commit_latencies(polls, per_asset, rate_hz=config.rate_hz, start=start, batch=config.batch))
    ms = tuple(1000 * percentile(latencies, q) for q in (0.5, 0.95, 0.99, 1.0))
    return IngestFigures(
        config=config, broker=described, published=published, acknowledged=acked,
        committed_per_s=sustained_rate(window, since=start + config.warm_up_s, until=stopped, batch=config.batch),
        latency_ms=ms, lost=lost, duplicated=duplicated, publisher_lag_ms=lag * 1000,
        window_s=config.duration_s - config.warm_up_s, usage=sampler.usage, ceiling_per_s=ceiling, drained_s=drained,
    )
