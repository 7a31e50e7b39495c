"""The parts catalogue, stock locations, an order's required parts, reorder points and demand, in the database.

Literal SQL with named parameters; callers own the transaction and name the actor
(service_core.audit.act_as) before writing. The ledger, levels, reservations and transfers are in
service_core.parts.stock.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from psycopg import AsyncConnection, errors
from psycopg.rows import class_row

from service_core.errors import Conflict, NotFound, Unprocessable
from service_core.parts.models import Part, PartDemand, ReorderPoint, RequiredPart, StockLocation
from service_core.parts.replenishment import Position, Source
from service_core.parts.schemas import LocationCreate, LocationUpdate, PartCreate, PartUpdate

_PART = """
select p.part_number, p.name, p.barcode, p.unit_cost, p.created_at,
       coalesce((select array_agg(m.asset_model order by m.asset_model)
                   from service.part_models m where m.part_number = p.part_number), '{}') as models,
       coalesce((select jsonb_agg(jsonb_build_object('failure_mode', f.failure_mode, 'quantity', f.quantity::text)
                                  order by f.failure_mode)
                   from service.part_failure_modes f where f.part_number = p.part_number), '[]') as failure_modes
  from service.parts p
"""

# --- catalogue ---------------------------------------------------------------------------------------------


async def get(conn: AsyncConnection, *, part_number: str) -> Part:
    """The part with the models it fits and the failure modes it repairs, or NotFound."""
    async with conn.cursor(row_factory=class_row(Part)) as cur:
        await cur.execute(_PART + " where p.part_number = %(pn)s", {"pn": part_number})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"part {part_number!r} not found")
    return row


async def get_by_code(conn: AsyncConnection, *, code: str) -> Part:
    """The part a scanned code names: its barcode, else its part number; NotFound when neither."""
    async with conn.cursor(row_factory=class_row(Part)) as cur:
        await cur.execute(
            _PART + " where p.barcode = %(code)s or p.part_number = %(code)s order by p.barcode = %(code)s desc",
            {"code": code},
        )
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no part has the barcode or part number {code!r}")
    return row


async def get_all(
    conn: AsyncConnection, *, asset_model: str | None = None, limit: int = 100, offset: int = 0
) -> list[Part]:
    """Parts in part-number order; only those that fit ``asset_model`` when given."""
    async with conn.cursor(row_factory=class_row(Part)) as cur:
        await cur.execute(
            _PART
            + """
             where %(model)s::text is null
                or exists (select 1 from service.part_models m
                            where m.part_number = p.part_number and m.asset_model = %(model)s)
             order by p.part_number
             limit %(limit)s offset %(offset)s
            """,
            {"model": asset_model, "limit": limit, "offset": offset},
        )
        return await cur.fetchall()


async def _set_fits(conn: AsyncConnection, part_number: str, models: list[str] | None, modes: list | None) -> None:
    if models is not None:
        await conn.execute("delete from service.part_models where part_number = %(pn)s", {"pn": part_number})
        for model in models:
            await conn.execute(
                "insert into service.part_models (part_number, asset_model) values (%(pn)s, %(model)s)",
                {"pn": part_number, "model": model},
            )
    if modes is not None:
        await conn.execute("delete from service.part_failure_modes where part_number = %(pn)s", {"pn": part_number})
        for mode in modes:
            await conn.execute(
                """
                insert into service.part_failure_modes (part_number, failure_mode, quantity)
                values (%(pn)s, %(mode)s, %(quantity)s)
                """,
                {"pn": part_number, "mode": mode.failure_mode, "quantity": mode.quantity},
            )


async def _barcode_owner(conn: AsyncConnection, barcode: str | None) -> str:
    cur = await conn.execute("select part_number from service.parts where barcode = %(b)s", {"b": barcode})
    row = await cur.fetchone()
    return row[0] if row else "another part"


async def create(conn: AsyncConnection, *, part_in: PartCreate) -> Part:
    """Add a part to the catalogue; a taken part number or barcode is a Conflict."""
    try:
        async with conn.transaction():
            await conn.execute(
                """
                insert into service.parts (part_number, name, barcode, unit_cost)
                values (%(part_number)s, %(name)s, %(barcode)s, %(unit_cost)s)
                """,
                part_in.model_dump(include={"part_number", "name", "barcode", "unit_cost"}),
            )
    except errors.UniqueViolation as exc:
        if exc.diag.constraint_name == "parts_pkey":
            raise Conflict(f"part {part_in.part_number!r} is already in the catalogue") from None
        owner = await _barcode_owner(conn, part_in.barcode)
        raise Conflict(f"barcode {part_in.barcode!r} is already the barcode of {owner}") from None
    await _set_fits(conn, part_in.part_number, part_in.models, part_in.failure_modes)
    return await get(conn, part_number=part_in.part_number)


async def update(conn: AsyncConnection, *, part_number: str, part_in: PartUpdate) -> Part:
    """Change the fields given; ``models`` and ``failure_modes`` replace the lists."""
    part = await get(conn, part_number=part_number)
    given = part_in.model_dump(exclude_unset=True, include={"name", "barcode", "unit_cost"})
    values = {"name": part.name, "barcode": part.barcode, "unit_cost": part.unit_cost} | given
    try:
        async with conn.transaction():
            await conn.execute(
                """
                update service.parts set name = %(name)s, barcode = %(barcode)s, unit_cost = %(unit_cost)s
                 where part_number = %(pn)s
                """,
                values | {"pn": part_number},
            )
    except errors.UniqueViolation:
        owner = await _barcode_owner(conn, values["barcode"])
        raise Conflict(f"barcode {values['barcode']!r} is already the barcode of {owner}") from None
    await _set_fits(conn, part_number, part_in.models, part_in.failure_modes)
    return await get(conn, part_number=part_number)


# --- stock locations ---------------------------------------------------------------------------------------


async def get_location(conn: AsyncConnection, *, location_id: int) -> StockLocation:
    """The stock location, or NotFound."""
    async with conn.cursor(row_factory=class_row(StockLocation)) as cur:
        await cur.execute("select * from service.stock_locations where id = %(id)s", {"id": location_id})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"stock location {location_id} not found")
    return row


async def get_van(conn: AsyncConnection, *, engineer_id: int) -> StockLocation | None:
    """The engineer's van, if they have one."""
    async with conn.cursor(row_factory=class_row(StockLocation)) as cur:
        await cur.execute("select * from service.stock_locations where engineer_id = %(id)s", {"id": engineer_id})
        return await cur.fetchone()


