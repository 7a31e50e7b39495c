"""Work orders and their event log. Callers own the transaction; every change records an event."""

from __future__ import annotations

from datetime import datetime

from psycopg import AsyncConnection, errors, sql
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from service_core.audit import act_as
from service_core.customers import service as customers_service
from service_core.engineers import service as engineers_service
from service_core.errors import Conflict, NotFound, Unprocessable
from service_core.workorders import states
from service_core.workorders.models import WorkOrder, WorkOrderEvent
from service_core.workorders.schemas import WorkOrderCreate, WorkOrderUpdate
from service_core.workorders.states import Status

_INSERT = """
insert into service.work_orders
       (asset_id, type, failure_mode, priority, title, description, alert_id, evidence, due_at, fault_code,
        window_start, window_end, duration_minutes)
values (%(asset_id)s, %(type)s, %(failure_mode)s, %(priority)s, %(title)s, %(description)s,
        %(alert_id)s, %(evidence)s, %(due_at)s, %(fault_code)s, %(window_start)s, %(window_end)s,
        %(duration_minutes)s)
on conflict (asset_id, failure_mode)
   where type = 'preventive' and status not in ('completed', 'closed', 'cancelled')
   do nothing
returning *
"""


async def get(conn: AsyncConnection, *, work_order_id: int, for_update: bool = False) -> WorkOrder:
    """The work order, or NotFound; ``for_update`` locks it until the caller's transaction ends."""
    async with conn.cursor(row_factory=class_row(WorkOrder)) as cur:
        if for_update:
            await cur.execute("select * from service.work_orders where id = %(id)s for update", {"id": work_order_id})
        else:
            await cur.execute("select * from service.work_orders where id = %(id)s", {"id": work_order_id})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"work order {work_order_id} not found")
    return row


