"""The stock ledger, levels, reservations and transfers in the database.

The ledger is append-only and the levels follow it by trigger (0307): on hand is the sum of a location's
movements, reserved the sum of its active reservations, and a write that would make available (on hand less
reserved) negative is refused by the database. Here such a refusal becomes a Conflict that says what is
available, inside a savepoint so the caller's transaction stays usable.
"""

from __future__ import annotations

from decimal import Decimal

from psycopg import AsyncConnection, errors
from psycopg.rows import class_row

from service_core.errors import Conflict, NotFound
from service_core.parts.models import Movement, Reservation, StockLevel, Transfer

_LEVEL_CHECKS = ("stock_levels_available_not_negative", "stock_levels_on_hand_not_negative",
                 "stock_levels_reserved_not_negative")


class NotEnoughStock(Conflict):
    """A location does not have the quantity available."""

    def __init__(self, *, location_id: int, part_number: str, wanted: Decimal, level: StockLevel) -> None:
        super().__init__(
            f"stock location {location_id} has {qty(level.available)} of part {part_number!r} available "
            f"({qty(level.on_hand)} on hand, {qty(level.reserved)} reserved): {qty(wanted)} needed"
        )
        self.available = level.available


def qty(value: Decimal) -> str:
    """A quantity as people write it: 2, 0.5, 1.25."""
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f").rstrip("0")


# --- levels ------------------------------------------------------------------------------------------------


async def get_level(
    conn: AsyncConnection, *, location_id: int, part_number: str, for_update: bool = False
) -> StockLevel:
    """On hand and reserved (zero when the part never was there); ``for_update`` locks an existing row."""
    lock = " for update" if for_update else ""
    async with conn.cursor(row_factory=class_row(StockLevel)) as cur:
        await cur.execute(
            "select * from service.stock_levels where location_id = %(loc)s and part_number = %(pn)s" + lock,
            {"loc": location_id, "pn": part_number},
        )
        row = await cur.fetchone()
    return row or StockLevel(location_id, part_number, Decimal(0), Decimal(0))


async def get_levels(
    conn: AsyncConnection, *, location_id: int | None = None, part_number: str | None = None
) -> list[StockLevel]:
    """Levels of a location and/or a part, in location and part order."""
    async with conn.cursor(row_factory=class_row(StockLevel)) as cur:
        await cur.execute(
            """
            select * from service.stock_levels
             where (%(loc)s::bigint is null or location_id = %(loc)s)
               and (%(pn)s::text is null or part_number = %(pn)s)
             order by location_id, part_number
            """,
            {"loc": location_id, "pn": part_number},
        )
        return await cur.fetchall()


# --- the ledger --------------------------------------------------------------------------------------------


async def record_movement(
    conn: AsyncConnection,
    *,
    location_id: int,
    part_number: str,
    quantity: Decimal,
    reason: str,
    actor: str,
    work_order_id: int | None = None,
    reference: str | None = None,
) -> Movement:
    """Append to the ledger; NotEnoughStock when it would take more than is available."""
    try:
        async with conn.transaction(), conn.cursor(row_factory=class_row(Movement)) as cur:
            await cur.execute(
                """
                insert into service.stock_movements
                       (location_id, part_number, quantity, reason, work_order_id, reference, actor)
                values (%(loc)s, %(pn)s, %(quantity)s, %(reason)s, %(order)s, %(reference)s, %(actor)s)
                returning *
                """,
                {"loc": location_id, "pn": part_number, "quantity": quantity, "reason": reason,
                 "order": work_order_id, "reference": reference, "actor": actor},
            )
            return await cur.fetchone()
    except errors.CheckViolation as exc:
        if exc.diag.constraint_name not in _LEVEL_CHECKS:
            raise
        level = await get_level(conn, location_id=location_id, part_number=part_number)
        raise NotEnoughStock(location_id=location_id, part_number=part_number, wanted=-quantity, level=level) from None
    except errors.ForeignKeyViolation as exc:
        if exc.diag.constraint_name == "stock_movements_part_number_fkey":
            raise NotFound(f"part {part_number!r} not found") from None
        if exc.diag.constraint_name == "stock_movements_location_id_fkey":
            raise NotFound(f"stock location {location_id} not found") from None
        raise


