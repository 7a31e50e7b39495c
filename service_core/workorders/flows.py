"""Work that crosses areas: alert -> preventive order (and its service request) -> dispatch -> assignment ->
notification.

Everything runs in the caller's transaction, so it all happens or none of it does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from maintenance.events import Alert, TimeToFailure
from service_core.customers import service as customers_service
from service_core.dispatch import scoring
from service_core.dispatch import service as dispatch_service
from service_core.errors import Unprocessable
from service_core.intake import service as intake_service
from service_core.intake.reports import Report
from service_core.notifications import service as notifications_service
from service_core.parts import flows as parts_flows
from service_core.plans import flows as plans_flows
from service_core.workorders import service
from service_core.workorders.models import WorkOrder

DISPATCH_ACTOR = "dispatch"
NO_ESTIMATE_DUE = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class OrderOpened:
    """A preventive order the alert opened, and who it went to (None when nobody could take it now)."""

    work_order_id: int
    asset_id: str
    failure_mode: str
    priority: str
    due_at: datetime
    engineer_id: int | None
    dispatch: scoring.Ranked | None
    notification_id: int | None


def priority_for(time_to_failure: TimeToFailure | None) -> str:
    """Urgent under a day to the probable failure, high under three days, else normal."""
    if time_to_failure is None:
        return "normal"
    if time_to_failure.hours < 24:
        return "urgent"
    if time_to_failure.hours < 72:
        return "high"
    return "normal"


def due_at_for(alert: Alert) -> datetime:
    """Before the early end of the failure estimate; a week out when there is no estimate."""
    if alert.time_to_failure is None:
        return alert.raised_at + NO_ESTIMATE_DUE
    return alert.raised_at + timedelta(hours=max(0.0, alert.time_to_failure.low))


def evidence_of(alert: Alert) -> dict:
    """What the detector saw, kept on the order: score, signals, time to failure and the readings window."""
    return {
        "failure_mode": alert.failure_mode,
        "raised_at": alert.raised_at,
        "score": alert.score,
        "signals": [asdict(s) for s in alert.signals],
        "time_to_failure": asdict(alert.time_to_failure) if alert.time_to_failure else None,
        "window": list(alert.window),
    }


async def notify_assignment(conn: AsyncConnection, *, order: WorkOrder) -> int:
    """Queue the message that tells the order's engineer about it; returns the notification id."""
    assert order.engineer_id is not None
    asset = await customers_service.get_asset(conn, asset_id=order.asset_id)
    site = await customers_service.get_site(conn, site_id=asset.site_id)
    evidence = order.evidence or {}
    payload = {
        "work_order_id": order.id,
        "engineer_id": order.engineer_id,
        "type": order.type,
        "status": order.status,
        "priority": order.priority,
        "title": order.title,
        "asset_id": order.asset_id,
        "asset_model": asset.model,
        "site": {"code": site.code, "name": site.name, "lat": site.lat, "lon": site.lon},
        "failure_mode": order.failure_mode,
        "due_at": order.due_at,
        "time_to_failure": evidence.get("time_to_failure"),
        "evidence": {
            "score": evidence.get("score"),
            "raised_at": evidence.get("raised_at"),
            "signals": evidence.get("signals", []),
            "window_samples": len(evidence.get("window", [])),
        }
        if evidence
        else None,
    }
    return await notifications_service.enqueue(
        conn, topic=notifications_service.engineer_topic(order.engineer_id), payload=payload
    )


async def assign_order(
    conn: AsyncConnection,
    *,
    work_order_id: int,
    engineer_id: int,
    actor: str,
    note: str | None = None,
    details: dict | None = None,
) -> WorkOrder:
    """Assign (or reassign) an order and notify the engineer: by hand, by dispatch or by a day plan."""
    order = await service.assign(
        conn, work_order_id=work_order_id, engineer_id=engineer_id, actor=actor, note=note, details=details
    )
    await parts_flows.reserve_for_order(conn, work_order_id=order.id, engineer_id=engineer_id, actor=actor)
    await notify_assignment(conn, order=order)
    return order


def auto_assigned(order: WorkOrder) -> bool:
    """Dispatch assigns preventive and urgent orders as they are created; the desk assigns the others."""
    return order.type == "preventive" or order.priority == "urgent"


@dataclass(frozen=True, slots=True)
class Dispatched:
    """What auto-assignment did: the order as it now is, whom it went to (None: nobody) and why."""

    order: WorkOrder
    ranked: scoring.Ranked | None
    candidates: int
    notification_id: int | None


