"""The survey job through a real SMTP server and a real webhook receiver: one survey per completed order, sent
outside the claiming transaction, retried when a send fails, reminded once."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio

from service_core.db import create_pool
from service_core.runtime.ports import free_port
from service_core.surveys import flows, rules, service
from service_core.surveys.channels import EmailChannel, WebhookChannel
from service_core.surveys.job import run_once
from tests.service_core.survey_builders import PUBLIC_URL, a_completed_order, rows, smtp_server, webhook_receiver

LINK = re.compile(re.escape(PUBLIC_URL) + r"(/s/[0-9a-f]{64})")


@pytest_asyncio.fixture
async def smtp():
    async with smtp_server() as server:
        yield server


@pytest.fixture
def webhook():
    with webhook_receiver() as receiver:
        yield receiver


def email(port: int) -> dict:
    return {"email": EmailChannel(host="127.0.0.1", port=port, sender="service@fleetcare.example")}


@pytest.mark.asyncio
async def test_the_reporter_gets_an_email_whose_link_answers_the_survey(pool, smtp, client: httpx.AsyncClient):
    inbox, port = smtp
    async with pool.connection() as conn:
        order_id = await a_completed_order(conn, customer_email="ops@harbour.example",
                                           reporter_email="jan@harbour.example")
        await a_completed_order(conn, code="rtm-02", customer_email="x@y.example", complete=False)  # not done yet

    result = await run_once(pool, channels=email(port), public_url=PUBLIC_URL)
    assert (result.opened, result.sent, result.failed) == (1, 1, 0)

    [message] = inbox.messages
    assert message["To"] == "jan@harbour.example"  # the reporter before the customer's general address
    assert message["Subject"] == "How did we do? Your service job on CP-200 (pump-rtm-01)"
    text = message.get_content()
    assert "Ana completed \"Leaking flange\" on your CP-200 (pump-rtm-01) at Pier rtm-01" in text
    path = LINK.search(text).group(1)

    survey = (await client.get(f"/work-orders/{order_id}/survey")).json()
    assert survey["channel"] == "email" and survey["recipient"] == "jan@harbour.example"
    assert survey["sent_at"] is not None and survey["answered_at"] is None
    assert [(m["kind"], m["attempts"], m["sent_at"] is not None) for m in survey["messages"]] == [
        ("invitation", 1, True)
    ]

    page = await client.get(path)
    assert page.status_code == 200
    assert "Leaking flange" in page.text and "Ana" in page.text and "Keller" not in page.text
    assert "<script" not in page.text
    answered = await client.post(path, data={"csat": "5", "nps": "9", "comment": "Quick and tidy."})
    assert answered.status_code == 200, answered.text
    assert "Thank you" in answered.text

    survey = (await client.get(f"/work-orders/{order_id}/survey")).json()
    assert (survey["csat"], survey["nps"], survey["comment"]) == (5, 9, "Quick and tidy.")
    assert survey["answered_at"] >= survey["sent_at"]

    again = await run_once(pool, channels=email(port), public_url=PUBLIC_URL)
    assert not again and len(inbox.messages) == 1


@pytest.mark.asyncio
async def test_two_jobs_at_once_send_one_survey_per_order(db_url, pool, smtp):
    inbox, port = smtp
    async with pool.connection() as conn:
        orders = [await a_completed_order(conn, code=f"rtm-{i}", customer_email=f"c{i}@harbour.example")
                  for i in range(6)]
    inbox.delay_s = 0.05
    other = create_pool(db_url, max_size=4)
    await other.open(wait=True)
    try:
        for _ in range(3):  # the second job starts while the first is still sending
            await asyncio.gather(run_once(pool, channels=email(port), public_url=PUBLIC_URL),
                                 run_once(other, channels=email(port), public_url=PUBLIC_URL),
                                 _later(0.1, run_once(other, channels=email(port), public_url=PUBLIC_URL)))
    finally:
        await other.close()

    surveys = await rows(pool, "select work_order_id, count(*) from service.surveys group by 1 order by 1")
    assert surveys == [(o, 1) for o in orders]
    assert sorted(m["To"] for m in inbox.messages) == sorted(f"c{i}@harbour.example" for i in range(6))
    assert await rows(pool, "select count(*) from service.survey_messages where sent_at is null") == [(0,)]


async def _later(delay_s: float, job):
    await asyncio.sleep(delay_s)
    return await job


@pytest.mark.asyncio
async def test_a_claimed_message_is_left_to_its_sender_until_the_lease_expires(pool):
    async with pool.connection() as conn:
        await a_completed_order(conn, customer_email="ops@harbour.example")
    now = datetime.now(UTC)
    async with pool.connection() as conn, conn.transaction():
        await flows.open_surveys(conn, now=now, channels={"email"})
    async with pool.connection() as conn, conn.transaction():
        [claimed] = await service.claim_due(conn, now=now)
    # the first sender is still sending (or died): nobody else takes it until the lease is over
    async with pool.connection() as conn, conn.transaction():
        assert await service.claim_due(conn, now=now + rules.CLAIM_LEASE - timedelta(seconds=1)) == []
    async with pool.connection() as conn, conn.transaction():
        [again] = await service.claim_due(conn, now=now + rules.CLAIM_LEASE + timedelta(seconds=1))
    assert (again.id, again.attempts) == (claimed.id, 2)


@pytest.mark.asyncio
async def test_with_no_address_the_webhook_gets_the_survey_and_a_failed_post_is_retried(pool, webhook, smtp):
    _, port = smtp
    async with pool.connection() as conn:
        order_id = await a_completed_order(conn, customer_email=None)
    webhook.statuses = [503]
    channels = email(port) | {"webhook": WebhookChannel(url=webhook.url)}
    now = datetime.now(UTC)

    first = await run_once(pool, channels=channels, public_url=PUBLIC_URL, now=now)
    assert (first.opened, first.sent, first.failed) == (1, 0, 1)
    [(attempts, error, due, sent_at)] = await rows(
        pool, "select attempts, last_error, next_attempt_at, sent_at from service.survey_messages")
    assert attempts == 1 and "HTTP 503" in error and sent_at is None
    assert due == now + rules.retry_after(1)
    assert await rows(pool, "select sent_at from service.surveys") == [(None,)]

    early = await run_once(pool, channels=channels, public_url=PUBLIC_URL, now=now + timedelta(seconds=30))
    assert not early and webhook.bodies == []  # not due yet

    later = await run_once(pool, channels=channels, public_url=PUBLIC_URL, now=now + timedelta(minutes=2))
    assert later.sent == 1
    [body] = webhook.bodies
    assert body["event"] == "survey.invitation" and body["recipient"] is None
    assert body["work_order_id"] == order_id and body["engineer_first_name"] == "Ana"
    assert body["customer"]["name"] == "Harbour Water rtm-01" and body["asset"]["id"] == "pump-rtm-01"
    assert LINK.fullmatch(body["link"])
    assert await rows(pool, "select channel, sent_at is not null from service.surveys") == [("webhook", True)]
    assert await rows(pool, "select attempts, sent_at is not null from service.survey_messages") == [(2, True)]


@pytest.mark.asyncio
async def test_a_send_to_a_server_that_is_down_is_kept_and_sent_when_it_is_back(pool, smtp):
    inbox, port = smtp
    async with pool.connection() as conn:
        await a_completed_order(conn, customer_email="ops@harbour.example")
    now = datetime.now(UTC)
    down = await run_once(pool, channels=email(free_port()), public_url=PUBLIC_URL, now=now)
    assert (down.sent, down.failed) == (0, 1)
    [(error,)] = await rows(pool, "select last_error from service.survey_messages")
    assert error.startswith("smtp://127.0.0.1:")

    back = await run_once(pool, channels=email(port), public_url=PUBLIC_URL, now=now + timedelta(minutes=2))
    assert (back.opened, back.sent) == (0, 1) and [m["To"] for m in inbox.messages] == ["ops@harbour.example"]


@pytest.mark.asyncio
async def test_no_address_and_no_webhook_is_recorded_as_unsendable_once(pool, client):
    async with pool.connection() as conn:
        order_id = await a_completed_order(conn, customer_email="not an address")
    result = await run_once(pool, channels={}, public_url=PUBLIC_URL)
    assert (result.opened, result.unsendable) == (0, 1)
    survey = (await client.get(f"/work-orders/{order_id}/survey")).json()
    assert survey["unsendable_reason"] == (
        "no e-mail address for the reporter or the customer, and no survey webhook is configured"
    )
    assert survey["channel"] is None and survey["messages"] == []
    assert not await run_once(pool, channels={}, public_url=PUBLIC_URL)
    assert await rows(pool, "select count(*) from service.surveys") == [(1,)]


@pytest.mark.asyncio
async def test_orders_done_long_ago_are_not_surveyed(pool):
    async with pool.connection() as conn:
        await a_completed_order(conn, customer_email="ops@harbour.example")
    later = datetime.now(UTC) + rules.MAX_AGE + timedelta(minutes=1)
    assert not await run_once(pool, channels={}, public_url=PUBLIC_URL, now=later)
    assert await rows(pool, "select count(*) from service.surveys") == [(0,)]


@pytest.mark.asyncio
async def test_an_unanswered_survey_is_reminded_once(pool, smtp, client):
    inbox, port = smtp
    async with pool.connection() as conn:
        await a_completed_order(conn, customer_email="ops@harbour.example")
        await a_completed_order(conn, code="rtm-02", customer_email="answers@harbour.example")
    now = datetime.now(UTC)
    assert (await run_once(pool, channels=email(port), public_url=PUBLIC_URL, now=now)).sent == 2
    answer_link = next(LINK.search(m.get_content()).group(1) for m in inbox.messages
                       if m["To"] == "answers@harbour.example")
    assert (await client.post(answer_link, data={"csat": "4", "nps": "8"})).status_code == 200

    almost = await run_once(pool, channels=email(port), public_url=PUBLIC_URL,
                            now=now + rules.REMINDER_AFTER - timedelta(minutes=1))
    assert not almost and len(inbox.messages) == 2

    due = now + rules.REMINDER_AFTER + timedelta(minutes=1)
    reminded = await run_once(pool, channels=email(port), public_url=PUBLIC_URL, now=due)
    assert (reminded.reminders, reminded.sent) == (1, 1)
    reminder = inbox.messages[-1]
    assert reminder["To"] == "ops@harbour.example" and reminder["Subject"].startswith("Reminder: ")
    assert LINK.search(reminder.get_content())

    for days in (1, 10):
        assert not await run_once(pool, channels=email(port), public_url=PUBLIC_URL, now=due + timedelta(days=days))
    assert len(inbox.messages) == 3
    assert await rows(pool, "select recipient from service.surveys where reminder_sent_at is not null") == [
        ("ops@harbour.example",)
    ]
