"""Customers, sites, assets and engineers through the API: happy paths and the 4xx answers."""

from __future__ import annotations

import httpx
import psycopg
import pytest

SITE = {"code": "rtm-01", "name": "Pier 7", "region": "NL-ZH", "lat": 51.905, "lon": 4.466}
ENGINEER = {
    "name": "Eva de Vries",
    "email": "eva@example.com",
    "skills": [{"skill": "mechanical", "level": 4}, {"skill": "hydraulic", "level": 2}],
    "home_lat": 51.92,
    "home_lon": 4.48,
    "working_hours": {"days": [5, 1, 2], "start": "07:30", "end": "16:00", "timezone": "Europe/Amsterdam"},
}


async def _customer_and_site(client: httpx.AsyncClient) -> tuple[dict, dict]:
    customer = await client.post("/customers", json={"name": "Harbour Water", "email": "ops@hw.example"})
    assert customer.status_code == 201, customer.text
    site = await client.post("/sites", json={"customer_id": customer.json()["id"], **SITE})
    assert site.status_code == 201, site.text
    return customer.json(), site.json()


@pytest.mark.asyncio
async def test_health_and_docs(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok", "database": "ok"}
    docs = await client.get("/docs")
    assert docs.status_code == 200
    # the docs page must work without internet access: its scripts come from the service itself
    assert "https://" not in docs.text and "/static-offline-docs/swagger-ui-bundle.js" in docs.text
    assert (await client.get("/static-offline-docs/swagger-ui-bundle.js")).status_code == 200
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"/work-orders", "/work-orders/{work_order_id}/transitions", "/engineers/{engineer_id}/work-orders",
            "/fleet", "/assets", "/dispatch/candidates"} <= set(paths)


@pytest.mark.asyncio
async def test_customers_sites_assets(client: httpx.AsyncClient, conn: psycopg.Connection) -> None:
    customer, site = await _customer_and_site(client)
    assert site["code"] == "rtm-01" and site["customer_id"] == customer["id"]

    asset = await client.post(
        "/assets",
        json={"id": "pump-003", "site_id": site["id"], "model": "CP-200", "serial": "CP2-0003", "location": "hall B",
              "installed_on": "2023-05-01", "warranty_ends_on": "2026-05-01", "expected_interval_s": 2.0},
    )
    assert asset.status_code == 201, asset.text
    assert asset.json()["site_code"] == "rtm-01" and asset.json()["warranty_ends_on"] == "2026-05-01"
    device = conn.execute(
        "select site_id, model, expected_interval_s from telemetry.devices where asset_id = 'pump-003'"
    )
    assert device.fetchone() == ("rtm-01", "CP-200", 2.0)

    assert (await client.get("/customers")).json()[0]["name"] == "Harbour Water"
    assert (await client.get(f"/customers/{customer['id']}")).json()["email"] == "ops@hw.example"
    renamed = await client.patch(f"/customers/{customer['id']}", json={"name": "Harbour Water BV", "email": None})
    assert renamed.json()["name"] == "Harbour Water BV" and renamed.json()["email"] is None
    sites = (await client.get("/sites", params={"customer_id": customer["id"]})).json()
    assert [s["id"] for s in sites] == [site["id"]]
    moved = await client.patch(f"/sites/{site['id']}", json={"lat": 52.0})
    assert moved.json()["lat"] == 52.0 and moved.json()["lon"] == 4.466
    assert [a["id"] for a in (await client.get("/assets", params={"site_id": site["id"]})).json()] == ["pump-003"]

    other = (await client.post("/sites", json={"customer_id": customer["id"], **SITE, "code": "ams-01"})).json()
    relocated = await client.patch("/assets/pump-003", json={"site_id": other["id"], "location": None})
    assert relocated.status_code == 200, relocated.text
    assert relocated.json()["site_code"] == "ams-01" and relocated.json()["location"] is None
    device = conn.execute("select site_id, expected_interval_s from telemetry.devices where asset_id = 'pump-003'")
    assert device.fetchone() == ("ams-01", 2.0)