async def get_locations(conn: AsyncConnection, *, kind: str | None = None) -> list[StockLocation]:
    """Stock locations in id order, of one kind when given."""
    async with conn.cursor(row_factory=class_row(StockLocation)) as cur:
        await cur.execute(
            "select * from service.stock_locations where %(kind)s::text is null or kind = %(kind)s order by id",
            {"kind": kind},
        )
        return await cur.fetchall()


def _location_error(exc: errors.IntegrityError, location_in: LocationCreate | LocationUpdate) -> Exception:
    constraint = exc.diag.constraint_name
    if constraint == "stock_locations_name_key":
        return Conflict(f"a stock location is already called {location_in.name!r}")
    if constraint == "stock_locations_engineer_id_key":
        return Conflict(f"engineer {getattr(location_in, 'engineer_id', None)} already has a van")
    if constraint == "stock_locations_engineer_id_fkey":
        return NotFound(f"engineer {getattr(location_in, 'engineer_id', None)} not found")
    if constraint == "stock_locations_replenished_from_id_fkey":
        return NotFound(f"stock location {location_in.replenished_from_id} not found")
    if constraint == "stock_locations_not_own_source":
        return Unprocessable("a location cannot be replenished from itself")
    return exc


async def create_location(conn: AsyncConnection, *, location_in: LocationCreate) -> StockLocation:
    """A warehouse, branch or an engineer's van."""
    try:
        async with conn.transaction(), conn.cursor(row_factory=class_row(StockLocation)) as cur:
            await cur.execute(
                """
                insert into service.stock_locations (kind, name, engineer_id, region, lat, lon, replenished_from_id)
                values (%(kind)s, %(name)s, %(engineer_id)s, %(region)s, %(lat)s, %(lon)s, %(replenished_from_id)s)
                returning *
                """,
                location_in.model_dump(exclude={"actor"}),
            )
            return await cur.fetchone()
    except (errors.UniqueViolation, errors.ForeignKeyViolation, errors.CheckViolation) as exc:
        raise _location_error(exc, location_in) from None


async def update_location(conn: AsyncConnection, *, location_id: int, location_in: LocationUpdate) -> StockLocation:
    """Change the fields given."""
    location = await get_location(conn, location_id=location_id)
    fields = ("name", "region", "lat", "lon", "replenished_from_id")
    values = {f: getattr(location, f) for f in fields} | location_in.model_dump(exclude_unset=True, include=set(fields))
    try:
        async with conn.transaction(), conn.cursor(row_factory=class_row(StockLocation)) as cur:
            await cur.execute(
                """
                update service.stock_locations
                   set name = %(name)s, region = %(region)s, lat = %(lat)s, lon = %(lon)s,
                       replenished_from_id = %(replenished_from_id)s
                 where id = %(id)s
                returning *
                """,
                values | {"id": location_id},
            )
            return await cur.fetchone()
    except (errors.UniqueViolation, errors.ForeignKeyViolation, errors.CheckViolation) as exc:
        raise _location_error(exc, location_in) from None


