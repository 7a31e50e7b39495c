"""Plans, parts and readings for the maintenance-plan tests, made through the services (caller owns the transaction)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from psycopg import AsyncConnection

from service_core.plans import service as plans
from service_core.plans.models import Plan
from service_core.plans.schemas import PlanCreate
from telemetry import store as telemetry_store
from telemetry.readings import Sample


def today() -> datetime:
    """Midnight UTC today: plans are created now, so their schedules are set relative to it."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def some_parts(conn: AsyncConnection, *numbers: str) -> None:
    for number in numbers:
        await conn.execute(
            "insert into service.parts (part_number, name, unit_cost) values (%(n)s, %(name)s, 12.5)",
            {"n": number, "name": f"Part {number}"},
        )


async def a_plan(conn: AsyncConnection, **fields) -> Plan:
    body = {
        "name": "Quarterly bearing service",
        "asset_id": "pump-001",
        "order_type": "preventive",
        "failure_mode": "bearing_wear",
        "trigger": "fixed",
        "interval_days": 30,
        "start_at": today() + timedelta(days=10),
        "lead_days": 7,
        "window_days": 5,
        "actor": "planner:ida",
    } | fields
    return await plans.create(conn, plan_in=PlanCreate.model_validate(body))


async def running_readings(
    conn: AsyncConnection, *, asset_id: str, start: datetime, rpm: list[float], step: timedelta = timedelta(minutes=1)
) -> int:
    """speed_rpm readings one ``step`` apart from ``start``, stored by the telemetry store as the gateway does."""
    samples = [Sample(asset_id=asset_id, ts=start + i * step, metrics={"speed_rpm": v}) for i, v in enumerate(rpm)]
    return await telemetry_store.write_samples(conn, samples)