@pytest.mark.asyncio
async def test_customer_site_asset_4xx(client: httpx.AsyncClient, conn: psycopg.Connection) -> None:
    customer, site = await _customer_and_site(client)
    assert (await client.get("/customers/999")).status_code == 404
    assert (await client.patch("/customers/999", json={"name": "x"})).status_code == 404
    assert (await client.get("/sites/999")).status_code == 404
    assert (await client.get("/assets/nope")).status_code == 404
    assert (await client.post("/customers", json={"name": "  "})).status_code == 422
    assert (await client.post("/customers", json={"name": "x", "vip": True})).status_code == 422
    assert (await client.patch(f"/customers/{customer['id']}", json={"name": None})).status_code == 422

    duplicate = await client.post("/sites", json={"customer_id": customer["id"], **SITE})
    assert duplicate.status_code == 409 and duplicate.json()["detail"] == "site code 'rtm-01' is already taken"
    orphan = await client.post("/sites", json={"customer_id": 999, **SITE, "code": "x-1"})
    assert orphan.status_code == 404 and orphan.json()["detail"] == "customer 999 not found"
    assert (await client.post("/sites", json={"customer_id": customer["id"], **SITE, "code": "a/b"})).status_code == 422
    assert (await client.post("/sites", json={"customer_id": customer["id"], **SITE, "lat": 91})).status_code == 422

    base = {"id": "pump-001", "site_id": site["id"], "model": "CP-200", "serial": "S1"}
    assert (await client.post("/assets", json=base)).status_code == 201
    again = await client.post("/assets", json=base | {"serial": "S2"})
    assert again.status_code == 409 and again.json()["detail"] == "asset 'pump-001' already exists"
    same_serial = await client.post("/assets", json=base | {"id": "pump-002"})
    assert same_serial.status_code == 409 and "serial 'S1'" in same_serial.json()["detail"]
    assert conn.execute("select count(*) from telemetry.devices").fetchone()[0] == 1  # nothing half-made
    assert (await client.post("/assets", json=base | {"id": "pump 4"})).status_code == 422
    assert (await client.post("/assets", json=base | {"id": "p" * 65})).status_code == 422
    assert (await client.post("/assets", json=base | {"id": "pump-005", "site_id": 999})).status_code == 404
    dates = {"installed_on": "2024-01-01", "warranty_ends_on": "2023-01-01"}
    assert (await client.post("/assets", json=base | {"id": "pump-006", "serial": "S6"} | dates)).status_code == 422
    patched = await client.patch("/assets/pump-001", json=dates)
    assert patched.status_code == 422
    await client.patch("/assets/pump-001", json={"installed_on": "2024-01-01"})
    late = await client.patch("/assets/pump-001", json={"warranty_ends_on": "2023-01-01"})
    assert late.status_code == 422 and late.json()["detail"] == "warranty_ends_on is before installed_on"
    assert (await client.patch("/assets/pump-001", json={"site_id": None})).status_code == 422


@pytest.mark.asyncio
async def test_engineers(client: httpx.AsyncClient) -> None:
    created = await client.post("/engineers", json=ENGINEER)
    assert created.status_code == 201, created.text
    eva = created.json()
    assert eva["skills"] == [{"skill": "hydraulic", "level": 2}, {"skill": "mechanical", "level": 4}]
    assert eva["working_hours"] == {"days": [1, 2, 5], "start": "07:30:00", "end": "16:00:00",
                                    "timezone": "Europe/Amsterdam"}
    assert eva["active"] is True

    updated = await client.patch(f"/engineers/{eva['id']}", json={"skills": [{"skill": "electrical", "level": 5}],
                                                                 "active": False})
    assert updated.json()["skills"] == [{"skill": "electrical", "level": 5}] and updated.json()["active"] is False
    assert updated.json()["working_hours"] == eva["working_hours"]
    assert (await client.get("/engineers", params={"active": True})).json() == []
    assert [e["id"] for e in (await client.get("/engineers")).json()] == [eva["id"]]
    assert (await client.get(f"/engineers/{eva['id']}")).json()["name"] == "Eva de Vries"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"skills": [{"skill": "plumbing", "level": 2}]}, "skill"),
        ({"skills": [{"skill": "mechanical", "level": 6}]}, "level"),
        ({"skills": [{"skill": "mechanical", "level": 2}, {"skill": "mechanical", "level": 3}]}, "once"),
        ({"working_hours": {"days": [0]}}, "days"),
        ({"working_hours": {"days": [1, 1]}}, "repeat"),
        ({"working_hours": {"start": "18:00", "end": "08:00"}}, "end must be after start"),
        ({"working_hours": {"timezone": "Mars/Olympus"}}, "unknown time zone"),
        ({"home_lat": 100}, "home_lat"),
    ],
)
async def test_engineer_422(client: httpx.AsyncClient, change: dict, complaint: str) -> None:
    response = await client.post("/engineers", json=ENGINEER | change)
    assert response.status_code == 422 and complaint in response.text


@pytest.mark.asyncio
async def test_engineer_4xx(client: httpx.AsyncClient) -> None:
    assert (await client.get("/engineers/999")).status_code == 404
    assert (await client.patch("/engineers/999", json={"name": "x"})).status_code == 404
    await client.post("/engineers", json=ENGINEER)
    duplicate = await client.post("/engineers", json=ENGINEER)
    assert duplicate.status_code == 409 and "eva@example.com" in duplicate.json()["detail"]
    assert (await client.patch("/engineers/1", json={"skills": None})).status_code == 422


@pytest.mark.asyncio
async def test_errors_map_to_http_in_one_place(caplog: pytest.LogCaptureFixture) -> None:
    from fastapi import FastAPI

    from service_core.errors import Conflict, NotFound, Unprocessable, install_handlers

    app = FastAPI()
    install_handlers(app)
    raised = {"404": NotFound("no such pump"), "409": Conflict("taken"), "422": Unprocessable("meaningless"),
              "500": RuntimeError("a bug")}

    @app.get("/raise/{code}")
    async def fail(code: str):
        raise raised[code]

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        for code, exc in raised.items():
            response = await c.get(f"/raise/{code}")
            assert response.status_code == int(code)
            assert response.json() == {"detail": "internal server error" if code == "500" else str(exc)}
    assert "unhandled error on GET /raise/500" in caplog.text and "a bug" in caplog.text