async def get_movements(
    conn: AsyncConnection, *, location_id: int, part_number: str | None = None, limit: int = 100, offset: int = 0
) -> list[Movement]:
    """A location's ledger, newest first."""
    async with conn.cursor(row_factory=class_row(Movement)) as cur:
        await cur.execute(
            """
            select * from service.stock_movements
             where location_id = %(loc)s and (%(pn)s::text is null or part_number = %(pn)s)
             order by id desc
             limit %(limit)s offset %(offset)s
            """,
            {"loc": location_id, "pn": part_number, "limit": limit, "offset": offset},
        )
        return await cur.fetchall()


async def consumed_on_order(conn: AsyncConnection, *, work_order_id: int) -> dict[str, Decimal]:
    """Part number -> consumed for the order, net of what was returned."""
    cur = await conn.execute(
        """
        select part_number, -sum(quantity) from service.stock_movements
         where work_order_id = %(id)s and reason in ('consumption', 'return')
         group by part_number
        """,
        {"id": work_order_id},
    )
    return {pn: q for pn, q in await cur.fetchall() if q > 0}


# --- reservations ------------------------------------------------------------------------------------------


async def get_reservations(
    conn: AsyncConnection, *, work_order_id: int, status: str | None = "active"
) -> list[Reservation]:
    """The order's reservations (the active ones unless ``status`` is None), oldest first."""
    async with conn.cursor(row_factory=class_row(Reservation)) as cur:
        await cur.execute(
            """
            select * from service.stock_reservations
             where work_order_id = %(id)s and (%(status)s::text is null or status = %(status)s)
             order by id
            """,
            {"id": work_order_id, "status": status},
        )
        return await cur.fetchall()


async def reserve(
    conn: AsyncConnection, *, location_id: int, part_number: str, work_order_id: int, quantity: Decimal
) -> Reservation:
    """Hold ``quantity`` more for the order at the location (one active reservation per order, part, place)."""
    try:
        async with conn.transaction(), conn.cursor(row_factory=class_row(Reservation)) as cur:
            await cur.execute(
                """
                insert into service.stock_reservations (location_id, part_number, work_order_id, quantity)
                values (%(loc)s, %(pn)s, %(order)s, %(quantity)s)
                on conflict (work_order_id, part_number, location_id) where status = 'active'
                do update set quantity = service.stock_reservations.quantity + excluded.quantity
                returning *
                """,
                {"loc": location_id, "pn": part_number, "order": work_order_id, "quantity": quantity},
            )
            return await cur.fetchone()
    except errors.CheckViolation as exc:
        if exc.diag.constraint_name not in _LEVEL_CHECKS:
            raise
        level = await get_level(conn, location_id=location_id, part_number=part_number)
        raise NotEnoughStock(location_id=location_id, part_number=part_number, wanted=quantity, level=level) from None


async def reduce_reservation(conn: AsyncConnection, *, reservation_id: int, by: Decimal, status: str) -> None:
    """Close ``by`` of an active reservation as ``status`` (consumed or released).

    All of it: the reservation itself is closed. Part of it: the reservation keeps the rest and a closed
    reservation records the part that went.
    """
    cur = await conn.execute(
        """
        update service.stock_reservations
           set status = case when quantity <= %(by)s then %(status)s else status end,
               closed_at = case when quantity <= %(by)s then now() end,
               quantity = case when quantity <= %(by)s then quantity else quantity - %(by)s end
         where id = %(id)s and status = 'active'
        returning status
        """,
        {"id": reservation_id, "by": by, "status": status},
    )
    row = await cur.fetchone()
    if row is None:
        raise Conflict(f"reservation {reservation_id} is no longer active")
    if row[0] == "active":
        await conn.execute(
            """
            insert into service.stock_reservations
                   (location_id, part_number, work_order_id, quantity, status, closed_at)
            select location_id, part_number, work_order_id, %(by)s, %(status)s, now()
              from service.stock_reservations where id = %(id)s
            """,
            {"id": reservation_id, "by": by, "status": status},
        )


