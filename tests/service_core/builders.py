"""Small fleets for tests, built through the services (the caller owns the transaction)."""

from __future__ import annotations

from datetime import UTC, datetime, time

from psycopg import AsyncConnection

from maintenance.events import Alert, Signal, TimeToFailure
from service_core.customers import service as customers
from service_core.customers.models import Asset, Site
from service_core.customers.schemas import AssetCreate, CustomerCreate, SiteCreate
from service_core.engineers import service as engineers
from service_core.engineers.models import Engineer
from service_core.engineers.schemas import EngineerCreate

# Rotterdam harbour, and places at known distances from it
SITE = (51.9050, 4.4660)
NEAR = (51.9225, 4.4792)  # about 2 km
MID = (52.3676, 4.9041)  # Amsterdam, about 60 km
FAR = (50.8503, 4.3517)  # Brussels, about 120 km

ALWAYS = {"days": [1, 2, 3, 4, 5, 6, 7], "start": time(0, 0), "end": time(23, 59, 59), "timezone": "UTC"}


async def a_site(conn: AsyncConnection, *, code: str = "rtm-01", at: tuple[float, float] = SITE) -> Site:
    customer = await customers.create(conn, customer_in=CustomerCreate(name=f"Customer of {code}"))
    return await customers.create_site(
        conn,
        site_in=SiteCreate(
            customer_id=customer.id, code=code, name=f"Site {code}", region="NL-ZH", lat=at[0], lon=at[1]
        ),
    )


async def an_asset(conn: AsyncConnection, *, site: Site, asset_id: str = "pump-001", model: str = "CP-200") -> Asset:
    return await customers.create_asset(
        conn, asset_in=AssetCreate(id=asset_id, site_id=site.id, model=model, serial=f"SN-{asset_id}")
    )


async def an_engineer(
    conn: AsyncConnection,
    *,
    name: str = "Eva",
    skills: dict[str, int] | None = None,
    home: tuple[float, float] = NEAR,
    hours: dict | None = None,
    active: bool = True,
) -> Engineer:
    skills = {"mechanical": 3} if skills is None else skills
    return await engineers.create(
        conn,
        engineer_in=EngineerCreate(
            name=name,
            skills=[{"skill": s, "level": level} for s, level in skills.items()],
            home_lat=home[0],
            home_lon=home[1],
            working_hours=hours or ALWAYS,
            active=active,
        ),
    )


def an_alert(
    asset_id: str = "pump-001", *, failure_mode: str = "bearing_wear", ttf_hours: float | None = 18.0
) -> Alert:
    return Alert(
        asset_id=asset_id,
        failure_mode=failure_mode,
        raised_at=datetime(2025, 3, 4, 10, 0, tzinfo=UTC),
        score=0.93,
        signals=(
            Signal(metric="vibration_rms_mm_s", value=7.8, baseline=2.1, deviation=6.4, limit=11.2),
            Signal(metric="bearing_temp_c", value=71.5, baseline=55.0, deviation=4.1, limit=90.0),
        ),
        time_to_failure=(
            TimeToFailure(hours=ttf_hours, low=ttf_hours * 0.6, high=ttf_hours * 1.5, metric="vibration_rms_mm_s")
            if ttf_hours is not None
            else None
        ),
        window=(
            {
                "ts": "2025-03-04T09:59:58+00:00",
                "metrics": {"vibration_rms_mm_s": 7.6, "bearing_temp_c": 71.2},
                "score": 0.9,
            },
            {
                "ts": "2025-03-04T09:59:59+00:00",
                "metrics": {"vibration_rms_mm_s": 7.8, "bearing_temp_c": 71.5},
                "score": 0.93,
            },
        ),
    )