# --- parts an order needs ----------------------------------------------------------------------------------


async def get_required(conn: AsyncConnection, *, work_order_id: int) -> list[RequiredPart]:
    """The parts the order needs, in part-number order."""
    async with conn.cursor(row_factory=class_row(RequiredPart)) as cur:
        await cur.execute(
            "select * from service.work_order_parts where work_order_id = %(id)s order by part_number",
            {"id": work_order_id},
        )
        return await cur.fetchall()


async def set_required(
    conn: AsyncConnection, *, work_order_id: int, parts: list[tuple[str, Decimal]]
) -> list[RequiredPart]:
    """Replace the parts the order needs; an unknown part is NotFound."""
    await conn.execute("delete from service.work_order_parts where work_order_id = %(id)s", {"id": work_order_id})
    for part_number, quantity in parts:
        try:
            async with conn.transaction():
                await conn.execute(
                    """
                    insert into service.work_order_parts (work_order_id, part_number, quantity)
                    values (%(id)s, %(pn)s, %(quantity)s)
                    """,
                    {"id": work_order_id, "pn": part_number, "quantity": quantity},
                )
        except errors.ForeignKeyViolation:
            raise NotFound(f"part {part_number!r} not found") from None
    return await get_required(conn, work_order_id=work_order_id)


async def require_for_failure(conn: AsyncConnection, *, work_order_id: int) -> list[RequiredPart]:
    """Parts the order's failure mode takes on its asset's model, when no parts are listed for it yet."""
    await conn.execute(
        """
        insert into service.work_order_parts (work_order_id, part_number, quantity)
        select w.id, f.part_number, f.quantity
          from service.work_orders w
          join service.assets a on a.id = w.asset_id
          join service.part_failure_modes f on f.failure_mode = w.failure_mode
          join service.part_models m on m.part_number = f.part_number and m.asset_model = a.model
         where w.id = %(id)s
           and not exists (select 1 from service.work_order_parts p where p.work_order_id = w.id)
        on conflict do nothing
        """,
        {"id": work_order_id},
    )
    return await get_required(conn, work_order_id=work_order_id)


# --- reorder points and replenishment ----------------------------------------------------------------------


async def get_reorder_points(conn: AsyncConnection, *, location_id: int) -> list[ReorderPoint]:
    """The location's reorder points in part-number order."""
    async with conn.cursor(row_factory=class_row(ReorderPoint)) as cur:
        await cur.execute(
            "select * from service.stock_reorder_points where location_id = %(id)s order by part_number",
            {"id": location_id},
        )
        return await cur.fetchall()


async def put_reorder_point(
    conn: AsyncConnection, *, location_id: int, part_number: str, reorder_point: Decimal,
    reorder_quantity: Decimal, actor: str,
) -> ReorderPoint:
    """Set (or replace) the reorder point of a part at a location."""
    async with conn.cursor(row_factory=class_row(ReorderPoint)) as cur:
        await cur.execute(
            """
            insert into service.stock_reorder_points
                   (location_id, part_number, reorder_point, reorder_quantity, updated_by)
            values (%(location_id)s, %(pn)s, %(point)s, %(quantity)s, %(actor)s)
            on conflict (location_id, part_number) do update
               set reorder_point = excluded.reorder_point, reorder_quantity = excluded.reorder_quantity,
                   updated_by = excluded.updated_by, updated_at = now()
            returning *
            """,
            {"location_id": location_id, "pn": part_number, "point": reorder_point, "quantity": reorder_quantity,
             "actor": actor},
        )
        return await cur.fetchone()


async def delete_reorder_point(conn: AsyncConnection, *, location_id: int, part_number: str) -> None:
    """Remove a reorder point; NotFound when there is none."""
    cur = await conn.execute(
        "delete from service.stock_reorder_points where location_id = %(id)s and part_number = %(pn)s",
        {"id": location_id, "pn": part_number},
    )
    if cur.rowcount == 0:
        raise NotFound(f"no reorder point for part {part_number!r} at stock location {location_id}")


