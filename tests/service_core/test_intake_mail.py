"""Inbound e-mail through a real aiosmtpd server and smtplib: requests, attachments, refusals kept, redelivery."""

from __future__ import annotations

import asyncio
import os
import signal
import smtplib
import subprocess
import sys
from collections.abc import AsyncIterator
from email import policy
from email.message import EmailMessage

import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st

from service_core.intake import mail
from service_core.runtime.ports import free_port
from tests.service_core.builders import a_site, an_asset

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4


@pytest_asyncio.fixture
async def smtp(db_url: str, pool) -> AsyncIterator[tuple[str, int]]:
    """The intake mail server on a free port, with pump-001 (serial SN-pump-001) and pump-002 known."""
    async with pool.connection() as conn:
        site = await a_site(conn)
        await an_asset(conn, site=site, asset_id="pump-001")
        await an_asset(conn, site=site, asset_id="pump-002")
    server = mail.mail_server(db_url, host="127.0.0.1", port=free_port())
    await asyncio.to_thread(server.start)
    yield server.hostname, server.port
    await asyncio.to_thread(server.stop)


def _message(subject: str, body: str, *, sender: str = "Jan de Vries <jan@harbour.example>",
             message_id: str | None = "<m1@harbour.example>") -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "service@fleetcare.example"
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    message.set_content(body)
    return message


def _send(address: tuple[str, int], message: EmailMessage | bytes) -> tuple[int, str]:
    """Send and return the server's reply to the message (code, text); a refusal is a reply, not an error."""
    with smtplib.SMTP(*address, timeout=10) as client:
        data = message if isinstance(message, bytes) else message.as_bytes(policy=policy.SMTP)
        client.ehlo()
        client.mail("jan@harbour.example")
        client.rcpt("service@fleetcare.example")
        code, text = client.data(data)
        return code, text.decode()


async def send(address, message) -> tuple[int, str]:
    return await asyncio.to_thread(_send, address, message)


async def _rows(pool, sql: str, *params) -> list[tuple]:
    async with pool.connection() as conn:
        cur = await conn.execute(sql, params)
        return await cur.fetchall()


@pytest.mark.asyncio
async def test_a_mail_naming_the_asset_becomes_a_request_with_its_attachment(smtp, pool, client):
    message = _message("[pump-001] Pump rattles", "Hello,\n\nThe pump rattles at start-up.\nError code: E-042\n")
    message.add_attachment(PHOTO, maintype="image", subtype="jpeg", filename="rattle.jpg")
    message.add_attachment(b"%PDF-1.4 log", maintype="application", subtype="pdf", filename="log.pdf")
    code, text = await send(smtp, message)
    assert code == 250, text
    assert "service request SR-" in text

    (listed,) = (await client.get("/service-requests", params={"channel": "email"})).json()
    request = (await client.get(f"/service-requests/{listed['id']}")).json()
    assert request["asset_id"] == "pump-001" and request["subject"] == "Pump rattles"
    assert request["reporter_name"] == "Jan de Vries" and request["reporter_email"] == "jan@harbour.example"
    assert request["customer_id"] == request["overview"]["customer"]["id"]
    assert "rattles at start-up" in request["description"] and request["fault_code"] == "E-042"
    assert request["external_id"] == "m1@harbour.example" and request["actor"] == "mail:jan@harbour.example"
    assert [(a["kind"], a["filename"], a["content_type"], a["size_bytes"]) for a in request["attachments"]] == [
        ("photo", "rattle.jpg", "image/jpeg", len(PHOTO)), ("file", "log.pdf", "application/pdf", 12)]
    (content,) = await _rows(pool, "select content from service.attachments where filename = 'rattle.jpg'")
    assert bytes(content[0]) == PHOTO
    original = await client.get(f"/service-requests/{request['id']}/input")
    assert original.headers["content-type"] == "message/rfc822"
    assert b"Subject: [pump-001] Pump rattles" in original.content and b"rattle.jpg" in original.content


@pytest.mark.asyncio
async def test_the_asset_is_found_by_a_line_in_the_text_or_by_its_serial(smtp, client):
    code, _ = await send(smtp, _message("Trouble", "Dear service,\nAsset: pump-002\nIt leaks.", message_id="<a@x>"))
    assert code == 250
    code, _ = await send(smtp, _message("Serial SN-pump-001 is noisy", "See subject.", message_id="<b@x>"))
    assert code == 250
    got = {r["external_id"]: r["asset_id"] for r in (await client.get("/service-requests")).json()}
    assert got == {"a@x": "pump-002", "b@x": "pump-001"}


