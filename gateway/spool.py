"""The gateway's spool: received batches kept on disk while PostgreSQL is away, replayed in order when it returns.

Without it a database outage stops the gateway acknowledging, and the broker queues everything published meanwhile
in its memory, up to its own limit. With it the gateway keeps consuming: each batch is written to a file of its own
(written whole, flushed to disk, then renamed into place, so a crash leaves either the whole batch or nothing), then
acknowledged. Files are replayed oldest first and deleted once their batch is committed; storing is idempotent, so
a batch replayed twice after a crash is stored once. The spool is bounded: when it is full the gateway stops
acknowledging again and the broker holds the rest.

A file holds the batch's receipt time and each message's topic and payload; a spool directory belongs to one
gateway worker (its MQTT client id), and a worker replays what it finds there when it starts.
"""

from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gateway.errors import SpoolCorrupt
from gateway.mqtt import Delivery

_HEADER = struct.Struct(">dI")  # received at (seconds since the epoch), messages
_MESSAGE = struct.Struct(">HI")  # topic bytes, payload bytes
SUFFIX = ".batch"


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    path: Path
    received_at: datetime
    deliveries: list[Delivery]


class Spool:
    """Batches on disk under ``directory``, at most ``max_bytes`` of them."""

    def __init__(self, directory: Path, *, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True)
        for partial in directory.glob("*.tmp"):  # a write a crash interrupted: its batch was never acknowledged
            partial.unlink()
        self._sizes = {f: f.stat().st_size for f in sorted(directory.glob(f"*{SUFFIX}"))}  # oldest first
        self._counter = 0

    def __len__(self) -> int:
        """Batches waiting."""
        return len(self._sizes)

    @property
    def bytes(self) -> int:
        """Bytes waiting."""
        return sum(self._sizes.values())

    def add(self, deliveries: list[Delivery], received_at: datetime) -> bool:
        """Write a batch to disk, durably; False (and nothing written) when it would not fit."""
        body = bytearray(_HEADER.pack(received_at.timestamp(), len(deliveries)))
        for d in deliveries:
            topic = d.topic.encode()
            body += _MESSAGE.pack(len(topic), len(d.payload))
            body += topic
            body += d.payload
        if self.bytes + len(body) > self.max_bytes:
            return False
        self._counter += 1
        final = self.directory / f"{time.time_ns():020d}-{os.getpid()}-{self._counter:06d}{SUFFIX}"
        partial = final.with_suffix(".tmp")
        with open(partial, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, final)
        _sync_directory(self.directory)
        self._sizes[final] = len(body)
        return True

    def oldest(self) -> SpooledBatch | None:
        """The batch received first, or None when the spool is empty."""
        if not self._sizes:
            return None
        path = next(iter(self._sizes))
        return SpooledBatch(path, *_decode(path.read_bytes(), path))  # SpoolCorrupt: see set_aside

    def set_aside(self, path: Path) -> Path:
        """Move an unreadable file out of the queue, keeping its bytes for an operator to look at."""
        aside = path.with_suffix(".corrupt")
        os.replace(path, aside)
        del self._sizes[path]
        return aside

    def remove(self, batch: SpooledBatch) -> None:
        """Forget a batch once it is committed."""
        batch.path.unlink()
        _sync_directory(self.directory)
        del self._sizes[batch.path]


def _decode(data: bytes, path: Path) -> tuple[datetime, list[Delivery]]:
    try:
        received, count = _HEADER.unpack_from(data, 0)
        at = _HEADER.size
        deliveries = []
        for _ in range(count):
            topic_size, payload_size = _MESSAGE.unpack_from(data, at)
            at += _MESSAGE.size
            topic = data[at:at + topic_size].decode()
            at += topic_size
            payload = data[at:at + payload_size]
            at += payload_size
            if len(payload) != payload_size:
                raise ValueError("the file ends inside a message")
            deliveries.append(Delivery(topic, payload, 0, 0, False))  # acknowledged when it was spooled
    except (struct.error, UnicodeDecodeError, ValueError) as exc:
        raise SpoolCorrupt(path, str(exc)) from exc
    if at != len(data):
        raise SpoolCorrupt(path, f"{len(data) - at} bytes after its last message")
    return datetime.fromtimestamp(received, UTC), deliveries


def _sync_directory(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
