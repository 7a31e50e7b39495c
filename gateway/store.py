"""All SQL the gateway owns: the dead-letter table, and how long it is kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

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
    """Keep rejected messages with their reason; payloads beyond 64 KiB are kept truncated. A topic or reason
    holding what PostgreSQL text cannot (NUL, or a character the connection's encoding lacks) is kept with those
    characters escaped; the payload is kept as received."""
    if not letters:
        return
    encoding = conn.info.encoding
    async with conn.cursor() as cur:
        async with cur.copy(
            "copy gateway.dead_letters (received_at, topic, payload, payload_size, truncated, reason) from stdin"
        ) as copy:
            for letter in letters:
                kept = letter.payload[:MAX_KEPT_BYTES]
                await copy.write_row(
                    (letter.received_at, _storable(letter.topic, encoding), kept, len(letter.payload),
                     len(kept) < len(letter.payload), _storable(letter.reason, encoding))
                )


def _storable(text: str, encoding: str) -> str:
    """``text`` with NUL written ``\\x00`` and any character ``encoding`` cannot encode (a lone surrogate, say)
    written as a backslash escape: a dead letter that cannot be stored would stop the worker that rejected it."""
    if "\0" in text:
        text = text.replace("\0", "\\x00")
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        text = text.encode(encoding, "backslashreplace").decode(encoding)
    return text


async def get_dead_letters(conn: AsyncConnection, *, limit: int = 100) -> list[DeadLetterRow]:
    """The newest dead letters first."""
    async with conn.cursor(row_factory=class_row(DeadLetterRow)) as cur:
        await cur.execute("select * from gateway.dead_letters order by id desc limit %(limit)s", {"limit": limit})
        return await cur.fetchall()


async def prune_dead_letters(
    conn: AsyncConnection, *, keep_rows: int, keep_for: timedelta | None, now: datetime
) -> int:
    """Delete the dead letters beyond the newest ``keep_rows`` and those received before ``now - keep_for``
    (``None``: kept whatever their age); returns how many were deleted."""
    if keep_rows < 0:
        raise ValueError(f"keep_rows must be 0 or more, got {keep_rows!r}")
    if keep_for is not None and keep_for <= timedelta(0):
        raise ValueError(f"keep_for must be a positive duration or None, got {keep_for!r}")
    async with conn.cursor() as cur:
        # ids are given in arrival order, so the newest rows are the highest ids: the cut is read off the end of
        # the primary key's index
        await cur.execute(
            """
            with cut as (
                select id from gateway.dead_letters order by id desc offset %(keep_rows)s limit 1
            )
            delete from gateway.dead_letters
             where id <= (select id from cut)
                or received_at < %(received_before)s::timestamptz
            """,
            {"keep_rows": keep_rows, "received_before": None if keep_for is None else now - keep_for},
        )
        return cur.rowcount
