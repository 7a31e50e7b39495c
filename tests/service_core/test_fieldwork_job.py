"""A whole field job through the API: two visits, checklist, parts, photo, hold for parts, signature, report."""

from __future__ import annotations

from decimal import Decimal

import httpx
import psycopg
import pytest

from tests.service_core.fieldwork_builders import a_fleet, an_order, move, png

EVA_AT_PIER = {"lat": 51.90501, "lon": 4.46598}


@pytest.mark.asyncio
async def test_a_repair_with_two_visits_from_plan_to_report(
    client: httpx.AsyncClient, conn: psycopg.Connection
) -> None:
    customer_id, asset_id, (eva,) = await a_fleet(client, warranty_ends_on="2022-01-01")
    conn.execute(
        """
        insert into service.contracts (customer_id, name, level, starts_on, ends_on, covers_labour, covers_parts)
        values (%s, 'Service Plus', 'standard', '2024-01-01', '2099-12-31', true, false)
        """,
        (customer_id,),
    )
    order = await an_order(client, asset_id)
    url = f"/work-orders/{order['id']}"

    checklist = (await client.get(f"{url}/checklist")).json()
    assert [(i["position"], i["required"], i["done"]) for i in checklist] == [
        (1, True, False),
        (2, True, False),
        (3, True, False),
        (4, True, False),
        (5, False, False),
    ]

    # first visit: planning gives the order to Eva; she must accept before checking in
    planned = await client.post(
        f"{url}/visits", json={"engineer_id": eva, "planned_at": "2025-03-05T08:00:00Z", "actor": "desk:anna"}
    )
    assert planned.status_code == 201, planned.text
    first = planned.json()
    assert (first["seq"], first["status"], first["engineer_id"]) == (1, "planned", eva)
    assert (await client.get(url)).json()["status"] == "assigned"
    early = await client.post(f"/visits/{first['id']}/check-in", json=EVA_AT_PIER | {"actor": "eva"})
    assert early.status_code == 409 and "accepts it before checking in" in early.json()["detail"]
    await move(client, order["id"], "accepted")
    checked_in = await client.post(f"/visits/{first['id']}/check-in", json=EVA_AT_PIER | {"actor": "eva"})
    assert checked_in.status_code == 200, checked_in.text
    assert checked_in.json()["status"] == "checked_in" and checked_in.json()["check_in_lat"] == EVA_AT_PIER["lat"]
    assert (await client.get(url)).json()["status"] == "on_site"
    again = await client.post(f"/visits/{first['id']}/check-in", json=EVA_AT_PIER | {"actor": "eva"})
    assert again.status_code == 409 and "only a planned visit" in again.json()["detail"]

    for item in checklist[:2]:
        ticked = await client.post(f"{url}/checklist/{item['id']}", json={"done": True, "actor": "eva"})
        assert ticked.status_code == 200 and ticked.json()["done_by"] == "eva"
    part = await client.post(
        f"{url}/parts",
        json={
            "part_number": "BRG-6204",
            "description": "deep groove bearing",
            "quantity": "2",
            "unit_cost": "18.45",
            "visit_id": first["id"],
            "actor": "eva",
        },
    )
    assert part.status_code == 201, part.text
    assert Decimal(part.json()["amount"]) == Decimal("36.90")
    image = png()
    photo = await client.post(
        f"{url}/attachments",
        files={"file": ("worn-bearing.png", image, "image/png")},
        data={"kind": "photo", "actor": "eva"},
    )
    assert photo.status_code == 201, photo.text
    assert photo.json()["size_bytes"] == len(image) and len(photo.json()["sha256"]) == 64
    download = await client.get(f"/attachments/{photo.json()['id']}")
    assert download.content == image and download.headers["content-type"] == "image/png"

    # out of parts: the order waits for them
    out = await client.post(
        f"/visits/{first['id']}/check-out",
        json={"outcome": "needs_parts", "labour_minutes": 75, "notes": "seal kit not in the van"}
        | EVA_AT_PIER
        | {"actor": "eva"},
    )
    assert out.status_code == 200, out.text
    held = (await client.get(url)).json()
    assert (held["status"], held["hold_reason"]) == ("on_hold", "waiting_parts")
    assert held["events"][-1]["details"] == {"hold_reason": "waiting_parts"}

    # second visit resumes the order
    second = (await client.post(f"{url}/visits", json={"engineer_id": eva, "actor": "desk:anna"})).json()
    resumed = (await client.get(url)).json()
    assert (second["seq"], resumed["status"], resumed["hold_reason"]) == (2, "assigned", None)
    await move(client, order["id"], "accepted", "en_route")
    assert (
        await client.post(f"/visits/{second['id']}/check-in", json=EVA_AT_PIER | {"actor": "eva"})
    ).status_code == 200
    await client.post(
        f"{url}/parts",
        json={
            "part_number": "SEAL-KIT-9",
            "quantity": "1",
            "unit_cost": "42.10",
            "visit_id": second["id"],
            "actor": "eva",
        },
    )
    for item in checklist[2:3]:
        await client.post(f"{url}/checklist/{item['id']}", json={"done": True, "note": "new bearing", "actor": "eva"})
    busy = await client.post(f"{url}/transitions", json={"to": "completed", "actor": "eva"})
    assert busy.status_code == 409  # on_site: not in progress yet, and still checked in
    fixed = await client.post(
        f"/visits/{second['id']}/check-out",
        json={"outcome": "fixed", "labour_minutes": 50} | EVA_AT_PIER | {"actor": "eva"},
    )
    assert fixed.status_code == 200 and (await client.get(url)).json()["status"] == "in_progress"

    # completion waits for the required checklist item and the customer's signature
    blocked = await client.post(f"{url}/transitions", json={"to": "completed", "actor": "eva"})
    assert blocked.status_code == 409
    assert blocked.json()["detail"] == (
        f"work order {order['id']} has required checklist items not done: Function test passed after restart"
    )
    await client.post(f"{url}/checklist/{checklist[3]['id']}", json={"done": True, "actor": "eva"})
    unsigned = await client.post(f"{url}/transitions", json={"to": "completed", "actor": "eva"})
    assert unsigned.status_code == 409 and "signature" in unsigned.json()["detail"]
    signed = await client.post(
        f"{url}/signature",
        files={"file": ("sig.png", png(8, 3), "image/png")},
        data={"signer_name": "J. de Vries", "actor": "eva"},
    )
    assert signed.status_code == 201, signed.text
    await client.patch(url, json={"resolution": "Bearing and seal replaced; runs quiet", "actor": "eva"})
    done = await client.post(f"{url}/transitions", json={"to": "completed", "actor": "eva"})
    assert done.status_code == 200, done.text
    assert done.json()["billing"] == "contract"  # out of warranty, a contract that covers labour

    report = (await client.get(f"{url}/report")).json()
    assert report["order"]["status"] == "completed" and report["completed_at"] is not None
    assert report["order"]["resolution"] == "Bearing and seal replaced; runs quiet"
    assert [(v["seq"], v["outcome"], v["labour_minutes"]) for v in report["visits"]] == [
        (1, "needs_parts", 75),
        (2, "fixed", 50),
    ]
    assert all(v["check_in_at"] and v["check_out_lat"] == EVA_AT_PIER["lat"] for v in report["visits"])
    assert report["labour_minutes"] == 125
    assert [(p["part_number"], p["amount"]) for p in report["parts"]] == [
        ("BRG-6204", "36.90"),
        ("SEAL-KIT-9", "42.10"),
    ]
    assert all(i["done"] for i in report["checklist"] if i["required"])
    assert [s["signer_name"] for s in report["signatures"]] == ["J. de Vries"]
    assert {a["kind"] for a in report["attachments"]} == {"photo", "signature"}
    assert report["billing"] == {
        "billing": "contract",
        "decided": True,
        "contract": "Service Plus",
        "covers_labour": True,
        "covers_parts": False,
    }
    # by hand: 125 min at 90.00/h = 187.50; parts 2 x 18.45 + 42.10 = 79.00; the contract covers labour
    assert {k: Decimal(v) if isinstance(v, str) else v for k, v in report["cost"].items()} == {
        "labour_minutes": 125,
        "labour_rate_per_hour": Decimal("90.00"),
        "labour": Decimal("187.50"),
        "parts": Decimal("79.00"),
        "total": Decimal("266.50"),
        "covered": Decimal("187.50"),
        "customer_pays": Decimal("79.00"),
    }

    page = await client.get(f"{url}/report.html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for text in (
        "Service report · work order",
        "J. de Vries",
        "Function test passed after restart",
        "266.50",
        "79.00",
        "Waalhaven 7",
        "needs_parts",
        "worn-bearing.png",
    ):
        assert text in page.text, text

    kinds = [e["kind"] for e in (await client.get(url)).json()["events"]]
    assert kinds == [
        "created",
        "assigned",
        "visit_planned",
        "transition",
        "checked_in",
        "transition",
        "part_used",
        "attachment_added",
        "checked_out",
        "transition",
        "assigned",
        "visit_planned",
        "transition",
        "transition",
        "checked_in",
        "transition",
        "part_used",
        "checked_out",
        "transition",
        "signed",
        "updated",
        "transition",
    ]
    audit = (await client.get(f"{url}/field-audit")).json()
    visits_audit = [(c["row_id"], c["action"], c["actor"]) for c in audit if c["table_name"] == "visits"]
    assert visits_audit[:3] == [
        (str(first["id"]), "insert", "desk:anna"),
        (str(first["id"]), "update", "eva"),
        (str(first["id"]), "update", "eva"),
    ]
    ticks = [c for c in audit if c["table_name"] == "checklist_items"]
    assert len(ticks) == 4 and ticks[0]["before"]["done"] is False and ticks[0]["after"]["done"] is True
    assert {c["table_name"] for c in audit} == {"visits", "checklist_items", "parts_used", "signatures"}

    # a finished order's record stays as it is
    late = await client.post(f"{url}/checklist/{checklist[4]['id']}", json={"done": True, "actor": "eva"})
    assert late.status_code == 409 and "reopen it first" in late.json()["detail"]