async def auto_assign(conn: AsyncConnection, *, order: WorkOrder, now: datetime) -> Dispatched:
    """Give the order to the best engineer who has its parts (in the van, or coming by a transfer before the
    visit); with nobody, leave it unassigned with a ``not_dispatched`` event that says why.
    """
    assessment = await dispatch_service.assess_order(conn, work_order_id=order.id, at=now)
    ranked = assessment.ranked
    best = next((r for r in ranked if r.has_parts), None)
    if best is None:
        if ranked:
            lacking = ranked[0]
            note = (f"not assigned: nobody has the parts; best candidate {lacking.name} (engineer "
                    f"{lacking.engineer_id}) lacks {lacking.parts_words().removeprefix('missing ')}")
        else:
            reasons = sorted({e.reason for e in assessment.excluded})
            note = "not assigned: no engineer can take it" + (f" ({'; '.join(reasons)})" if reasons else "")
        await service.record_event(
            conn,
            work_order_id=order.id,
            actor=DISPATCH_ACTOR,
            kind="not_dispatched",
            from_status=order.status,
            to_status=order.status,
            note=note,
            details={
                "best_without_parts": ranked[0].engineer_id if ranked else None,
                "missing_parts": dict(ranked[0].missing_parts) if ranked else {},
                "excluded": {str(e.engineer_id): e.reason for e in assessment.excluded},
            },
        )
        return Dispatched(order=order, ranked=None, candidates=0, notification_id=None)
    order = await assign_order(
        conn,
        work_order_id=order.id,
        engineer_id=best.engineer_id,
        actor=DISPATCH_ACTOR,
        note=best.explain(),
        details={
            "total": best.total,
            "breakdown": asdict(best.breakdown),
            "distance_km": round(best.distance_km, 3),
            "travel_minutes": best.travel_minutes,
            "open_orders": best.open_orders,
            "parts": best.parts,
            "candidates": len(ranked),
            "with_parts": sum(r.has_parts for r in ranked),
        },
    )
    notification_id = await notifications_service.get_latest_for_order(
        conn, topic=notifications_service.engineer_topic(best.engineer_id), work_order_id=order.id
    )
    return Dispatched(order=order, ranked=best, candidates=len(ranked), notification_id=notification_id)


async def open_preventive_order(
    conn: AsyncConnection,
    *,
    alert: Alert,
    alert_id: int | None,
    actor: str = "detector",
    now: datetime | None = None,
) -> OrderOpened | None:
    """Open the preventive order the alert calls for, dispatch it and queue the engineer's notification.

    Returns None when an order for this asset and failure mode is already open: the database's partial
    unique index decides, so concurrent alerts in other transactions or processes still open one order.
    An asset the service does not know (NotFound) or an unknown failure mode (Unprocessable) is refused
    before anything is written, so the caller's transaction stays usable.
    """
    if alert.failure_mode not in scoring.FAILURE_MODE_SKILL:
        raise Unprocessable(f"unknown failure mode {alert.failure_mode!r} in the alert for {alert.asset_id!r}")
    await customers_service.get_asset(conn, asset_id=alert.asset_id)
    priority = priority_for(alert.time_to_failure)
    order = await service.insert(
        conn,
        asset_id=alert.asset_id,
        type="preventive",
        failure_mode=alert.failure_mode,
        priority=priority,
        title=f"Preventive: {alert.failure_mode.replace('_', ' ')} on {alert.asset_id}",
        description=_describe(alert),
        alert_id=alert_id,
        evidence=Jsonb(evidence_of(alert), dumps=notifications_service.json_dumps),
        due_at=due_at_for(alert),
        actor=actor,
    )
    if order is None:
        return None
    await record_detector_request(conn, alert=alert, alert_id=alert_id, work_order_id=order.id, title=order.title,
                                  priority=priority, actor=actor)
    await parts_flows.require_for_failure(conn, work_order_id=order.id, actor=actor)
    # before dispatch, so the engineer is chosen for the plan's skills and parts too
    order = await plans_flows.apply_condition_plans(conn, order=order, actor=actor)
    dispatched = await auto_assign(conn, order=order, now=now or datetime.now(UTC))
    order, best, notification_id = dispatched.order, dispatched.ranked, dispatched.notification_id
    return OrderOpened(
        work_order_id=order.id,
        asset_id=order.asset_id,
        failure_mode=alert.failure_mode,
        priority=order.priority,
        due_at=order.due_at,
        engineer_id=order.engineer_id,
        dispatch=best,
        notification_id=notification_id,
    )


async def record_detector_request(
    conn: AsyncConnection, *, alert: Alert, alert_id: int | None, work_order_id: int, title: str, priority: str,
    actor: str,
) -> int:
    """The service request of an alert, already triaged into the order it opened; returns its id.

    Every order then has its request, whatever the channel, and a customer's report of the same trouble
    while the order is open joins it as a duplicate.
    """
    evidence = evidence_of(alert)
    request = await intake_service.record_triaged(
        conn,
        report=Report(
            channel="detector",
            asset_id=alert.asset_id,
            subject=title,
            description=_describe(alert),
            priority=priority,
            actor=actor,
            external_id=f"alert:{alert_id}/work-order:{work_order_id}",
            original=notifications_service.json_dumps(evidence).encode(),
            original_type="application/json",
        ),
        work_order_id=work_order_id,
    )
    return request.id


def _describe(alert: Alert) -> str:
    mode = alert.failure_mode.replace("_", " ")
    lines = [f"Probable {mode} (score {alert.score:.3f}) raised {alert.raised_at.isoformat()}."]
    ttf = alert.time_to_failure
    if ttf is not None:
        lines.append(f"Time to failure about {ttf.hours:.1f} h ({ttf.low:.1f}-{ttf.high:.1f} h) from {ttf.metric}.")
    for s in alert.signals:
        limit = f", limit {s.limit:g}" if s.limit is not None else ""
        lines.append(f"{s.metric}: {s.value:g} vs baseline {s.baseline:g} ({s.deviation:+.1f} sd{limit}).")
    return "\n".join(lines)
