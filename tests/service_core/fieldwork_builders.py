"""A customer, site, asset and engineer made through the API, and small valid images, for the field-work tests."""

from __future__ import annotations

import struct
import zlib

import httpx

from tests.service_core.builders import SITE


def png(width: int = 2, height: int = 1) -> bytes:
    """A real, tiny PNG (white pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\xff\xff" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


async def a_fleet(
    client: httpx.AsyncClient, *, warranty_ends_on: str | None = None, engineers: tuple[str, ...] = ("Eva",)
) -> tuple[int, str, list[int]]:
    """(customer id, asset id, engineer ids)."""
    customer = (await client.post("/customers", json={"name": "Harbour Water"})).json()
    site = await client.post(
        "/sites",
        json={
            "customer_id": customer["id"],
            "code": "rtm-01",
            "name": "Pier 7",
            "region": "NL-ZH",
            "lat": SITE[0],
            "lon": SITE[1],
            "address": "Waalhaven 7, Rotterdam",
        },
    )
    assert site.status_code == 201, site.text
    asset = await client.post(
        "/assets",
        json={
            "id": "pump-001",
            "site_id": site.json()["id"],
            "model": "CP-200",
            "serial": "A1",
            "installed_on": "2020-01-01",
            "warranty_ends_on": warranty_ends_on,
        },
    )
    assert asset.status_code == 201, asset.text
    ids = []
    for name in engineers:
        engineer = await client.post(
            "/engineers",
            json={
                "name": name,
                "skills": [{"skill": "mechanical", "level": 3}],
                "home_lat": SITE[0],
                "home_lon": SITE[1],
            },
        )
        assert engineer.status_code == 201, engineer.text
        ids.append(engineer.json()["id"])
    return customer["id"], "pump-001", ids


async def an_order(client: httpx.AsyncClient, asset_id: str = "pump-001", **extra) -> dict:
    body = {"asset_id": asset_id, "type": "repair", "title": "Bearing noise", "actor": "desk:anna"} | extra
    response = await client.post("/work-orders", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def move(client: httpx.AsyncClient, work_order_id: int, *targets: str, actor: str = "eva") -> dict:
    body: dict = {}
    for target in targets:
        response = await client.post(f"/work-orders/{work_order_id}/transitions", json={"to": target, "actor": actor})
        assert response.status_code == 200, response.text
        body = response.json()
    return body
