"""Counters an operator (and the console) reads to follow the pipeline."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class IngestStats:
    messages: int = 0
    samples: int = 0
    faults: int = 0
    rows_written: int = 0
    dead_letters: int = 0
    batches: int = 0
    last_batch_ms: float = 0.0
    connected: bool = False
    reconnects: int = 0