@pytest.mark.asyncio
async def test_the_same_message_delivered_twice_is_one_request(smtp, pool):
    message = _message("[pump-001] Leak", "Leaking.")
    first = await send(smtp, message)
    second = await send(smtp, message)
    assert first[0] == second[0] == 250
    assert "already received as service request" in second[1]
    assert await _rows(pool, "select count(*) from service.service_requests") == [(1,)]
    # without a Message-ID the bytes themselves identify the message
    bare = _message("[pump-002] Noise", "Noisy.", message_id=None)
    assert (await send(smtp, bare))[0] == 250
    assert "already received" in (await send(smtp, bare))[1]
    assert await _rows(pool, "select count(*) from service.service_requests") == [(2,)]


REFUSED = {
    "no asset": (_message("Broken", "Our pump is broken, please come.").as_bytes(policy=policy.SMTP),
                 "no asset found"),
    "unknown asset": (_message("[pump-999] Broken", "Please come.").as_bytes(policy=policy.SMTP),
                      "unknown asset 'pump-999'"),
    "no sender": (b"To: service@fleetcare.example\r\nSubject: [pump-001] x\r\n\r\nhello\r\n",
                  "unparseable message: no sender address"),
    "unreadable charset": (
        b"From: jan@harbour.example\r\nSubject: [pump-001] x\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\nhello\r\n",
        "unparseable message"),
}


@pytest.mark.asyncio
@pytest.mark.parametrize("case", list(REFUSED))
async def test_mail_that_cannot_become_a_request_is_refused_with_550_and_kept_whole(smtp, pool, case):
    raw, reason = REFUSED[case]
    code, text = await send(smtp, raw)
    assert (code, reason in text) == (550, True), text
    kept = await _rows(pool, "select reason, content, mail_from, rcpt_to from service.rejected_mail")
    assert len(kept) == 1
    kept_reason, content, mail_from, rcpt_to = kept[0]
    assert reason in kept_reason
    assert bytes(content) == raw
    assert mail_from == "jan@harbour.example" and rcpt_to == ["service@fleetcare.example"]
    assert await _rows(pool, "select count(*) from service.service_requests") == [(0,)]


def test_parsing_takes_html_when_there_is_no_plain_text():
    message = EmailMessage()
    message["From"] = "ops@harbour.example"
    message["Subject"] = "[pump-001] Alarm"
    message.set_content("<p>Pump <b>stopped</b> &amp; alarms</p><p>Fault: E-7</p>", subtype="html")
    parsed = mail.parse(message.as_bytes())
    assert "Pump  stopped  & alarms" in parsed.text and parsed.fault_code == "E-7"
    assert parsed.asset_refs == ("pump-001",) and parsed.sender_name is None


def test_fleetcare_mail_runs_the_server_on_its_port(db_url, conn):
    """``fleetcare mail`` as an operator runs it: the configured port, a request per message, SIGTERM stops it."""
    site = conn.execute(
        """
        with c as (insert into service.customers (name) values ('Harbour') returning id)
        insert into service.sites (customer_id, code, name, region, lat, lon)
        select id, 'rtm-01', 'Pier 7', 'NL-ZH', 51.9, 4.46 from c returning id
        """
    ).fetchone()[0]
    conn.execute("insert into telemetry.devices (asset_id, site_id, model) values ('pump-001', 'rtm-01', 'CP-200')")
    conn.execute("insert into service.assets (id, site_id, model, serial) values ('pump-001', %s, 'CP-200', 'A1')",
                 [site])
    port = free_port()
    env = {**os.environ, "FLEETCARE_DATABASE_URL": db_url, "FLEETCARE_SMTP_PORT": str(port)}
    server = subprocess.Popen([sys.executable, "-m", "service_core.cli", "mail"], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert server.stdout.readline().strip() == f"service mail on smtp://127.0.0.1:{port}"
        code, text = _send(("127.0.0.1", port), _message("[pump-001] Leak", "Leaking."))
        assert code == 250, text
    finally:
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=20)
    assert server.returncode == 0, out
    assert conn.execute("select channel, asset_id from service.service_requests").fetchall() == [("email", "pump-001")]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000) | st.text(max_size=500).map(lambda t: f"From: a@b.example\r\nSubject: {t}\r\n\r\n{t}"
                                                             .encode("utf-8", "surrogatepass")))
def test_any_bytes_parse_or_are_refused_with_a_reason(raw):
    try:
        parsed = mail.parse(raw)
    except mail.MailRejected as exc:
        assert exc.reason
    else:
        assert "@" in parsed.sender_email
