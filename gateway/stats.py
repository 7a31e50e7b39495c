"""Counters an operator (and the console) reads to follow the pipeline, and their Prometheus rendering.

The worker updates them a few attributes per batch; rendering and the health verdict happen when someone asks.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway import prometheus
from gateway.spool import Spool

# Store-and-process time of one batch, in seconds: a healthy batch takes a few milliseconds to a few tenths.
BATCH_SECONDS_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(slots=True)
class IngestStats:
    messages: int = 0
    samples: int = 0
    faults: int = 0
    rows_written: int = 0
    dead_letters: int = 0
    batches: int = 0
    connected: bool = False
    reconnects: int = 0
    store_error: str | None = None  # why storing the current batch failed; None once a batch is stored
    in_flight: int = 0  # messages of the batch being stored: received, not yet acknowledged
    queued: Callable[[], int] | None = None  # how many more the MQTT client holds, while a session is open
    last_batch_seconds: float = 0.0  # storing and processing the last batch
    batch_seconds_counts: list[int] = field(default_factory=lambda: [0] * (len(BATCH_SECONDS_BOUNDS) + 1))
    batch_seconds_sum: float = 0.0
    spooled: int = 0  # messages written to the spool while the database was away
    replayed: int = 0  # messages stored from the spool
    spool: Spool | None = None

    @property
    def buffer_depth(self) -> int:
        """Messages received and not yet acknowledged: the batch being stored and what waits behind it."""
        return self.in_flight + (self.queued() if self.queued is not None else 0)

    def observe_batch(self, seconds: float) -> None:
        """One batch stored and processed in ``seconds``."""
        self.last_batch_seconds = seconds
        self.batch_seconds_sum += seconds
        self.batch_seconds_counts[bisect_left(BATCH_SECONDS_BOUNDS, seconds)] += 1

    def health(self) -> tuple[bool, dict[str, str]]:
        """Healthy when connected to the broker and the last attempt to store a batch succeeded."""
        report = {"status": "ok", "broker": "connected" if self.connected else "disconnected",
                  "database": "ok" if self.store_error is None else self.store_error}
        healthy = self.connected and self.store_error is None
        if not healthy:
            report["status"] = "degraded"
        return healthy, report

    def prometheus(self) -> str:
        """The gateway's metrics in Prometheus' text format."""
        c, g = prometheus.counter, prometheus.gauge
        return "".join((
            c("fleetcare_gateway_messages_total", "MQTT messages handled (stored or dead-lettered).", self.messages),
            c("fleetcare_gateway_samples_total", "Valid samples (one timestamp of one asset) stored.", self.samples),
            c("fleetcare_gateway_rows_written_total", "Readings (one metric value each) written.", self.rows_written),
            c("fleetcare_gateway_dead_letters_total", "Messages rejected and stored with their reason.",
              self.dead_letters),
            c("fleetcare_gateway_faults_total", "Device fault reports stored.", self.faults),
            c("fleetcare_gateway_batches_total", "Batches stored, each in one transaction.", self.batches),
            c("fleetcare_gateway_reconnects_total", "Times the broker connection was lost or refused.",
              self.reconnects),
            g("fleetcare_gateway_connected", "1 while subscribed to the broker.", self.connected),
            g("fleetcare_gateway_buffer_depth", "Messages received and not yet acknowledged.", self.buffer_depth),
            c("fleetcare_gateway_spooled_total", "Messages written to the disk spool while the database was away.",
              self.spooled),
            c("fleetcare_gateway_replayed_total", "Messages stored from the disk spool.", self.replayed),
            g("fleetcare_gateway_spool_batches", "Batches waiting in the disk spool.",
              len(self.spool) if self.spool else 0),
            g("fleetcare_gateway_spool_bytes", "Bytes waiting in the disk spool.",
              self.spool.bytes if self.spool else 0),
            g("fleetcare_gateway_last_batch_seconds", "Store-and-process time of the last batch.",
              self.last_batch_seconds),
            prometheus.histogram(
                "fleetcare_gateway_batch_seconds", "Store-and-process time per batch.", bounds=BATCH_SECONDS_BOUNDS,
                counts=self.batch_seconds_counts, total=self.batch_seconds_sum,
            ),
        ))
