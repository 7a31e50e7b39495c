"""Dead-letter retention on the real database: the newest rows and a recent window are kept, the rest deleted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg_pool import AsyncConnectionPool

from gateway import store
from gateway.housekeeping import run_dead_letter_job
from gateway.store import DeadLetter

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


async def _add(conn: psycopg.AsyncConnection, ages_s: list[float], *, now: datetime = NOW) -> list[int]:
    """Dead letters received ``ages_s`` seconds before ``now``, in that order; their ids."""
    letters = [DeadLetter("fleet/site-1/pump-001/telemetry", b"{", "invalid JSON", now - timedelta(seconds=age))
               for age in ages_s]
    await store.add_dead_letters(conn, letters)
    cur = await conn.execute("select id from gateway.dead_letters order by id desc limit %(n)s", {"n": len(ages_s)})
    return sorted(row[0] for row in await cur.fetchall())


async def _ids(conn: psycopg.AsyncConnection) -> list[int]:
    return [letter.id for letter in reversed(await store.get_dead_letters(conn, limit=10_000))]


@pytest.mark.asyncio
async def test_the_newest_rows_are_kept_and_the_rest_deleted(aconn):
    ids = await _add(aconn, [0.0] * 10)
    deleted = await store.prune_dead_letters(aconn, keep_rows=3, keep_for=None, now=NOW)
    assert deleted == 7
    assert await _ids(aconn) == ids[-3:]
    assert await store.prune_dead_letters(aconn, keep_rows=3, keep_for=None, now=NOW) == 0


@pytest.mark.asyncio
async def test_rows_older_than_the_window_are_deleted_even_among_the_newest(aconn):
    ids = await _add(aconn, [7200.0, 30.0, 3601.0, 10.0, 0.0])
    deleted = await store.prune_dead_letters(aconn, keep_rows=100, keep_for=timedelta(hours=1), now=NOW)
    assert deleted == 2
    assert await _ids(aconn) == [ids[1], ids[3], ids[4]]


@pytest.mark.asyncio
async def test_keeping_no_rows_empties_the_table_and_an_empty_table_is_fine(aconn):
    await _add(aconn, [0.0, 1.0])
    assert await store.prune_dead_letters(aconn, keep_rows=0, keep_for=None, now=NOW) == 2
    assert await _ids(aconn) == []
    assert await store.prune_dead_letters(aconn, keep_rows=0, keep_for=timedelta(seconds=1), now=NOW) == 0


@pytest.mark.asyncio
async def test_pruning_does_not_commit(aconn):
    await _add(aconn, [0.0] * 4)
    await aconn.commit()
    async with aconn.transaction(force_rollback=True):
        assert await store.prune_dead_letters(aconn, keep_rows=1, keep_for=None, now=NOW) == 3
    assert len(await _ids(aconn)) == 4


@pytest.mark.parametrize("keep_rows, keep_for, reason", [
    (-1, None, "keep_rows must be 0 or more"),
    (10, timedelta(0), "keep_for must be a positive duration"),
    (10, timedelta(seconds=-5), "keep_for must be a positive duration"),
])
@pytest.mark.asyncio
async def test_a_nonsensical_retention_is_refused(aconn, keep_rows, keep_for, reason):
    with pytest.raises(ValueError, match=reason):
        await store.prune_dead_letters(aconn, keep_rows=keep_rows, keep_for=keep_for, now=NOW)
    with pytest.raises(ValueError, match=reason):
        await run_dead_letter_job(None, keep_rows=keep_rows, keep_for=keep_for, stop=asyncio.Event())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ages=st.lists(st.integers(0, 10_000), max_size=25),
    keep_rows=st.integers(0, 30),
    keep_for_s=st.none() | st.integers(1, 10_000),
)
def test_what_is_left_is_the_newest_rows_within_the_window(db_url, ages, keep_rows, keep_for_s):
    keep_for = None if keep_for_s is None else timedelta(seconds=keep_for_s)

    async def check() -> None:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            async with conn.transaction(force_rollback=True):
                await conn.execute("delete from gateway.dead_letters")
                ids = await _add(conn, [float(a) for a in ages])
                deleted = await store.prune_dead_letters(conn, keep_rows=keep_rows, keep_for=keep_for, now=NOW)
                newest = set(ids[max(0, len(ids) - keep_rows):]) if keep_rows else set()
                expected = [i for i, age in zip(ids, ages, strict=True)
                            if i in newest and (keep_for_s is None or age <= keep_for_s)]
                assert await _ids(conn) == expected
                assert deleted == len(ids) - len(expected)

    asyncio.run(check())


@pytest.mark.asyncio
async def test_the_job_prunes_every_period_survives_a_failed_run_and_stops_when_told(db_url, caplog):
    pool = AsyncConnectionPool(db_url, min_size=1, max_size=2, open=False)
    await pool.open()
    stop = asyncio.Event()
    job = None
    try:
        async with pool.connection() as conn:
            await _add(conn, [0.0] * 12, now=datetime.now(UTC))

        async def count() -> int:
            async with pool.connection() as conn:
                return len(await _ids(conn))

        async def until(expected: int) -> None:
            for _ in range(100):
                if await count() == expected:
                    return
                await asyncio.sleep(0.05)
            raise AssertionError(f"{await count()} dead letters left, expected {expected}")

        job = asyncio.create_task(
            run_dead_letter_job(pool, keep_rows=5, keep_for=timedelta(days=1), stop=stop, every_s=0.1)
        )
        await until(5)

        # the table is out of reach for a while: the job logs the failure and carries on
        async with pool.connection() as conn:
            await conn.execute("alter table gateway.dead_letters rename to dead_letters_away")
        for _ in range(100):
            if "dead-letter retention failed" in caplog.text:
                break
            await asyncio.sleep(0.05)
        assert "dead-letter retention failed" in caplog.text
        async with pool.connection() as conn:
            await conn.execute("alter table gateway.dead_letters_away rename to dead_letters")
            await _add(conn, [0.0] * 4 + [2 * 86400.0], now=datetime.now(UTC))
        assert not job.done()
        # the next run prunes again: of the newest five, the two-day-old one goes too
        await until(4)

        stop.set()
        await asyncio.wait_for(job, 2)
    finally:
        stop.set()
        if job is not None and not job.done():
            job.cancel()
        await pool.close()
