"""One open preventive order per (asset, failure mode), however many triggers race for it."""

from __future__ import annotations

import asyncio
import multiprocessing
from datetime import UTC, datetime

import psycopg
import pytest

from service_core.workorders import service
from service_core.workorders.flows import open_preventive_order
from tests.service_core.builders import a_site, an_alert, an_asset, an_engineer

NOW = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


async def _fleet(db_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(db_url) as conn, conn.transaction():
        site = await a_site(conn)
        await an_asset(conn, site=site)
        await an_engineer(conn)


async def _open_when_released(db_url: str, release, failure_mode: str) -> int | None:
    """Open the order in a transaction of its own, released together with the others."""
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        async with conn.transaction():
            await conn.execute("select 1")  # the transaction is under way before the release
            await release()
            opened = await open_preventive_order(
                conn, alert=an_alert(failure_mode=failure_mode), alert_id=None, now=NOW
            )
            await asyncio.sleep(0.2)  # hold the transaction so the others meet it uncommitted
    return opened.work_order_id if opened else None


def _process_main(db_url: str, barrier, results, failure_mode: str) -> None:
    async def release() -> None:
        await asyncio.to_thread(barrier.wait, 30)

    results.put(asyncio.run(_open_when_released(db_url, release, failure_mode)))


def _open_orders(conn: psycopg.Connection, failure_mode: str) -> list[tuple]:
    return conn.execute(
        """
        select id, status, engineer_id from service.work_orders
         where asset_id = 'pump-001' and failure_mode = %s and type = 'preventive'
        """,
        (failure_mode,),
    ).fetchall()


@pytest.mark.asyncio
async def test_separate_processes_released_together_open_one_order(db_url: str, conn: psycopg.Connection) -> None:
    await _fleet(db_url)
    ctx = multiprocessing.get_context("spawn")
    n = 4
    barrier, results = ctx.Barrier(n), ctx.Queue()
    processes = [ctx.Process(target=_process_main, args=(db_url, barrier, results, "bearing_wear")) for _ in range(n)]
    for p in processes:
        p.start()
    outcomes = [await asyncio.to_thread(results.get, True, 60) for _ in range(n)]
    for p in processes:
        await asyncio.to_thread(p.join, 30)
        assert p.exitcode == 0

    opened = [o for o in outcomes if o is not None]
    assert len(opened) == 1 and outcomes.count(None) == n - 1
    orders = _open_orders(conn, "bearing_wear")
    assert [o[0] for o in orders] == opened and orders[0][1] == "assigned"
    created = conn.execute("select count(*) from service.work_order_events where kind = 'created'").fetchone()[0]
    assert created == 1
    assert conn.execute("select count(*) from service.notifications").fetchone()[0] == 1


@pytest.mark.asyncio
async def test_many_tasks_on_separate_connections_open_one_order(db_url: str, conn: psycopg.Connection) -> None:
    await _fleet(db_url)
    n = 20
    barrier = asyncio.Barrier(n)

    async def release() -> None:
        await barrier.wait()

    outcomes = await asyncio.gather(*(_open_when_released(db_url, release, "cavitation") for _ in range(n)))
    opened = [o for o in outcomes if o is not None]
    assert len(opened) == 1
    assert [o[0] for o in _open_orders(conn, "cavitation")] == opened


@pytest.mark.asyncio
async def test_next_alert_after_closing_opens_a_new_order(aconn: psycopg.AsyncConnection) -> None:
    async with aconn.transaction():
        site = await a_site(aconn)
        await an_asset(aconn, site=site)
        await an_engineer(aconn)
        first = await open_preventive_order(aconn, alert=an_alert(), alert_id=None, now=NOW)
        assert first is not None
        assert await open_preventive_order(aconn, alert=an_alert(), alert_id=None, now=NOW) is None
        other_mode = await open_preventive_order(aconn, alert=an_alert(failure_mode="imbalance"), alert_id=None, now=NOW)
        assert other_mode is not None and other_mode.work_order_id != first.work_order_id

        for target in ["accepted", "en_route"]:
            await service.transition(aconn, work_order_id=first.work_order_id, target=target, actor="eva")
        await service.transition(
            aconn, work_order_id=first.work_order_id, target="on_hold", reason="waiting_parts", actor="eva"
        )
        assert await open_preventive_order(aconn, alert=an_alert(), alert_id=None, now=NOW) is None  # on hold is open
        for target in ["in_progress", "completed"]:
            await service.transition(aconn, work_order_id=first.work_order_id, target=target, actor="eva")
        again = await open_preventive_order(aconn, alert=an_alert(), alert_id=None, now=NOW)
        assert again is not None and again.work_order_id not in (first.work_order_id, other_mode.work_order_id)


@pytest.mark.asyncio
async def test_a_rolled_back_order_does_not_block_the_next(db_url: str, conn: psycopg.Connection) -> None:
    await _fleet(db_url)
    async with await psycopg.AsyncConnection.connect(db_url) as first:
        await first.execute("select 1")
        assert await open_preventive_order(first, alert=an_alert(), alert_id=None, now=NOW) is not None
        await first.rollback()
    async with await psycopg.AsyncConnection.connect(db_url) as second, second.transaction():
        assert await open_preventive_order(second, alert=an_alert(), alert_id=None, now=NOW) is not None
    assert len(_open_orders(conn, "bearing_wear")) == 1
