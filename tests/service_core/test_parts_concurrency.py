"""The stock invariants under thousands of random concurrent operations from several connections.

Receipts, count corrections, reservations (by hand and by assignment), consumption by scan, returns and
transfers run at once on a few vans and parts, so they contend for the same level rows. Operations the
invariants refuse must be named Conflicts (409s), nothing else; a sampler watches available stock while
they run; afterwards on hand equals the ledger and reserved equals the active reservations everywhere.
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import pytest
from psycopg_pool import AsyncConnectionPool

from service_core.errors import Conflict
from service_core.parts import flows, stock
from service_core.parts.schemas import RequiredParts, ReturnIn, Scan, TransferCreate
from service_core.workorders import flows as workorders_flows
from service_core.workorders import service as workorders_service
from service_core.workorders.schemas import WorkOrderCreate
from tests.service_core.builders import a_site, an_asset, an_engineer

PARTS = ("P-A", "P-B", "P-C")
WORKERS = 8
OPERATIONS = 300  # per worker: 2400 in all


async def _setup(pool: AsyncConnectionPool) -> dict:
    async with pool.connection() as conn, conn.transaction():
        site = await a_site(conn)
        await an_asset(conn, site=site)
        engineers = [(await an_engineer(conn, name=f"E{i}")).id for i in range(3)]
        for pn in PARTS:
            await conn.execute("insert into service.parts (part_number, name) values (%(pn)s, %(pn)s)", {"pn": pn})
        cur = await conn.execute(
            "insert into service.stock_locations (kind, name) values ('warehouse', 'W') returning id"
        )
        locations = [(await cur.fetchone())[0]]
        for e in engineers:
            cur = await conn.execute(
                """
                insert into service.stock_locations (kind, name, engineer_id) values ('van', %(n)s, %(e)s)
                returning id
                """,
                {"n": f"van {e}", "e": e},
            )
            locations.append((await cur.fetchone())[0])
        orders = []
        for i in range(12):
            order = await workorders_service.create(conn, work_order_in=WorkOrderCreate(
                asset_id="pump-001", type="repair", title=f"order {i}", actor="desk"))
            orders.append(order.id)
    return {"engineers": engineers, "locations": locations, "orders": orders}


async def _operation(pool: AsyncConnectionPool, rng: random.Random, world: dict) -> str:
    kind = rng.choice(["receipt", "receipt", "adjust", "require", "assign", "reserve", "scan", "scan", "return",
                       "transfer", "transfer"])
    locations, orders, engineers = world["locations"], world["orders"], world["engineers"]
    pn = rng.choice(PARTS)
    quantity = Decimal(rng.randint(1, 3))
    async with pool.connection() as conn, conn.transaction():
        if kind == "receipt":
            await stock.record_movement(conn, location_id=rng.choice(locations), part_number=pn, quantity=quantity,
                                        reason="receipt", actor="w")
        elif kind == "adjust":
            await stock.record_movement(conn, location_id=rng.choice(locations), part_number=pn, quantity=-quantity,
                                        reason="adjustment", actor="w")
        elif kind == "require":
            parts = [{"part_number": p, "quantity": rng.randint(1, 3)} for p in rng.sample(PARTS, rng.randint(0, 3))]
            await flows.set_required_parts(conn, work_order_id=rng.choice(orders),
                                           parts_in=RequiredParts(parts=parts, actor="desk"))
        elif kind == "assign":
            await workorders_flows.assign_order(conn, work_order_id=rng.choice(orders),
                                                engineer_id=rng.choice(engineers), actor="desk")
        elif kind == "reserve":
            order = await workorders_service.get(conn, work_order_id=rng.choice(orders), for_update=True)
            await stock.reserve(conn, location_id=rng.choice(locations), part_number=pn, work_order_id=order.id,
                                quantity=quantity)
        elif kind == "scan":
            await flows.scan(conn, work_order_id=rng.choice(orders),
                             scan_in=Scan(code=pn, quantity=quantity, actor="eng"))
        elif kind == "return":
            await flows.return_unused(conn, work_order_id=rng.choice(orders),
                                      return_in=ReturnIn(code=pn, quantity=quantity, actor="eng"))
        else:
            cur = await conn.execute(
                "select id, status from service.stock_transfers where status in ('requested', 'approved', 'in_transit')"
                " order by random() limit 1"
            )
            row = await cur.fetchone()
            if row is None or rng.random() < 0.3:
                source, target = rng.sample(locations, 2)
                await flows.request_transfer(conn, transfer_in=TransferCreate(
                    from_location_id=source, to_location_id=target, part_number=pn, quantity=quantity, actor="eng"))
            else:
                action = {"requested": rng.choice(["approve", "approve", "reject", "cancel"]),
                          "approved": rng.choice(["ship", "ship", "cancel"]), "in_transit": "receive"}[row[1]]
                await flows.act_on_transfer(conn, transfer_id=row[0], action=action, actor="lead")
    return kind


async def _worker(pool: AsyncConnectionPool, seed: int, world: dict, done: dict, refused: dict) -> None:
    rng = random.Random(seed)
    for _ in range(OPERATIONS):
        try:
            kind = await _operation(pool, rng, world)
            done[kind] = done.get(kind, 0) + 1
        except Conflict as exc:  # refused by the invariants or the state: named, with a reason
            assert exc.detail
            refused[type(exc).__name__] = refused.get(type(exc).__name__, 0) + 1


async def _sampler(pool: AsyncConnectionPool, stop: asyncio.Event, seen: list) -> None:
    async with pool.connection() as conn:
        await conn.set_autocommit(True)
        while not stop.is_set():
            cur = await conn.execute("select min(on_hand - reserved), min(on_hand), min(reserved), count(*) "
                                     "from service.stock_levels")
            seen.append(await cur.fetchone())
            await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_stock_invariants_hold_under_random_concurrent_operations(db_url: str) -> None:
    async with AsyncConnectionPool(db_url, min_size=WORKERS + 1, max_size=WORKERS + 1, open=False) as pool:
        world = await _setup(pool)
        done: dict[str, int] = {}
        refused: dict[str, int] = {}
        stop, seen = asyncio.Event(), []
        sampler = asyncio.create_task(_sampler(pool, stop, seen))
        await asyncio.gather(*(_worker(pool, seed, world, done, refused) for seed in range(WORKERS)))
        stop.set()
        await sampler

        assert sum(done.values()) + sum(refused.values()) == WORKERS * OPERATIONS
        # every kind ran, and the invariants refused some
        assert set(done) == {"receipt", "adjust", "require", "assign", "reserve", "scan", "return", "transfer"}
        assert refused.get("NotEnoughStock", 0) + refused.get("Conflict", 0) > 0
        assert len(seen) > 5 and all(row[0] is None or (row[0] >= 0 and row[1] >= 0 and row[2] >= 0) for row in seen)

        async with pool.connection() as conn:
            cur = await conn.execute(
                """
                select l.location_id, l.part_number, l.on_hand, l.reserved,
                       coalesce((select sum(m.quantity) from service.stock_movements m
                                  where m.location_id = l.location_id and m.part_number = l.part_number), 0),
                       coalesce((select sum(r.quantity) from service.stock_reservations r
                                  where r.location_id = l.location_id and r.part_number = l.part_number
                                    and r.status = 'active'), 0)
                  from service.stock_levels l
                """
            )
            levels = await cur.fetchall()
            cur = await conn.execute(
                """
                select count(*) from (
                    select location_id, part_number from service.stock_movements
                    union select location_id, part_number from service.stock_reservations
                ) used
                where not exists (select 1 from service.stock_levels l
                                   where l.location_id = used.location_id and l.part_number = used.part_number)
                """
            )
            orphans = (await cur.fetchone())[0]
            cur = await conn.execute("select count(*) from service.stock_movements")
            movements = (await cur.fetchone())[0]
        assert orphans == 0 and movements > 500
        for location_id, pn, on_hand, reserved, ledger, active in levels:
            assert on_hand == ledger, (location_id, pn)
            assert reserved == active, (location_id, pn)
            assert on_hand - reserved >= 0 and reserved >= 0