# --- transfers ---------------------------------------------------------------------------------------------


async def get_transfer(conn: AsyncConnection, *, transfer_id: int, for_update: bool = False) -> Transfer:
    """The transfer, or NotFound; ``for_update`` locks it until the caller's transaction ends."""
    lock = " for update" if for_update else ""
    async with conn.cursor(row_factory=class_row(Transfer)) as cur:
        await cur.execute("select * from service.stock_transfers where id = %(id)s" + lock, {"id": transfer_id})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"stock transfer {transfer_id} not found")
    return row


async def get_transfers(
    conn: AsyncConnection, *, status: str | None = None, location_id: int | None = None, limit: int = 100,
    offset: int = 0,
) -> list[Transfer]:
    """Transfers newest first, by status and/or a location they leave or reach."""
    async with conn.cursor(row_factory=class_row(Transfer)) as cur:
        await cur.execute(
            """
            select * from service.stock_transfers
             where (%(status)s::text is null or status = %(status)s)
               and (%(loc)s::bigint is null or %(loc)s in (from_location_id, to_location_id))
             order by id desc
             limit %(limit)s offset %(offset)s
            """,
            {"status": status, "loc": location_id, "limit": limit, "offset": offset},
        )
        return await cur.fetchall()


async def create_transfer(
    conn: AsyncConnection, *, from_location_id: int, to_location_id: int, part_number: str, quantity: Decimal,
    requested_by: str, work_order_id: int | None = None, expected_at=None, note: str | None = None,
) -> Transfer:
    """A requested transfer."""
    try:
        async with conn.transaction(), conn.cursor(row_factory=class_row(Transfer)) as cur:
            await cur.execute(
                """
                insert into service.stock_transfers
                       (from_location_id, to_location_id, part_number, quantity, work_order_id, expected_at,
                        requested_by, note)
                values (%(from)s, %(to)s, %(pn)s, %(quantity)s, %(order)s, %(expected_at)s, %(by)s, %(note)s)
                returning *
                """,
                {"from": from_location_id, "to": to_location_id, "pn": part_number, "quantity": quantity,
                 "order": work_order_id, "expected_at": expected_at, "by": requested_by, "note": note},
            )
            return await cur.fetchone()
    except errors.ForeignKeyViolation as exc:
        what = {
            "stock_transfers_from_location_id_fkey": f"stock location {from_location_id}",
            "stock_transfers_to_location_id_fkey": f"stock location {to_location_id}",
            "stock_transfers_part_number_fkey": f"part {part_number!r}",
            "stock_transfers_work_order_id_fkey": f"work order {work_order_id}",
        }.get(exc.diag.constraint_name)
        if what is None:
            raise
        raise NotFound(f"{what} not found") from None


async def set_transfer_status(
    conn: AsyncConnection, *, transfer_id: int, status: str, approved_by: str | None = None,
    rejected_by: str | None = None, note: str | None = None,
) -> Transfer:
    """Move the transfer (the database refuses moves its life does not allow) and stamp who and when."""
    async with conn.cursor(row_factory=class_row(Transfer)) as cur:
        await cur.execute(
            """
            update service.stock_transfers
               set status = %(status)s,
                   approved_by = coalesce(%(approved_by)s, approved_by),
                   rejected_by = coalesce(%(rejected_by)s, rejected_by),
                   note = coalesce(%(note)s, note),
                   shipped_at = case when %(status)s = 'in_transit' then now() else shipped_at end,
                   received_at = case when %(status)s = 'received' then now() else received_at end
             where id = %(id)s
            returning *
            """,
            {"id": transfer_id, "status": status, "approved_by": approved_by, "rejected_by": rejected_by,
             "note": note},
        )
        return await cur.fetchone()
