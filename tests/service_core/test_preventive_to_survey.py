"""The loop of issue #4 in one story: the detector's preventive order goes to the engineer who has the part in
the van (not the nearer one without it), the part is reserved and consumed there, the order completes, its
survey goes out by e-mail and the answer comes back into the KPIs."""

from __future__ import annotations

import re

import httpx
import psycopg
import pytest

from service_core.customers import service as customers
from service_core.customers.schemas import CustomerUpdate
from service_core.surveys.channels import EmailChannel
from service_core.surveys.job import run_once
from service_core.workorders import flows as workorders_flows
from tests.service_core.builders import MID, NEAR, a_site, an_alert, an_asset, an_engineer
from tests.service_core.parts_builders import a_location, a_part, level, receive
from tests.service_core.survey_builders import PUBLIC_URL, smtp_server


@pytest.mark.asyncio
async def test_detector_order_goes_to_the_engineer_with_the_part_and_its_survey_reaches_the_kpis(
    client: httpx.AsyncClient, aconn: psycopg.AsyncConnection, pool
) -> None:
    await a_part(client, "BRG-6204", models=["CP-200"], failure_modes=[{"failure_mode": "bearing_wear", "quantity": 1}])
    async with aconn.transaction():
        site = await a_site(aconn)
        await customers.update(aconn, customer_id=site.customer_id,
                               customer_in=CustomerUpdate(email="ops@harbour.example"))
        await an_asset(aconn, site=site, asset_id="pump-001", model="CP-200")
        near = await an_engineer(aconn, name="Nico Near", home=NEAR)  # 2 km away, empty van
        far = await an_engineer(aconn, name="Fay Far", home=MID)  # 60 km away, the bearing in the van
    await a_location(client, "Van of Nico", kind="van", engineer_id=near.id)
    far_van = (await a_location(client, "Van of Fay", kind="van", engineer_id=far.id))["id"]
    await receive(client, far_van, "BRG-6204", 1)

    async with aconn.transaction():
        opened = await workorders_flows.open_preventive_order(aconn, alert=an_alert("pump-001"), alert_id=None)
    assert opened is not None and opened.engineer_id == far.id  # the nearer engineer has no bearing
    url = f"/work-orders/{opened.work_order_id}"
    candidates = (await client.get(f"{url}/candidates")).json()
    by_id = {c["engineer_id"]: c for c in candidates["candidates"]}
    assert by_id[near.id]["breakdown"]["distance"] > by_id[far.id]["breakdown"]["distance"]
    assert by_id[near.id]["parts"] == "missing"
    assert await level(client, far_van, "BRG-6204") == (1.0, 1.0, 0.0)  # reserved on assignment

    for target in ("accepted", "en_route", "on_site", "in_progress"):
        moved = await client.post(f"{url}/transitions", json={"to": target, "actor": "fay"})
        assert moved.status_code == 200, moved.text
    scanned = await client.post(f"{url}/scan", json={"code": "BRG-6204", "quantity": "1", "actor": "fay"})
    assert scanned.status_code in (200, 201), scanned.text
    assert await level(client, far_van, "BRG-6204") == (0.0, 0.0, 0.0)
    await client.patch(url, json={"resolution": "Bearing replaced before it failed.", "actor": "fay"})
    done = await client.post(f"{url}/transitions", json={"to": "completed", "actor": "fay"})
    assert done.status_code == 200, done.text

    async with smtp_server() as (inbox, port):
        channels = {"email": EmailChannel(host="127.0.0.1", port=port, sender="service@fleetcare.example")}
        sent = await run_once(pool, channels=channels, public_url=PUBLIC_URL)
    assert (sent.opened, sent.sent) == (1, 1)
    [message] = inbox.messages
    assert message["To"] == "ops@harbour.example"
    link = re.search(re.escape(PUBLIC_URL) + r"(/s/[0-9a-f]{64})", message.get_content()).group(1)

    before = (await client.get("/kpis")).json()
    assert before["csat"]["denominator"] == 0 and before["nps"]["answers"] == 0
    answered = await client.post(link, data={"csat": "4", "nps": "10", "comment": "Caught it in time."})
    assert answered.status_code == 200, answered.text
    after = (await client.get("/kpis")).json()
    assert after["csat"] == {"numerator": 1, "denominator": 1, "rate": 1.0, "mean": 4.0}
    assert after["nps"] == {"answers": 1, "promoters": 1, "detractors": 0, "score": 100.0}
    assert after["order_mix"]["by_type"] == {"preventive": 1}