@pytest.mark.asyncio
async def test_a_recorded_reason_stands_in_for_a_signature_taken_after_the_last_check_in(
    client: httpx.AsyncClient,
) -> None:
    _, asset_id, (eva,) = await a_fleet(client)
    order = await an_order(client, asset_id, type="inspection", title="Yearly inspection")
    url = f"/work-orders/{order['id']}"
    early = await client.post(f"{url}/signature", data={"no_signature_reason": "recorded too early", "actor": "eva"})
    assert early.status_code == 201
    visit = (await client.post(f"{url}/visits", json={"engineer_id": eva, "actor": "desk"})).json()
    await move(client, order["id"], "accepted")
    await client.post(f"/visits/{visit['id']}/check-in", json=EVA_AT_PIER | {"actor": "eva"})
    await client.post(f"/visits/{visit['id']}/check-out", json={"outcome": "fixed", "actor": "eva"} | EVA_AT_PIER)
    for item in (await client.get(f"{url}/checklist")).json():
        if item["required"]:
            await client.post(f"{url}/checklist/{item['id']}", json={"done": True, "actor": "eva"})
    stale = await client.post(f"{url}/transitions", json={"to": "completed", "actor": "eva"})
    assert stale.status_code == 409 and "recorded after the last visit's check-in" in stale.json()["detail"]
    await client.post(f"{url}/signature", data={"no_signature_reason": "plant unmanned at night", "actor": "eva"})
    done = await client.post(f"{url}/transitions", json={"to": "completed", "actor": "eva"})
    assert done.status_code == 200, done.text
    page = await client.get(f"{url}/report.html")
    assert "Not signed: plant unmanned at night" in page.text
