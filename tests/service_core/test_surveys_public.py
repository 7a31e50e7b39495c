"""The survey's public page: answering once, the 422 page that keeps what was typed, 404 for a bad link; a
detractor's answer opens a recovery task for the region's supervisor, who is notified; the answers move the KPIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from service_core.surveys import flows, rules
from tests.service_core.survey_builders import a_completed_order, rows


async def a_survey(pool, **order) -> tuple[int, str]:
    """A completed order and its survey (queued for the webhook); returns the order id and the page's path."""
    async with pool.connection() as conn, conn.transaction():
        order_id = await a_completed_order(conn, **order)
        [survey] = await flows.open_surveys(conn, now=datetime.now(UTC), channels={"webhook"})
    return order_id, f"/s/{survey.token}"


async def a_supervisor(client: httpx.AsyncClient, name: str, region: str, line: int = 1, active: bool = True) -> int:
    response = await client.post("/sla/supervisors", json={
        "name": name, "email": f"{name.lower()}@fleetcare.example", "region": region, "support_line": line,
        "active": active, "actor": "manager",
    })
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.mark.asyncio
async def test_the_page_shows_the_job_and_takes_one_answer(pool, client: httpx.AsyncClient):
    order_id, path = await a_survey(pool, engineer_name="Ana Keller")
    page = await client.get(path)
    assert page.status_code == 200
    for shown in ("Leaking flange", "CP-200", "pump-rtm-01", "Pier rtm-01", "Ana", datetime.now(UTC).strftime("%Y")):
        assert shown in page.text
    assert "Keller" not in page.text and "<script" not in page.text
    assert page.text.count('name="csat"') == 5 and page.text.count('name="nps"') == 11

    first = await client.post(path, data={"csat": "4", "nps": "8", "comment": "  Fine.  "})
    assert first.status_code == 200 and "Thank you" in first.text and "contact you" not in first.text
    second = await client.post(path, data={"csat": "1", "nps": "0", "comment": "changed my mind"})
    assert second.status_code == 409 and "already answered" in second.text
    assert (await client.get(path)).status_code == 200
    assert "already answered" in (await client.get(path)).text

    assert await rows(pool, "select csat, nps, comment from service.surveys where work_order_id = %(id)s",
                      {"id": order_id}) == [(4, 8, "Fine.")]
    assert await rows(pool, "select count(*) from service.recovery_tasks") == [(0,)]  # 4 and 8: no detractor
    [(actor,)] = await rows(pool, "select actor from service.audit_log where table_name = 'surveys' "
                                  "and action = 'update' and after ->> 'answered_at' is not null")
    assert actor == flows.CUSTOMER_ACTOR


@pytest.mark.asyncio
async def test_a_bad_answer_comes_back_as_typed_with_what_is_wrong(pool, client: httpx.AsyncClient):
    _, path = await a_survey(pool)
    bad = await client.post(path, data={"nps": "11", "comment": "The <b>seal</b> still drips"})
    assert bad.status_code == 422
    assert "Your satisfaction: please choose a score from 1 to 5" in bad.text
    assert "Would you recommend us: please choose a score from 0 to 10" in bad.text
    assert "The &lt;b&gt;seal&lt;/b&gt; still drips</textarea>" in bad.text  # kept, and escaped

    half = await client.post(path, data={"csat": "3", "nps": "ten", "comment": "x" * 5001})
    assert half.status_code == 422
    assert 'value="3" required checked' in half.text  # the score chosen stays chosen
    assert "too long: at most 5000 characters" in half.text
    assert await rows(pool, "select answered_at from service.surveys") == [(None,)]

    assert (await client.post(path, data={"csat": "3", "nps": "10"})).status_code == 200


@pytest.mark.asyncio
async def test_an_unknown_link_is_a_404_page(pool, client: httpx.AsyncClient):
    await a_survey(pool)
    for response in (await client.get("/s/" + "0" * 64), await client.get("/s/nonsense"),
                     await client.post("/s/" + "0" * 64, data={"csat": "5", "nps": "10"})):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "Unknown survey" in response.text
    assert await rows(pool, "select answered_at from service.surveys") == [(None,)]


