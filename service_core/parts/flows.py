"""Stock work that crosses areas: reserving an order's parts in its engineer's van, consuming them by scan (the
ledger and the field-work record at once), returns, transfers with approval, replenishment and forecasts.

Everything runs in the caller's transaction. Locks are taken in one order (transfer, then work order, then
stock levels by part number and location), so concurrent operations wait for each other instead of
deadlocking; the stock invariants themselves are the database's (0307).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from psycopg import AsyncConnection

from service_core.audit import act_as
from service_core.errors import Conflict, Unprocessable
from service_core.fieldwork import service as fieldwork_service
from service_core.parts import forecast as demand
from service_core.parts import replenishment, rules, service, stock
from service_core.parts.models import (
    PartDemand,
    RequiredPart,
    ReservationOutcome,
    ReturnOutcome,
    ScanOutcome,
    Shortage,
    Transfer,
)
from service_core.parts.schemas import RequiredParts, ReturnIn, Scan, TransferCreate
from service_core.workorders import service as workorders_service
from service_core.workorders.models import WorkOrder

FINISHED = frozenset({"completed", "closed", "cancelled"})
HISTORY_DAYS = 90


async def _event(conn: AsyncConnection, order: WorkOrder, *, kind: str, actor: str, **details: object) -> None:
    """A non-status event on the order: it keeps its status."""
    await workorders_service.record_event(
        conn,
        work_order_id=order.id,
        actor=actor,
        kind=kind,
        from_status=order.status,
        to_status=order.status,
        engineer_id=order.engineer_id,
        details={k: str(v) if isinstance(v, Decimal) else v for k, v in details.items()},
    )


def _strs(values: dict[str, Decimal]) -> dict[str, str]:
    return {k: str(v) for k, v in values.items()}


# --- reservations ------------------------------------------------------------------------------------------


async def reserve_for_order(
    conn: AsyncConnection, *, work_order_id: int, engineer_id: int | None, actor: str
) -> ReservationOutcome:
    """Hold the order's required parts in the engineer's van, as far as the van has them available.

    Idempotent: the order ends with, per part, an active reservation in the van for what it still needs
    (required less consumed), or as much of it as is available; reservations elsewhere (a previous
    engineer's van) or of parts no longer required are released. What the van lacks is returned as missing,
    and an event on the order records it all.
    """
    order = await workorders_service.get(conn, work_order_id=work_order_id, for_update=True)
    van = await service.get_van(conn, engineer_id=engineer_id) if engineer_id is not None else None
    required = {p.part_number: p.quantity for p in await service.get_required(conn, work_order_id=work_order_id)}
    if order.status in FINISHED:
        required = {}
    consumed = await stock.consumed_on_order(conn, work_order_id=work_order_id)
    active = await stock.get_reservations(conn, work_order_id=work_order_id)
    if not required and not active:
        return ReservationOutcome(work_order_id, engineer_id, van.id if van else None, {}, {}, [])
    await act_as(conn, actor)
    by_place = {(r.part_number, r.location_id): r for r in active}
    places = set(by_place)
    if van is not None:
        places |= {(pn, van.id) for pn in required}
    reserved: dict[str, Decimal] = {}
    released: dict[str, Decimal] = defaultdict(Decimal)
    for pn, location_id in sorted(places):
        current = by_place.get((pn, location_id))
        have = current.quantity if current else Decimal(0)
        target = Decimal(0)
        if van is not None and location_id == van.id and pn in required:
            target = max(Decimal(0), required[pn] - consumed.get(pn, Decimal(0)))
        if have > target:
            await stock.reduce_reservation(conn, reservation_id=current.id, by=have - target, status="released")
            released[pn] += have - target
            have = target
        elif have < target:
            level = await stock.get_level(conn, location_id=location_id, part_number=pn, for_update=True)
            take = min(target - have, max(level.available, Decimal(0)))
            if take > 0:
                await stock.reserve(conn, location_id=location_id, part_number=pn, work_order_id=order.id,
                                    quantity=take)
                have += take
        if have > 0:
            reserved[pn] = have
    missing = []
    for pn, quantity in sorted(required.items()):
        needed = max(Decimal(0), quantity - consumed.get(pn, Decimal(0)))
        if reserved.get(pn, Decimal(0)) < needed:
            missing.append(Shortage(pn, needed, reserved.get(pn, Decimal(0))))
    outcome = ReservationOutcome(order.id, engineer_id, van.id if van else None, reserved, dict(released), missing)
    await _event(
        conn, order, kind="parts_reserved", actor=actor, van_id=outcome.van_id, reserved=_strs(reserved),
        released=_strs(outcome.released),
        missing=[{"part_number": s.part_number, "missing": str(s.missing)} for s in missing],
    )
    return outcome


async def set_required_parts(
    conn: AsyncConnection, *, work_order_id: int, parts_in: RequiredParts
) -> tuple[list[RequiredPart], ReservationOutcome | None]:
    """Replace the parts an open order needs; an assigned order's van reservations follow."""
    order = await workorders_service.get(conn, work_order_id=work_order_id, for_update=True)
    if order.status in FINISHED:
        raise Conflict(f"work order {work_order_id} is {order.status!r}: its required parts stay as they are")
    await act_as(conn, parts_in.actor)
    parts = await service.set_required(
        conn, work_order_id=work_order_id, parts=[(p.part_number, p.quantity) for p in parts_in.parts]
    )
    outcome = None
    if order.engineer_id is not None:
        outcome = await reserve_for_order(
            conn, work_order_id=work_order_id, engineer_id=order.engineer_id, actor=parts_in.actor
        )
    return parts, outcome


async def require_for_failure(conn: AsyncConnection, *, work_order_id: int, actor: str) -> list[RequiredPart]:
    """List the parts an order's failure mode needs on its asset's model (from the part/failure-mode mapping),
    unless parts are already listed: a detector's preventive order then carries its parts before dispatch."""
    await act_as(conn, actor)
    return await service.require_for_failure(conn, work_order_id=work_order_id)


# --- consuming and returning -------------------------------------------------------------------------------


async def scan(conn: AsyncConnection, *, work_order_id: int, scan_in: Scan) -> ScanOutcome:
    """Consume a scanned part from the order's engineer's van: first the order's reservation, then free stock.

    Writes the consumption to the ledger and the part to the order's field-work record, in the caller's
    transaction; NotEnoughStock (409) says what the van has when it is not enough.
    """
    order = await workorders_service.get(conn, work_order_id=work_order_id, for_update=True)
    if order.status in FINISHED:
        raise Conflict(f"work order {work_order_id} is {order.status!r}: cannot consume parts on it")
    if order.engineer_id is None:
        raise Conflict(f"work order {work_order_id} has no engineer: assign it before scanning parts")
    part = await service.get_by_code(conn, code=scan_in.code)
    van = await service.get_van(conn, engineer_id=order.engineer_id)
    if van is None:
        raise Conflict(f"engineer {order.engineer_id} has no van to take part {part.part_number!r} from")
    level = await stock.get_level(conn, location_id=van.id, part_number=part.part_number, for_update=True)
    held = next(
        (r for r in await stock.get_reservations(conn, work_order_id=order.id)
         if r.location_id == van.id and r.part_number == part.part_number),
        None,
    )
    from_reservation = min(scan_in.quantity, held.quantity if held else Decimal(0))
    from_free = scan_in.quantity - from_reservation
    if from_free > level.available:
        raise Conflict(
            f"van {van.id} ({van.name}) has {stock.qty(max(level.available, Decimal(0)))} of part "
            f"{part.part_number!r} available and {stock.qty(from_reservation)} reserved for work order "
            f"{order.id}: cannot consume {stock.qty(scan_in.quantity)}"
        )
    await act_as(conn, scan_in.actor)
    if held is not None and from_reservation > 0:
        await stock.reduce_reservation(conn, reservation_id=held.id, by=from_reservation, status="consumed")
    movement = await stock.record_movement(
        conn, location_id=van.id, part_number=part.part_number, quantity=-scan_in.quantity, reason="consumption",
        work_order_id=order.id, reference=f"scan:{scan_in.code}", actor=scan_in.actor,
    )
    used = await fieldwork_service.create_part(
        conn, work_order_id=order.id, visit_id=scan_in.visit_id, part_number=part.part_number,
        description=part.name, quantity=scan_in.quantity, unit_cost=part.unit_cost, actor=scan_in.actor,
    )
    await _event(
        conn, order, kind="part_used", actor=scan_in.actor, part_id=used.id, part_number=part.part_number,
        quantity=scan_in.quantity, unit_cost=part.unit_cost, visit_id=used.visit_id, scanned=scan_in.code,
        van_id=van.id, movement_id=movement.id, from_reservation=from_reservation,
    )
    after = await stock.get_level(conn, location_id=van.id, part_number=part.part_number)
    return ScanOutcome(order.id, part.part_number, scan_in.quantity, van.id, from_reservation, from_free,
                       movement.id, used.id, after)


async def return_unused(conn: AsyncConnection, *, work_order_id: int, return_in: ReturnIn) -> ReturnOutcome:
    """Give back a part the order did not use: its reservations first, then consumed parts into a location.

    Consumed parts go back (a ``return`` movement) to ``location_id`` or the engineer's van, and come off the
    order's record of parts fitted; only while the order is open.
    """
    order = await workorders_service.get(conn, work_order_id=work_order_id, for_update=True)
    part = await service.get_by_code(conn, code=return_in.code)
    pn = part.part_number
    held = sorted(
        (r for r in await stock.get_reservations(conn, work_order_id=order.id) if r.part_number == pn),
        key=lambda r: r.location_id,
    )
    reserved = sum((r.quantity for r in held), Decimal(0))
    release = min(return_in.quantity, reserved)
    back = return_in.quantity - release
    location_id = None
    if back > 0:
        consumed = (await stock.consumed_on_order(conn, work_order_id=order.id)).get(pn, Decimal(0))
        if back > consumed:
            raise Conflict(
                f"work order {order.id} holds {stock.qty(reserved)} of part {pn!r} reserved and "
                f"{stock.qty(consumed)} consumed: cannot return {stock.qty(return_in.quantity)}"
            )
        if order.status in FINISHED:
            raise Conflict(f"work order {order.id} is {order.status!r}: consumed parts go back only on an open order")
        location_id = return_in.location_id
        if location_id is None:
            van = await service.get_van(conn, engineer_id=order.engineer_id) if order.engineer_id else None
            if van is None:
                raise Unprocessable(f"work order {order.id}'s engineer has no van: name the location_id to return to")
            location_id = van.id
        await service.get_location(conn, location_id=location_id)
    await act_as(conn, return_in.actor)
    left = release
    for r in held:
        if left <= 0:
            break
        take = min(left, r.quantity)
        await stock.reduce_reservation(conn, reservation_id=r.id, by=take, status="released")
        left -= take
    movement_id = None
    if back > 0:
        movement = await stock.record_movement(
            conn, location_id=location_id, part_number=pn, quantity=back, reason="return", work_order_id=order.id,
            reference="returned unused", actor=return_in.actor,
        )
        movement_id = movement.id
        await service.take_back_parts_used(conn, work_order_id=order.id, part_number=pn, quantity=back)
    await _event(
        conn, order, kind="part_returned", actor=return_in.actor, part_number=pn, released=release, returned=back,
        location_id=location_id, movement_id=movement_id,
    )
    return ReturnOutcome(order.id, pn, release, back, location_id, movement_id)


# --- transfers ---------------------------------------------------------------------------------------------


async def request_transfer(conn: AsyncConnection, *, transfer_in: TransferCreate) -> Transfer:
    """Ask for stock to move between two locations; it moves once someone else approves and it is shipped."""
    await act_as(conn, transfer_in.actor)
    return await stock.create_transfer(
        conn, from_location_id=transfer_in.from_location_id, to_location_id=transfer_in.to_location_id,
        part_number=transfer_in.part_number, quantity=transfer_in.quantity, requested_by=transfer_in.actor,
        work_order_id=transfer_in.work_order_id, expected_at=transfer_in.expected_at, note=transfer_in.note,
    )


async def act_on_transfer(
    conn: AsyncConnection, *, transfer_id: int, action: str, actor: str, note: str | None = None
) -> Transfer:
    """Approve, reject, ship, receive or cancel a transfer; shipping takes the stock out of the source (409 when
    it is not available there) and receiving puts it into the destination.

    A transfer received into the van of the engineer its order is assigned to tops up that order's reservation.
    """
    transfer = await stock.get_transfer(conn, transfer_id=transfer_id, for_update=True)
    target = rules.check_move(transfer.id, transfer.status, action)
    if action == "approve":
        rules.check_approver(transfer.id, transfer.requested_by, actor)
    order = None
    if action in ("ship", "receive") and transfer.work_order_id is not None:
        # the order before the stock: the lock order every stock operation on an order keeps
        order = await workorders_service.get(conn, work_order_id=transfer.work_order_id, for_update=True)
    van = None
    if action == "receive" and order is not None and order.engineer_id is not None and order.status not in FINISHED:
        van = await service.get_van(conn, engineer_id=order.engineer_id)
        if van is not None and van.id == transfer.to_location_id:
            # the van's levels the reservation will touch, locked in part order before the receipt's own
            needed = {p.part_number for p in await service.get_required(conn, work_order_id=order.id)}
            for pn in sorted(needed | {transfer.part_number}):
                await stock.get_level(conn, location_id=van.id, part_number=pn, for_update=True)
        else:
            van = None
    await act_as(conn, actor)
    reference = f"transfer:{transfer.id}"
    if action == "ship":
        await stock.record_movement(
            conn, location_id=transfer.from_location_id, part_number=transfer.part_number,
            quantity=-transfer.quantity, reason="transfer_out", work_order_id=transfer.work_order_id,
            reference=reference, actor=actor,
        )
    elif action == "receive":
        await stock.record_movement(
            conn, location_id=transfer.to_location_id, part_number=transfer.part_number,
            quantity=transfer.quantity, reason="transfer_in", work_order_id=transfer.work_order_id,
            reference=reference, actor=actor,
        )
    updated = await stock.set_transfer_status(
        conn, transfer_id=transfer.id, status=target,
        approved_by=actor if action == "approve" else None,
        rejected_by=actor if action == "reject" else None,
        note=note,
    )
    if van is not None:
        await reserve_for_order(conn, work_order_id=order.id, engineer_id=order.engineer_id, actor=actor)
    return updated


# --- replenishment and forecast ----------------------------------------------------------------------------


async def replenishment_suggestions(conn: AsyncConnection) -> list[replenishment.Suggestion]:
    """Locations and parts below their reorder point, with how many to send and from where."""
    positions = await service.get_positions(conn)
    below = [p for p in positions if replenishment.quantity_for(p) > 0]
    if not below:
        return []
    sources = await service.get_sources(conn, part_numbers=sorted({p.part_number for p in below}))
    return replenishment.suggest(below, sources)


async def forecast_part(
    conn: AsyncConnection, *, part_number: str, days: int, history_days: int = HISTORY_DAYS,
    now: datetime | None = None,
) -> tuple[demand.Forecast, list[PartDemand]]:
    """The part's expected demand over ``days`` (see service_core.parts.forecast for the method)."""
    await service.get(conn, part_number=part_number)
    now = now or datetime.now(UTC)
    consumed = await service.consumed_since(conn, part_number=part_number, since=now - timedelta(days=history_days))
    predicted = await service.predicted_demand(conn, part_number=part_number, until=now + timedelta(days=days))
    result = demand.forecast(
        consumed=consumed, history_days=history_days, days=days, predicted=[d.quantity for d in predicted]
    )
    return result, predicted
