"""All SQL the gateway owns: the dead-letter table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection
from psycopg.rows import class_row

MAX_KEPT_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    payload: bytes
    reason: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    id: int
    received_at: datetime
    topic: str
    payload: bytes
    payload_size: int
    truncated: bool
    reason: str


async def add_dead_letters(conn: AsyncConnection, letters: Sequence[DeadLetter]) -> None:
    """Keep rejected messages with their reason; payloads beyond 64 KiB are kept truncated."""
    if not letters:
        return
    async with conn.cursor() as cur:
        async with cur.copy(
            "copy gateway.dead_letters (received_at, topic, payload, payload_size, truncated, reason) from stdin"
        ) as copy:
            for letter in letters:
                kept = letter.payload[:MAX_KEPT_BYTES]
                await copy.write_row(
                    (letter.received_at, letter.topic, kept, len(letter.payload), len(kept) < len(letter.payload),
                     letter.reason)
                )


async def get_dead_letters(conn: AsyncConnection, *, limit: int = 100) -> list[DeadLetterRow]:
    """The newest dead letters first."""
    async with conn.cursor(row_factory=class_row(DeadLetterRow)) as cur:
        await cur.execute("select * from gateway.dead_letters order by id desc limit %(limit)s", {"limit": limit})
        return await cur.fetchall()
