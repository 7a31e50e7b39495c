"""Parts, stock locations and orders for the spare-parts tests, made through the API."""

from __future__ import annotations

import httpx

from tests.service_core.builders import NEAR, SITE


async def post(client: httpx.AsyncClient, url: str, body: dict, status: int = 201) -> dict:
    response = await client.post(url, json=body)
    assert response.status_code == status, response.text
    return response.json()


async def a_part(client: httpx.AsyncClient, part_number: str = "BRG-6204", **extra) -> dict:
    body = {"part_number": part_number, "name": f"Part {part_number}", "unit_cost": "12.50", "models": ["CP-200"],
            "actor": "stores:lea"} | extra
    return await post(client, "/parts", body)


async def a_location(client: httpx.AsyncClient, name: str, kind: str = "warehouse", **extra) -> dict:
    return await post(client, "/stock-locations", {"kind": kind, "name": name, "actor": "stores:lea"} | extra)


async def receive(client: httpx.AsyncClient, location_id: int, part_number: str, quantity: float | str) -> dict:
    return await post(
        client, f"/stock-locations/{location_id}/movements",
        {"part_number": part_number, "reason": "receipt", "quantity": str(quantity), "actor": "stores:lea"},
    )


async def level(client: httpx.AsyncClient, location_id: int, part_number: str) -> tuple[float, float, float]:
    """(on hand, reserved, available) of a part at a location."""
    rows = (await client.get(f"/stock-locations/{location_id}/stock")).json()
    for row in rows:
        if row["part_number"] == part_number:
            return float(row["on_hand"]), float(row["reserved"]), float(row["available"])
    return 0.0, 0.0, 0.0


async def a_fleet(client: httpx.AsyncClient, engineers: tuple[str, ...] = ("Eva",)) -> tuple[str, list[int]]:
    """An asset (model CP-200) and active mechanical engineers, made through the API."""
    customer = await post(client, "/customers", {"name": "Harbour Water"})
    site = await post(
        client, "/sites",
        {"customer_id": customer["id"], "code": "rtm-01", "name": "Pier 7", "region": "NL-ZH", "lat": SITE[0],
         "lon": SITE[1]},
    )
    await post(client, "/assets", {"id": "pump-001", "site_id": site["id"], "model": "CP-200", "serial": "A1"})
    ids = []
    for name in engineers:
        engineer = await post(
            client, "/engineers",
            {"name": name, "skills": [{"skill": "mechanical", "level": 3}], "home_lat": NEAR[0], "home_lon": NEAR[1]},
        )
        ids.append(engineer["id"])
    return "pump-001", ids


async def an_order(client: httpx.AsyncClient, asset_id: str = "pump-001", **extra) -> dict:
    body = {"asset_id": asset_id, "type": "repair", "title": "Noisy bearing", "actor": "desk:anna"} | extra
    return await post(client, "/work-orders", body)