@pytest.mark.asyncio
async def test_a_detractor_opens_a_recovery_task_for_the_regions_supervisor(pool, client: httpx.AsyncClient):
    await a_supervisor(client, "Elsewhere", "BE-BRU")
    await a_supervisor(client, "Gone", "NL-ZH", active=False)
    second_line = await a_supervisor(client, "Second", "NL-ZH", line=2)
    mira = await a_supervisor(client, "Mira", "NL-ZH")
    order_id, path = await a_survey(pool, customer_email="ops@harbour.example")

    answered = await client.post(path, data={"csat": "4", "nps": "5", "comment": "Came two days late."})
    assert answered.status_code == 200 and "will contact you" in answered.text

    [task] = (await client.get("/recovery-tasks", params={"status": "open"})).json()
    assert task["supervisor_id"] == mira and task["supervisor_id"] != second_line
    assert (task["work_order_id"], task["region"], task["status"]) == (order_id, "NL-ZH", "open")
    assert task["reason"] == "NPS 5 (0-6 is a detractor)"
    due = datetime.fromisoformat(task["due_at"]) - datetime.fromisoformat(task["created_at"])
    assert abs(due - rules.RECOVERY_DUE) < timedelta(minutes=1)

    [(topic, payload)] = await rows(pool, "select topic, payload from service.notifications "
                                          "where topic like 'fleetcare/supervisors/%%'")
    assert topic == f"fleetcare/supervisors/{mira}/recovery"
    assert payload["recovery_task_id"] == task["id"] and payload["comment"] == "Came two days late."
    assert (payload["nps"], payload["csat"], payload["customer"]) == (5, 4, "Harbour Water rtm-01")

    mine = (await client.get("/recovery-tasks", params={"supervisor_id": mira})).json()
    assert [t["id"] for t in mine] == [task["id"]]
    assert (await client.get("/recovery-tasks", params={"supervisor_id": second_line})).json() == []

    url = f"/recovery-tasks/{task['id']}/close"
    assert (await client.post(url, json={"note": " ", "actor": "mira"})).status_code == 422
    closed = await client.post(url, json={"note": "Called, apologised, credit note sent.", "actor": "mira"})
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["closed_by"]) == ("done", "mira")
    twice = await client.post(url, json={"note": "again", "actor": "mira"})
    assert twice.status_code == 409 and "already closed" in twice.json()["detail"]
    assert (await client.get("/recovery-tasks", params={"status": "open"})).json() == []
    assert (await client.get("/recovery-tasks/999999")).status_code == 404
    assert (await client.get("/recovery-tasks", params={"status": "maybe"})).status_code == 422


@pytest.mark.asyncio
async def test_a_low_csat_alone_is_a_detractor_and_a_region_without_supervisor_gets_an_unassigned_task(
    pool, client: httpx.AsyncClient
):
    _, path = await a_survey(pool, region="DE-HH")
    assert (await client.post(path, data={"csat": "2", "nps": "9"})).status_code == 200
    [task] = (await client.get("/recovery-tasks")).json()
    assert task["supervisor_id"] is None and task["reason"] == "CSAT 2 (1-2 is a detractor)"
    assert await rows(pool, "select count(*) from service.notifications where topic like '%%/recovery'") == [(0,)]


@pytest.mark.asyncio
async def test_answers_move_csat_and_nps_in_the_kpis(pool, client: httpx.AsyncClient):
    _, promoter = await a_survey(pool, code="rtm-01")
    _, detractor = await a_survey(pool, code="rtm-02")

    async def kpis() -> dict:
        response = await client.get("/kpis", params={"from": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
                                                     "to": (datetime.now(UTC) + timedelta(days=1)).isoformat()})
        assert response.status_code == 200, response.text
        return response.json()

    before = await kpis()
    assert before["csat"]["denominator"] == 0 and before["nps"]["answers"] == 0
    await client.post(promoter, data={"csat": "5", "nps": "10"})
    await client.post(detractor, data={"csat": "2", "nps": "4"})
    after = await kpis()
    assert (after["csat"]["numerator"], after["csat"]["denominator"], after["csat"]["mean"]) == (1, 2, 3.5)
    assert (after["nps"]["answers"], after["nps"]["promoters"], after["nps"]["detractors"]) == (2, 1, 1)
    assert after["nps"]["score"] == 0
