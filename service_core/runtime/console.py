"""What ``fleetcare up`` prints while it runs: one status line every few seconds, and the events."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from gateway.stats import IngestStats


class Console:
    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out
        self.started = time.monotonic()
        self._last = (self.started, 0, 0)

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def event(self, text: str) -> None:
        self.say(f"[{self._clock()}] {text}")

    def status(self, *, stats: IngestStats, online: int, devices: int, anomalies: int, orders: int) -> None:
        now = time.monotonic()
        then, messages, rows = self._last
        elapsed = max(now - then, 1e-6)
        self._last = (now, stats.messages, stats.rows_written)
        self.event(
            f"devices online {online}/{devices} · {(stats.messages - messages) / elapsed:.0f} messages/s · "
            f"{(stats.rows_written - rows) / elapsed:.0f} readings/s · dead letters {stats.dead_letters} · "
            f"anomalies {anomalies} · work orders {orders}"
        )

    def _clock(self) -> str:
        seconds = int(time.monotonic() - self.started)
        return f"{seconds // 60:02d}:{seconds % 60:02d}"