async def get_all(
    conn: AsyncConnection,
    *,
    status: Status | None = None,
    asset_id: str | None = None,
    engineer_id: int | None = None,
    type: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[WorkOrder]:
    """Work orders matching every filter given, newest first."""
    async with conn.cursor(row_factory=class_row(WorkOrder)) as cur:
        await cur.execute(
            """
            select * from service.work_orders
             where (%(status)s::text is null or status = %(status)s)
               and (%(asset_id)s::text is null or asset_id = %(asset_id)s)
               and (%(engineer_id)s::bigint is null or engineer_id = %(engineer_id)s)
               and (%(type)s::text is null or type = %(type)s)
             order by id desc
             limit %(limit)s offset %(offset)s
            """,
            {
                "status": status,
                "asset_id": asset_id,
                "engineer_id": engineer_id,
                "type": type,
                "limit": limit,
                "offset": offset,
            },
        )
        return await cur.fetchall()


async def get_events(conn: AsyncConnection, *, work_order_id: int) -> list[WorkOrderEvent]:
    """The order's history, oldest first."""
    async with conn.cursor(row_factory=class_row(WorkOrderEvent)) as cur:
        await cur.execute(
            "select * from service.work_order_events where work_order_id = %(id)s order by id", {"id": work_order_id}
        )
        return await cur.fetchall()


async def get_open_preventive(conn: AsyncConnection, *, asset_id: str, failure_mode: str) -> WorkOrder | None:
    """The open preventive order for this asset and failure mode, if there is one."""
    async with conn.cursor(row_factory=class_row(WorkOrder)) as cur:
        await cur.execute(
            """
            select * from service.work_orders
             where asset_id = %(asset_id)s and failure_mode = %(failure_mode)s and type = 'preventive'
               and status not in ('completed', 'closed', 'cancelled')
            """,
            {"asset_id": asset_id, "failure_mode": failure_mode},
        )
        return await cur.fetchone()


async def record_event(
    conn: AsyncConnection,
    *,
    work_order_id: int,
    actor: str,
    kind: str,
    from_status: str | None,
    to_status: str,
    engineer_id: int | None = None,
    note: str | None = None,
    details: dict | None = None,
) -> None:
    """Append to the order's history."""
    await conn.execute(
        """
        insert into service.work_order_events
               (work_order_id, actor, kind, from_status, to_status, engineer_id, note, details)
        values (%(id)s, %(actor)s, %(kind)s, %(from)s, %(to)s, %(engineer_id)s, %(note)s, %(details)s)
        """,
        {
            "id": work_order_id,
            "actor": actor,
            "kind": kind,
            "from": from_status,
            "to": to_status,
            "engineer_id": engineer_id,
            "note": note,
            "details": Jsonb(details) if details is not None else None,
        },
    )


async def insert(
    conn: AsyncConnection,
    *,
    asset_id: str,
    type: str,
    title: str,
    actor: str,
    failure_mode: str | None = None,
    priority: str = "normal",
    description: str | None = None,
    alert_id: int | None = None,
    evidence: Jsonb | None = None,
    due_at: datetime | None = None,
    fault_code: str | None = None,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    duration_minutes: int = 60,
) -> WorkOrder | None:
    """A new order with its ``created`` event; None when the asset already has this preventive order open."""
    await act_as(conn, actor)
    async with conn.cursor(row_factory=class_row(WorkOrder)) as cur:
        await cur.execute(
            _INSERT,
            {
                "asset_id": asset_id,
                "type": type,
                "failure_mode": failure_mode,
                "priority": priority,
                "title": title,
                "description": description,
                "alert_id": alert_id,
                "evidence": evidence,
                "due_at": due_at,
                "fault_code": fault_code,
                "window_start": window_start,
                "window_end": window_end,
                "duration_minutes": duration_minutes,
            },
        )
        order = await cur.fetchone()
    if order is not None:
        await record_event(
            conn, work_order_id=order.id, actor=actor, kind="created", from_status=None, to_status=order.status
        )
    return order


async def create(conn: AsyncConnection, *, work_order_in: WorkOrderCreate) -> WorkOrder:
    """A manual order; a second open preventive order for the same asset and failure mode is a Conflict."""
    await customers_service.get_asset(conn, asset_id=work_order_in.asset_id)
    order = await insert(conn, **work_order_in.model_dump())
    if order is None:
        existing = await get_open_preventive(
            conn, asset_id=work_order_in.asset_id, failure_mode=work_order_in.failure_mode
        )
        which = f" (work order {existing.id})" if existing else ""
        raise Conflict(
            f"asset {work_order_in.asset_id!r} already has an open preventive work order"
            f" for {work_order_in.failure_mode}{which}"
        )
    return order


# Database rules a move can break, each a 409 whose message the database already words.
_MOVE_RULES = frozenset(
    {"work_orders_visits_checked_out", "work_orders_checklist_done", "work_orders_signed", "work_orders_reopen_window"}
)


async def transition(
    conn: AsyncConnection,
    *,
    work_order_id: int,
    target: Status | str,
    actor: str,
    note: str | None = None,
    reason: str | None = None,
) -> WorkOrder:
    """Move the order along the state machine, or InvalidTransition; on_hold needs a ``reason``."""
    order = await get(conn, work_order_id=work_order_id, for_update=True)
    target = states.transition(order.status, target)
    if target == Status.ON_HOLD and reason not in states.HOLD_REASONS:
        raise Unprocessable(
            f"putting work order {work_order_id} on hold needs a reason,"
            f" one of: {', '.join(sorted(states.HOLD_REASONS))}"
        )
    if target != Status.ON_HOLD and reason is not None:
        raise Unprocessable("a reason is only given when putting a work order on hold")
    if target in states.NEEDS_ENGINEER and order.engineer_id is None:
        raise Conflict(f"work order {work_order_id} has no engineer; assign one before moving it to {target.value!r}")
    await act_as(conn, actor)
    try:
        async with conn.transaction(), conn.cursor(row_factory=class_row(WorkOrder)) as cur:
            await cur.execute(
                """
                update service.work_orders set status = %(to)s, hold_reason = %(reason)s
                 where id = %(id)s
                returning *
                """,
                {"to": target, "reason": reason, "id": work_order_id},
            )
            updated = await cur.fetchone()
    except errors.CheckViolation as exc:
        if exc.diag.constraint_name == "work_orders_complaint_root_cause":
            raise Conflict(
                f"complaint {work_order_id} needs a root_cause and a follow_up before it is {target.value}"
            ) from None
        if exc.diag.constraint_name in _MOVE_RULES:
            raise Conflict(exc.diag.message_primary or str(exc)) from None
        raise
    await record_event(
        conn,
        work_order_id=work_order_id,
        actor=actor,
        kind="transition",
        from_status=order.status,
        to_status=target,
        engineer_id=order.engineer_id,
        note=note,
        details={"hold_reason": reason} if reason is not None else None,
    )
    return updated


async def completed_at(conn: AsyncConnection, *, work_order_id: int) -> datetime | None:
    """When the order was last completed (its latest move into completed), or None."""
    cur = await conn.execute("select service.completed_at(%(id)s)", {"id": work_order_id})
    (at,) = await cur.fetchone()
    return at


async def last_completed_by_asset(conn: AsyncConnection, *, asset_ids: list[str]) -> dict[str, datetime]:
    """When work on each of ``asset_ids`` was last completed (any order's latest move into completed)."""
    cur = await conn.execute(
        """
        select w.asset_id, max(e.at)
          from service.work_orders w
          join service.work_order_events e on e.work_order_id = w.id
         where w.asset_id = any(%(assets)s) and e.to_status = 'completed'
         group by w.asset_id
        """,
        {"assets": asset_ids},
    )
    return dict(await cur.fetchall())


async def reopen(conn: AsyncConnection, *, work_order_id: int, reason: str, actor: str) -> WorkOrder:
    """Bring a completed or closed order back to its engineer (assigned) within the reopen window."""
    order = await get(conn, work_order_id=work_order_id, for_update=True)
    done_at = await completed_at(conn, work_order_id=work_order_id)
    now_cur = await conn.execute("select now()")
    (now,) = await now_cur.fetchone()
    target = states.reopen(order.status, completed_at=done_at, now=now)
    await act_as(conn, actor)
    try:
        async with conn.transaction(), conn.cursor(row_factory=class_row(WorkOrder)) as cur:
            await cur.execute(
                "update service.work_orders set status = %(to)s where id = %(id)s returning *",
                {"to": target, "id": work_order_id},
            )
            updated = await cur.fetchone()
    except errors.CheckViolation as exc:
        if exc.diag.constraint_name in _MOVE_RULES:
            raise Conflict(exc.diag.message_primary or str(exc)) from None
        raise
    await record_event(
        conn,
        work_order_id=work_order_id,
        actor=actor,
        kind="reopened",
        from_status=order.status,
        to_status=target,
        engineer_id=order.engineer_id,
        note=reason,
        details={"completed_at": done_at.isoformat() if done_at else None},
    )
    return updated


async def assign(
    conn: AsyncConnection,
    *,
    work_order_id: int,
    engineer_id: int,
    actor: str,
    note: str | None = None,
    details: dict | None = None,
) -> WorkOrder:
    """Give the order to an active engineer (a new, held or assigned order); the order becomes ``assigned``."""
    order = await get(conn, work_order_id=work_order_id, for_update=True)
    engineer = await engineers_service.get(conn, engineer_id=engineer_id)
    if not engineer.active:
        raise Conflict(f"engineer {engineer_id} is inactive")
    if order.status == Status.ASSIGNED:
        if order.engineer_id == engineer_id:
            raise Conflict(f"work order {work_order_id} is already assigned to engineer {engineer_id}")
    else:
        states.transition(order.status, Status.ASSIGNED)
    await act_as(conn, actor)
    async with conn.cursor(row_factory=class_row(WorkOrder)) as cur:
        await cur.execute(
            """
            update service.work_orders set status = 'assigned', engineer_id = %(engineer_id)s
             where id = %(id)s
            returning *
            """,
            {"engineer_id": engineer_id, "id": work_order_id},
        )
        updated = await cur.fetchone()
    await record_event(
        conn,
        work_order_id=work_order_id,
        actor=actor,
        kind="assigned",
        from_status=order.status,
        to_status=Status.ASSIGNED,
        engineer_id=engineer_id,
        note=note,
        details=details,
    )
    return updated


# The columns a WorkOrderUpdate may set; the statement is composed from these names only.
_UPDATABLE = (
    "priority", "title", "description", "due_at", "resolution", "root_cause", "follow_up", "billing",
    "window_start", "window_end", "duration_minutes",
)


async def update(conn: AsyncConnection, *, work_order_id: int, work_order_in: WorkOrderUpdate) -> WorkOrder:
    """Change the fields given; records an ``updated`` event with each field's value before and after."""
    order = await get(conn, work_order_id=work_order_id, for_update=True)
    given = work_order_in.model_dump(exclude_unset=True, include=set(_UPDATABLE))
    changed = {k: v for k, v in given.items() if getattr(order, k) != v}
    if not changed:
        return order
    await act_as(conn, work_order_in.actor)
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in changed
    )
    try:
        async with conn.transaction(), conn.cursor(row_factory=class_row(WorkOrder)) as cur:
            await cur.execute(
                sql.SQL("update service.work_orders set {} where id = %(id)s returning *").format(assignments),
                changed | {"id": work_order_id},
            )
            updated = await cur.fetchone()
    except errors.CheckViolation as exc:
        if exc.diag.constraint_name == "work_orders_complaint_root_cause":
            raise Conflict(f"complaint {work_order_id} is {order.status}: its root_cause and follow_up stay") from None
        if exc.diag.constraint_name == "work_orders_window":
            raise Unprocessable("window_end must be after window_start") from None
        raise
    await record_event(
        conn,
        work_order_id=work_order_id,
        actor=work_order_in.actor,
        kind="updated",
        from_status=order.status,
        to_status=order.status,
        engineer_id=order.engineer_id,
        note=work_order_in.note,
        details={
            "before": {k: _json(getattr(order, k)) for k in changed},
            "after": {k: _json(v) for k, v in changed.items()},
        },
    )
    return updated


def _json(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value