async def get_positions(conn: AsyncConnection) -> list[Position]:
    """Every reorder point with what is available there and what is on its way (open transfers to it)."""
    async with conn.cursor(row_factory=class_row(Position)) as cur:
        await cur.execute(
            """
            select r.location_id, l.kind, l.region, l.replenished_from_id, r.part_number,
                   coalesce(s.on_hand - s.reserved, 0) as available,
                   coalesce((select sum(t.quantity) from service.stock_transfers t
                              where t.to_location_id = r.location_id and t.part_number = r.part_number
                                and t.status in ('requested', 'approved', 'in_transit')), 0) as incoming,
                   r.reorder_point, r.reorder_quantity
              from service.stock_reorder_points r
              join service.stock_locations l on l.id = r.location_id
              left join service.stock_levels s on s.location_id = r.location_id and s.part_number = r.part_number
             order by r.location_id, r.part_number
            """
        )
        return await cur.fetchall()


async def get_sources(conn: AsyncConnection, *, part_numbers: list[str]) -> list[Source]:
    """Where each part is available, at warehouses and branches."""
    async with conn.cursor(row_factory=class_row(Source)) as cur:
        await cur.execute(
            """
            select s.location_id, l.kind, l.region, s.part_number, s.on_hand - s.reserved as available
              from service.stock_levels s join service.stock_locations l on l.id = s.location_id
             where s.part_number = any(%(pns)s) and l.kind <> 'van' and s.on_hand - s.reserved > 0
             order by s.location_id, s.part_number
            """,
            {"pns": part_numbers},
        )
        return await cur.fetchall()


# --- demand ------------------------------------------------------------------------------------------------


async def consumed_since(conn: AsyncConnection, *, part_number: str, since: datetime) -> Decimal:
    """Consumed everywhere since ``since``, net of consumed parts returned."""
    cur = await conn.execute(
        """
        select coalesce(-sum(quantity), 0) from service.stock_movements
         where part_number = %(pn)s and at >= %(since)s
           and (reason = 'consumption' or (reason = 'return' and work_order_id is not null))
        """,
        {"pn": part_number, "since": since},
    )
    return (await cur.fetchone())[0]


async def predicted_demand(conn: AsyncConnection, *, part_number: str, until: datetime) -> list[PartDemand]:
    """Predicted failures before ``until`` that need the part, on assets of models it fits.

    Open preventive orders (due before ``until`` or without a due date) and open detector alerts with no
    open order for their asset and failure mode (expected to fail before ``until``, or with no estimate).
    """
    async with conn.cursor(row_factory=class_row(PartDemand)) as cur:
        await cur.execute(
            """
            select 'work_order' as source, w.id, w.asset_id, w.failure_mode, f.quantity
              from service.work_orders w
              join service.assets a on a.id = w.asset_id
              join service.part_failure_modes f on f.failure_mode = w.failure_mode and f.part_number = %(pn)s
              join service.part_models m on m.part_number = f.part_number and m.asset_model = a.model
             where w.type = 'preventive' and w.status not in ('completed', 'closed', 'cancelled')
               and (w.due_at is null or w.due_at <= %(until)s)
            union all
            select 'alert', al.id, al.asset_id, al.failure_mode, f.quantity
              from maintenance.alerts al
              join service.assets a on a.id = al.asset_id
              join service.part_failure_modes f on f.failure_mode = al.failure_mode and f.part_number = %(pn)s
              join service.part_models m on m.part_number = f.part_number and m.asset_model = a.model
             where al.cleared_at is null
               and (al.time_to_failure is null
                    or al.raised_at + make_interval(secs => (al.time_to_failure ->> 'hours')::float8 * 3600)
                       <= %(until)s)
               and not exists (select 1 from service.work_orders w
                                where w.asset_id = al.asset_id and w.failure_mode = al.failure_mode
                                  and w.type = 'preventive' and w.status not in ('completed', 'closed', 'cancelled'))
             order by 1, 2
            """,
            {"pn": part_number, "until": until},
        )
        return await cur.fetchall()


# --- the field-work record of parts fitted -----------------------------------------------------------------


async def take_back_parts_used(
    conn: AsyncConnection, *, work_order_id: int, part_number: str, quantity: Decimal
) -> None:
    """Take ``quantity`` of a returned part off the order's record of parts fitted, latest records first."""
    cur = await conn.execute(
        """
        select id, quantity from service.parts_used
         where work_order_id = %(id)s and part_number = %(pn)s
         order by id desc
           for update
        """,
        {"id": work_order_id, "pn": part_number},
    )
    left = quantity
    for part_used_id, used in await cur.fetchall():
        if left <= 0:
            break
        if used <= left:
            await conn.execute("delete from service.parts_used where id = %(id)s", {"id": part_used_id})
        else:
            await conn.execute(
                "update service.parts_used set quantity = quantity - %(q)s where id = %(id)s",
                {"id": part_used_id, "q": left},
            )
        left -= min(used, left)
