"""The asset's QR code and the public pages behind it: report a problem with a photo, follow it, bad input."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from service_core.intake import qr
from tests.service_core.builders import a_site, an_asset, an_engineer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def _asset(pool) -> str:
    """An asset, and its QR token as the database holds it."""
    async with pool.connection() as conn:
        site = await a_site(conn)
        await an_asset(conn, site=site, asset_id="pump-001", model="CP-200")
        cur = await conn.execute("select token from service.asset_qr_codes where asset_id = 'pump-001'")
        (token,) = await cur.fetchone()
    return token


def _form(**extra) -> dict:
    base = {"name": "Jan de Vries", "contact": "jan@harbour.example", "description": "Leaking at the seal.\nBadly."}
    return base | extra


@pytest.mark.asyncio
async def test_each_asset_has_its_own_unguessable_token_and_a_qr_code_of_its_page(client, pool):
    token = await _asset(pool)
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    async with pool.connection() as conn:
        assert await qr.get_token(conn, asset_id="pump-001") == token  # stable: the sticker stays valid
        await an_asset(conn, site=(await a_site(conn, code="rtm-02")), asset_id="pump-002")
        assert await qr.get_token(conn, asset_id="pump-002") not in (token, None)
        await conn.execute("delete from service.asset_qr_codes where asset_id = 'pump-002'")
        made_on_first_use = await qr.get_token(conn, asset_id="pump-002")
        assert re.fullmatch(r"[0-9a-f]{32}", made_on_first_use)

    response = await client.get("/assets/pump-001/qr.svg")
    assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
    svg = ET.fromstring(response.text)
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    # the code encodes exactly the asset's public page
    assert response.text == qr.render_svg(f"http://fleetcare.test/r/{token}", title="Report a problem with pump-001")
    assert response.text != qr.render_svg(f"http://fleetcare.test/r/{made_on_first_use}",
                                          title="Report a problem with pump-001")
    assert (await client.get("/assets/pump-404/qr.svg")).status_code == 404


@pytest.mark.asyncio
async def test_scan_report_with_photo_and_follow_the_request(client, pool):
    token = await _asset(pool)
    page = await client.get(f"/r/{token}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "CP-200" in page.text and "Site rtm-01" in page.text and "<script" not in page.text
    assert f'action="http://fleetcare.test/r/{token}"' in page.text

    sent = await client.post(f"/r/{token}", data=_form(), files={"photo": ("leak.png", PNG, "image/png")})
    assert sent.status_code == 303, sent.text
    status_url = sent.headers["location"]
    code = re.search(r"/requests/(SR-[0-9A-Z]{8})$", status_url).group(1)

    listed = (await client.get("/service-requests", params={"channel": "qr"})).json()
    assert len(listed) == 1
    request = (await client.get(f"/service-requests/{listed[0]['id']}")).json()
    assert request["tracking_code"] == code and request["asset_id"] == "pump-001"
    assert request["reporter_name"] == "Jan de Vries" and request["reporter_email"] == "jan@harbour.example"
    assert request["subject"] == "Leaking at the seal." and request["description"] == "Leaking at the seal.\nBadly."
    assert [(a["kind"], a["filename"], a["size_bytes"]) for a in request["attachments"]] == [
        ("photo", "leak.png", len(PNG))]
    original = (await client.get(f"/service-requests/{request['id']}/input")).json()
    assert original["contact"] == "jan@harbour.example" and original["photo"]["size_bytes"] == len(PNG)

    status = await client.get(status_url)
    assert status.status_code == 200 and code in status.text and "Received" in status.text
    assert "not planned yet" in status.text

    # triaged, and a visit planned: the customer sees both
    order_id = (await client.post(f"/service-requests/{request['id']}/triage",
                                  json={"type": "repair", "actor": "desk"})).json()["work_order_id"]
    visit_at = datetime(2031, 5, 6, 9, 30, tzinfo=UTC)
    async with pool.connection() as conn:
        engineer = await an_engineer(conn)
        await conn.execute(
            "insert into service.visits (work_order_id, seq, engineer_id, planned_at) values (%s, 1, %s, %s)",
            [order_id, engineer.id, visit_at],
        )
    status = await client.get(status_url)
    assert "A service job has been opened" in status.text and "waiting for an engineer" in status.text
    assert "2031-05-06 09:30:00 UTC" in status.text
    photo_on_order = (await client.get(f"/service-requests/{request['id']}")).json()["attachments"][0]
    assert photo_on_order["work_order_id"] == order_id


@pytest.mark.asyncio
async def test_a_second_scan_is_told_the_problem_is_known(client, pool):
    token = await _asset(pool)
    await client.post(f"/r/{token}", data=_form())
    second = await client.post(f"/r/{token}", data=_form(name="Piet", contact="+31 6 1234 5678"))
    assert second.status_code == 303
    page = await client.get(second.headers["location"])
    assert "already knew about this problem" in page.text
    dup = (await client.get("/service-requests", params={"status": "duplicate"})).json()
    assert [(d["reporter_name"], d["reporter_phone"], d["reporter_email"]) for d in dup] == [
        ("Piet", "+31 6 1234 5678", None)]


@pytest.mark.asyncio
async def test_a_bad_form_comes_back_422_with_what_was_typed(client, pool):
    token = await _asset(pool)
    sent = await client.post(f"/r/{token}", data=_form(contact="call me maybe", description="  "),
                             files={"photo": ("notes.txt", b"hello", "text/plain")})
    assert sent.status_code == 422 and sent.headers["content-type"].startswith("text/html")
    assert 'value="Jan de Vries"' in sent.text and 'value="call me maybe"' in sent.text
    assert "e-mail address" in sent.text  # what is wrong with the contact
    assert "What is wrong?: please fill this in" in sent.text  # the empty description is named, in plain words
    assert "is not a picture" in sent.text
    escaped = await client.post(f"/r/{token}", data=_form(name="<b>x</b>", contact=""))
    assert escaped.status_code == 422 and "&lt;b&gt;x&lt;/b&gt;" in escaped.text and "<b>x</b>" not in escaped.text
    assert (await client.get("/service-requests")).json() == []


@pytest.mark.asyncio
async def test_unknown_codes_are_404_pages(client, pool):
    token = await _asset(pool)
    for url in ("/r/0123456789abcdef0123456789abcdef", "/r/short", f"/r/{token}/requests/SR-00000000"):
        page = await client.get(url)
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html"), url
        assert "Unknown code" in page.text
    sent = await client.post("/r/0123456789abcdef0123456789abcdef", data=_form())
    assert sent.status_code == 404 and "unknown" in sent.text
    # a tracking code of another asset's request is not shown through this asset's page
    await client.post(f"/r/{token}", data=_form())
    code = (await client.get("/service-requests")).json()[0]["tracking_code"]
    async with pool.connection() as conn:
        await an_asset(conn, site=(await a_site(conn, code="rtm-02")), asset_id="pump-002")
        other = await qr.get_token(conn, asset_id="pump-002")
    assert (await client.get(f"/r/{other}/requests/{code}")).status_code == 404
    assert (await client.get(f"/r/{token}/requests/{code}")).status_code == 200
