"""Provisioning a simulated fleet: a customer, its sites and assets, and engineers to look after them.

Idempotent: what already exists (by site code, asset id, engineer name) is left as it is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, time

from psycopg import AsyncConnection

from service_core.customers import service as customers
from service_core.customers.schemas import AssetCreate, CustomerCreate, SiteCreate
from service_core.engineers import service as engineers
from service_core.engineers.schemas import EngineerCreate
from service_core.errors import NotFound
from simulators.fleet import REGION, Asset

CUSTOMER = "Demo Water Utility"
ON_CALL = {"days": [1, 2, 3, 4, 5, 6, 7], "start": time(0, 0), "end": time(23, 59, 59), "timezone": "UTC"}
OFFICE = {"days": [1, 2, 3, 4, 5], "start": time(7, 0), "end": time(17, 0), "timezone": "Europe/Zurich"}

# name, skills, home base offset from the region's centre (degrees), working hours
ENGINEERS = (
    ("Ana Keller", {"mechanical": 4, "hydraulic": 3}, (0.05, -0.10), ON_CALL),
    ("Luca Meier", {"electrical": 4, "controls": 3}, (-0.12, 0.08), ON_CALL),
    ("Sara Brunner", {"mechanical": 3, "electrical": 2}, (0.20, 0.25), ON_CALL),
    ("Jonas Frei", {"hydraulic": 4, "mechanical": 2}, (-0.20, -0.30), ON_CALL),
    ("Mia Steiner", {"mechanical": 5}, (0.30, 0.40), OFFICE),
    ("Noah Huber", {"electrical": 3, "hydraulic": 2}, (-0.05, 0.35), OFFICE),
)


async def provision_fleet(conn: AsyncConnection, *, assets: Sequence[Asset]) -> dict[str, int]:
    """Create what is missing for ``assets``; returns how many of each thing were created."""
    created = {"sites": 0, "assets": 0, "engineers": 0}
    customer = next((c for c in await customers.get_all(conn, limit=1000) if c.name == CUSTOMER), None)
    if customer is None:
        customer = await customers.create(conn, customer_in=CustomerCreate(name=CUSTOMER))
    sites = {s.code: s for s in await customers.get_sites(conn)}
    by_site: dict[str, list[Asset]] = defaultdict(list)
    for asset in assets:
        by_site[asset.site_id].append(asset)
    for code, members in sorted(by_site.items()):
        if code not in sites:
            lat = sum(a.lat for a in members) / len(members)
            lon = sum(a.lon for a in members) / len(members)
            sites[code] = await customers.create_site(conn, site_in=SiteCreate(
                customer_id=customer.id, code=code, name=f"Pumping station {code}", region="CH-ZH", lat=lat, lon=lon,
            ))
            created["sites"] += 1
    for asset in assets:
        try:
            await customers.get_asset(conn, asset_id=asset.asset_id)
            continue
        except NotFound:
            pass
        await customers.create_asset(conn, asset_in=AssetCreate(
            id=asset.asset_id, site_id=sites[asset.site_id].id, model=asset.model, serial=f"SN-{asset.asset_id}",
            location="pump hall" if asset.kind == "pump" else "drive room", installed_on=date(2022, 3, 1),
            warranty_ends_on=date(2027, 3, 1), expected_interval_s=asset.expected_interval_s,
        ))
        created["assets"] += 1
    existing = {e.name for e in await engineers.get_all(conn)}
    for name, skills, (dlat, dlon), hours in ENGINEERS:
        if name in existing:
            continue
        await engineers.create(conn, engineer_in=EngineerCreate(
            name=name, skills=[{"skill": s, "level": lvl} for s, lvl in skills.items()],
            home_lat=REGION[0] + dlat, home_lon=REGION[1] + dlon, working_hours=hours,
        ))
        created["engineers"] += 1
    return created
