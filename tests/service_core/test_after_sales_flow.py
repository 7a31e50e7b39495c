"""The after-sales flow a person drives through the API and the asset's QR page, and the KPIs it moves:
report -> triage -> order -> two visits -> completion with signature -> survey -> KPIs, SLA, knowledge."""

from __future__ import annotations

import re

import httpx
import psycopg
import pytest

from tests.service_core.fieldwork_builders import a_fleet, png

AT_PIER = {"lat": 51.90501, "lon": 4.46598}


async def _kpis(client: httpx.AsyncClient) -> dict:
    response = await client.get("/kpis")
    assert response.status_code == 200, response.text
    return response.json()


async def _move(client: httpx.AsyncClient, url: str, *targets: str) -> None:
    for target in targets:
        moved = await client.post(f"{url}/transitions", json={"to": target, "actor": "eva"})
        assert moved.status_code == 200, moved.text


@pytest.mark.asyncio
async def test_a_customer_report_goes_all_the_way_to_the_kpis(
    client: httpx.AsyncClient, conn: psycopg.Connection
) -> None:
    _, asset_id, (eva,) = await a_fleet(client, warranty_ends_on="2099-12-31")
    before = await _kpis(client)
    assert before["time_to_resolve"]["orders"] == 0 and before["first_time_fix"]["denominator"] == 0

    # the customer scans the sticker on the pump: the QR code carries the asset's public page
    qr = await client.get(f"/assets/{asset_id}/qr.svg")
    assert qr.status_code == 200 and qr.headers["content-type"] == "image/svg+xml"
    (token,) = conn.execute("select token from service.asset_qr_codes where asset_id = %s", (asset_id,)).fetchone()
    page = await client.get(f"/r/{token}")
    assert page.status_code == 200 and "CP-200" in page.text
    sent = await client.post(
        f"/r/{token}",
        data={"name": "Jan de Vries", "contact": "jan@harbour.example",
              "description": "Loud grinding from the pump bearing since this morning."},
        files={"photo": ("noise.png", png(), "image/png")},
    )
    assert sent.status_code == 303, sent.text
    status_page = sent.headers["location"]
    assert "Received" in (await client.get(status_page)).text

    # the desk sees the report with the 360° view and triages it into a repair order
    (request,) = (await client.get("/service-requests", params={"channel": "qr"})).json()
    detail = (await client.get(f"/service-requests/{request['id']}")).json()
    assert detail["asset_id"] == asset_id and detail["reporter_name"] == "Jan de Vries"
    triaged = await client.post(
        f"/service-requests/{request['id']}/triage", json={"type": "repair", "priority": "high", "actor": "desk:anna"}
    )
    assert triaged.status_code == 200, triaged.text
    order_id = triaged.json()["work_order_id"]
    url = f"/work-orders/{order_id}"
    order = (await client.get(url)).json()
    assert (order["type"], order["priority"], order["status"]) == ("repair", "high", "new")
    assert "Loud grinding" in order["description"]
    assert [a["filename"] for a in (await client.get(f"{url}/attachments")).json()] == ["noise.png"]

    # first visit: parts missing, the order waits for them
    first = (await client.post(f"{url}/visits", json={"engineer_id": eva, "actor": "desk:anna"})).json()
    await _move(client, url, "accepted", "en_route")
    assert (await client.post(f"/visits/{first['id']}/check-in", json=AT_PIER | {"actor": "eva"})).status_code == 200
    out = await client.post(
        f"/visits/{first['id']}/check-out",
        json={"outcome": "needs_parts", "labour_minutes": 40, "actor": "eva"} | AT_PIER,
    )
    assert out.status_code == 200, out.text
    held = (await client.get(url)).json()
    assert (held["status"], held["hold_reason"]) == ("on_hold", "waiting_parts")

    # second visit with the bearing: fixed, checklist done, signed, completed
    second = (await client.post(f"{url}/visits", json={"engineer_id": eva, "actor": "desk:anna"})).json()
    await _move(client, url, "accepted", "en_route")
    assert (await client.post(f"/visits/{second['id']}/check-in", json=AT_PIER | {"actor": "eva"})).status_code == 200
    part = await client.post(
        f"{url}/parts", json={"part_number": "BRG-6204", "quantity": "1", "unit_cost": "18.45", "actor": "eva"}
    )
    assert part.status_code == 201, part.text
    fixed = await client.post(
        f"/visits/{second['id']}/check-out", json={"outcome": "fixed", "labour_minutes": 65, "actor": "eva"} | AT_PIER
    )
    assert fixed.status_code == 200, fixed.text
    for item in (await client.get(f"{url}/checklist")).json():
        if item["required"]:
            ticked = await client.post(f"{url}/checklist/{item['id']}", json={"done": True, "actor": "eva"})
            assert ticked.status_code == 200, ticked.text
    unsigned = await client.post(f"{url}/transitions", json={"to": "completed", "actor": "eva"})
    assert unsigned.status_code == 409 and "signature" in unsigned.json()["detail"]
    signed = await client.post(
        f"{url}/signature", files={"file": ("sig.png", png(8, 3), "image/png")},
        data={"signer_name": "J. de Vries", "actor": "eva"},
    )
    assert signed.status_code == 201, signed.text
    await client.patch(url, json={"resolution": "Drive-end bearing BRG-6204 replaced and greased.", "actor": "eva"})
    await _move(client, url, "completed")
    done = (await client.get(url)).json()
    assert (done["status"], done["billing"]) == ("completed", "warranty")

    # the customer follows it on the same page; the report has both visits
    followed = (await client.get(status_page)).text
    assert "the work is done" in followed and "Last visit" in followed and "not planned yet" not in followed
    report = (await client.get(f"{url}/report")).json()
    assert [(v["seq"], v["outcome"]) for v in report["visits"]] == [(1, "needs_parts"), (2, "fixed")]
    assert report["labour_minutes"] == 105 and [s["signer_name"] for s in report["signatures"]] == ["J. de Vries"]

    # the SLA clocks stopped when the order moved on
    sla = (await client.get(f"{url}/sla")).json()
    assert {c["metric"]: c["state"] for c in sla["clocks"]} == {
        "response": "met", "arrival": "met", "resolution": "met"
    }

    # the resolution becomes knowledge for the next bearing job on this model
    article = await client.post(f"{url}/promote-to-article", json={"actor": "lead:ruth"})
    assert article.status_code == 201, article.text
    found = (await client.get("/knowledge/articles", params={"q": "bearing greased", "asset_model": "CP-200"})).json()
    assert [a["id"] for a in found] == [article.json()["id"]]

    # the customer answers the survey (its sending is the surveys area's; the answer is stored here)
    conn.execute(
        "insert into service.surveys (work_order_id, csat, nps, sent_at, answered_at) values (%s, 5, 9, now(), now())",
        (order_id,),
    )

    after = await _kpis(client)
    assert after["time_to_resolve"]["orders"] == 1 and after["time_to_resolve"]["mean_hours"] is not None
    assert after["response_time"]["orders"] == 1 and after["time_to_repair"]["orders"] == 1
    # two visits: not a first-time fix
    assert after["first_time_fix"] == {"numerator": 0, "denominator": 1, "rate": 0.0}
    assert after["repeat_visits"] == {"numerator": 0, "denominator": 1, "rate": 0.0}
    assert after["utilisation"]["labour_minutes"] == 105
    assert after["order_mix"]["by_type"] == {"repair": 1}
    assert after["csat"]["numerator"] == 1 and after["nps"]["score"] == 100.0
    assert after["sla"]["resolution"] == {"numerator": 1, "denominator": 1, "rate": 1.0}
    assert re.fullmatch(r"SR-[0-9A-Z]{8}", detail["tracking_code"])
