"""Work orders through the API: creation, the state machine (409 on illegal moves), events, filters."""

from __future__ import annotations

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service_core.workorders.states import TRANSITIONS, Status
from tests.service_core.builders import SITE


async def _fleet(client: httpx.AsyncClient) -> tuple[str, int]:
    """An asset and an active engineer, made through the API."""
    customer = (await client.post("/customers", json={"name": "Harbour Water"})).json()
    site = (
        await client.post(
            "/sites",
            json={"customer_id": customer["id"], "code": "rtm-01", "name": "Pier 7", "region": "NL-ZH",
                  "lat": SITE[0], "lon": SITE[1]},
        )
    ).json()
    asset = await client.post(
        "/assets", json={"id": "pump-001", "site_id": site["id"], "model": "CP-200", "serial": "A1"}
    )
    assert asset.status_code == 201, asset.text
    engineer = await client.post(
        "/engineers",
        json={"name": "Eva", "skills": [{"skill": "mechanical", "level": 3}], "home_lat": SITE[0], "home_lon": SITE[1]},
    )
    assert engineer.status_code == 201, engineer.text
    return "pump-001", engineer.json()["id"]


async def _order(client: httpx.AsyncClient, asset_id: str, **extra) -> dict:
    body = {"asset_id": asset_id, "type": "repair", "title": "Leaking flange", "actor": "desk:anna"} | extra
    response = await client.post("/work-orders", json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.asyncio
async def test_full_life_of_an_order(client: httpx.AsyncClient) -> None:
    asset_id, engineer_id = await _fleet(client)
    order = await _order(client, asset_id)
    assert order["status"] == "new" and order["engineer_id"] is None

    url = f"/work-orders/{order['id']}"
    assigned = await client.post(f"{url}/assign", json={"engineer_id": engineer_id, "actor": "desk:anna"})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["status"] == "assigned" and assigned.json()["engineer_id"] == engineer_id

    for target in ["accepted", "en_route", "on_site", "in_progress", "completed", "closed"]:
        moved = await client.post(f"{url}/transitions", json={"to": target, "actor": "eva", "note": target})
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == target

    detail = (await client.get(f"/work-orders/{order['id']}")).json()
    events = detail["events"]
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        (None, "new"), ("new", "assigned"), ("assigned", "accepted"), ("accepted", "en_route"),
        ("en_route", "on_site"), ("on_site", "in_progress"), ("in_progress", "completed"), ("completed", "closed"),
    ]
    assert [e["actor"] for e in events] == ["desk:anna", "desk:anna"] + ["eva"] * 6
    assert [e["kind"] for e in events[:3]] == ["created", "assigned", "transition"]
    assert all(e["at"] for e in events)
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)

    mine = (await client.get(f"/engineers/{engineer_id}/work-orders")).json()
    assert [o["id"] for o in mine] == [order["id"]]


@pytest.mark.asyncio
async def test_illegal_transition_is_409_with_a_clear_message(client: httpx.AsyncClient) -> None:
    asset_id, _ = await _fleet(client)
    order = await _order(client, asset_id)
    response = await client.post(f"/work-orders/{order['id']}/transitions", json={"to": "closed", "actor": "eva"})
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "cannot move a work order from 'new' to 'closed'; allowed from 'new': assigned, cancelled, on_hold"
    )
    # a legal move that needs an engineer the order does not have
    response = await client.post(f"/work-orders/{order['id']}/transitions", json={"to": "assigned", "actor": "eva"})
    assert response.status_code == 409 and "no engineer" in response.json()["detail"]
    detail = (await client.get(f"/work-orders/{order['id']}")).json()
    assert detail["status"] == "new" and len(detail["events"]) == 1


@pytest.mark.asyncio
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(targets=st.lists(st.sampled_from(Status), max_size=12))
async def test_random_sequences_through_the_api(client: httpx.AsyncClient, targets: list[Status]) -> None:
    """Whatever is asked, the API moves exactly as the table says and records each move."""
    engineers = (await client.get("/engineers")).json()
    if not engineers:
        asset_id, engineer_id = await _fleet(client)
    else:
        asset_id, engineer_id = "pump-001", engineers[0]["id"]
    order = await _order(client, asset_id)
    await client.post(f"/work-orders/{order['id']}/assign", json={"engineer_id": engineer_id, "actor": "dispatch"})
    current, moves = Status.ASSIGNED, []
    for i, target in enumerate(targets):
        body = {"to": target.value, "actor": f"actor-{i}"}
        if target == Status.ON_HOLD:
            body["reason"] = "other"  # a hold always says why
        response = await client.post(f"/work-orders/{order['id']}/transitions", json=body)
        if target in TRANSITIONS[current]:
            assert response.status_code == 200, response.text
            moves.append((current.value, target.value, f"actor-{i}"))
            current = target
        else:
            assert response.status_code == 409
            assert f"from {current.value!r} to {target.value!r}" in response.json()["detail"]
    detail = (await client.get(f"/work-orders/{order['id']}")).json()
    assert detail["status"] == current.value
    recorded = [(e["from_status"], e["to_status"], e["actor"]) for e in detail["events"] if e["kind"] == "transition"]
    assert recorded == moves


@pytest.mark.asyncio
async def test_reassign_and_on_hold(client: httpx.AsyncClient) -> None:
    asset_id, first = await _fleet(client)
    second = (
        await client.post("/engineers", json={"name": "Bo", "skills": [], "home_lat": 52.0, "home_lon": 4.0})
    ).json()["id"]
    order = await _order(client, asset_id)
    url = f"/work-orders/{order['id']}"
    assert (await client.post(f"{url}/assign", json={"engineer_id": first, "actor": "desk"})).status_code == 200
    again = await client.post(f"{url}/assign", json={"engineer_id": first, "actor": "desk"})
    assert again.status_code == 409 and "already assigned" in again.json()["detail"]
    moved = await client.post(f"{url}/assign", json={"engineer_id": second, "actor": "desk"})
    assert moved.json()["engineer_id"] == second
    await client.post(f"{url}/transitions", json={"to": "accepted", "actor": "bo"})
    late = await client.post(f"{url}/assign", json={"engineer_id": first, "actor": "desk"})
    assert late.status_code == 409 and "'accepted' to 'assigned'" in late.json()["detail"]
    await client.post(
        f"{url}/transitions",
        json={"to": "on_hold", "reason": "waiting_parts", "actor": "bo", "note": "waiting for a seal kit"},
    )
    back = await client.post(f"{url}/assign", json={"engineer_id": first, "actor": "desk"})
    assert back.status_code == 200 and back.json()["engineer_id"] == first
    kinds = [(e["kind"], e["to_status"], e["engineer_id"]) for e in back.json()["events"]]
    assert kinds == [
        ("created", "new", None), ("assigned", "assigned", first), ("assigned", "assigned", second),
        ("transition", "accepted", second), ("transition", "on_hold", second), ("assigned", "assigned", first),
    ]


@pytest.mark.asyncio
async def test_filters(client: httpx.AsyncClient) -> None:
    asset_id, engineer_id = await _fleet(client)
    a = await _order(client, asset_id)
    b = await _order(client, asset_id, type="inspection", title="Yearly check")
    c = await _order(client, asset_id, type="preventive", failure_mode="seal_leak", title="Seal")
    await client.post(f"/work-orders/{b['id']}/assign", json={"engineer_id": engineer_id, "actor": "desk"})

    async def ids(**params) -> list[int]:
        response = await client.get("/work-orders", params=params)
        assert response.status_code == 200, response.text
        return [o["id"] for o in response.json()]

    assert await ids() == [c["id"], b["id"], a["id"]]
    assert await ids(status="assigned") == [b["id"]]
    assert await ids(type="preventive") == [c["id"]]
    assert await ids(engineer_id=engineer_id) == [b["id"]]
    assert await ids(asset_id="nope") == []
    assert await ids(asset_id=asset_id, status="new") == [c["id"], a["id"]]


@pytest.mark.asyncio
async def test_4xx(client: httpx.AsyncClient, conn: psycopg.Connection) -> None:
    asset_id, engineer_id = await _fleet(client)
    order = await _order(client, asset_id)
    url = f"/work-orders/{order['id']}"

    assert (await client.get("/work-orders/999")).status_code == 404
    assert (await client.post("/work-orders/999/transitions", json={"to": "accepted", "actor": "x"})).status_code == 404
    assert (await client.get("/engineers/999/work-orders")).status_code == 404
    missing = await client.post(f"{url}/assign", json={"engineer_id": 999, "actor": "x"})
    assert missing.status_code == 404 and missing.json()["detail"] == "engineer 999 not found"
    unknown_asset = await client.post(
        "/work-orders", json={"asset_id": "ghost", "type": "repair", "title": "t", "actor": "x"}
    )
    assert unknown_asset.status_code == 404 and "ghost" in unknown_asset.json()["detail"]

    assert (await client.post(f"{url}/transitions", json={"to": "teleported", "actor": "x"})).status_code == 422
    assert (await client.post(f"{url}/transitions", json={"to": "cancelled"})).status_code == 422
    assert (await client.post(f"{url}/transitions", json={"to": "cancelled", "actor": " "})).status_code == 422
    no_mode = await client.post(
        "/work-orders", json={"asset_id": asset_id, "type": "preventive", "title": "t", "actor": "x"}
    )
    assert no_mode.status_code == 422 and "failure_mode" in no_mode.text
    assert (await client.get("/work-orders", params={"status": "sleeping"})).status_code == 422

    conn.execute("update service.engineers set active = false where id = %s", (engineer_id,))
    inactive = await client.post(f"{url}/assign", json={"engineer_id": engineer_id, "actor": "x"})
    assert inactive.status_code == 409 and "inactive" in inactive.json()["detail"]

    body = {"asset_id": asset_id, "type": "preventive", "failure_mode": "cavitation", "title": "t", "actor": "x"}
    first = await client.post("/work-orders", json=body)
    duplicate = await client.post("/work-orders", json=body)
    assert duplicate.status_code == 409
    assert duplicate.json()["detail"] == (
        f"asset 'pump-001' already has an open preventive work order for cavitation (work order {first.json()['id']})"
    )
    await client.post(f"/work-orders/{first.json()['id']}/transitions", json={"to": "cancelled", "actor": "x"})
    assert (await client.post("/work-orders", json=body)).status_code == 201


@pytest.mark.asyncio
async def test_update_records_before_and_after_and_the_audit_has_every_change(client: httpx.AsyncClient) -> None:
    asset_id, engineer_id = await _fleet(client)
    order = await _order(client, asset_id, priority="normal")
    url = f"/work-orders/{order['id']}"
    patched = await client.patch(url, json={"priority": "urgent", "title": "Flange leaking badly", "actor": "desk:bo"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["priority"] == "urgent" and patched.json()["title"] == "Flange leaking badly"
    updated = [e for e in patched.json()["events"] if e["kind"] == "updated"]
    assert len(updated) == 1 and updated[0]["actor"] == "desk:bo" and updated[0]["to_status"] == "new"
    assert updated[0]["details"] == {
        "before": {"priority": "normal", "title": "Leaking flange"},
        "after": {"priority": "urgent", "title": "Flange leaking badly"},
    }
    same = await client.patch(url, json={"priority": "urgent", "actor": "desk:bo"})
    assert len([e for e in same.json()["events"] if e["kind"] == "updated"]) == 1  # nothing changed, nothing logged
    await client.post(f"{url}/assign", json={"engineer_id": engineer_id, "actor": "dispatch"})

    audit = (await client.get(f"{url}/audit")).json()
    assert [(c["action"], c["actor"]) for c in audit] == [
        ("insert", "desk:anna"), ("update", "desk:bo"), ("update", "dispatch")
    ]
    assert audit[1]["before"] == {"priority": "normal", "title": "Leaking flange"}
    assert audit[1]["after"] == {"priority": "urgent", "title": "Flange leaking badly"}
    assert audit[2]["before"] == {"status": "new", "engineer_id": None}
    assert audit[2]["after"] == {"status": "assigned", "engineer_id": engineer_id}

    assert (await client.patch(url, json={"priority": None, "actor": "x"})).status_code == 422
    assert (await client.patch(url, json={"priority": "asap", "actor": "x"})).status_code == 422
    assert (await client.patch("/work-orders/999", json={"priority": "low", "actor": "x"})).status_code == 404
    assert (await client.get("/work-orders/999/audit")).status_code == 404


@pytest.mark.asyncio
async def test_a_complaint_is_not_completed_without_root_cause_and_follow_up(client: httpx.AsyncClient) -> None:
    asset_id, engineer_id = await _fleet(client)
    order = await _order(client, asset_id, type="complaint", title="Oil left on the floor", fault_code="E-042")
    assert order["fault_code"] == "E-042"
    url = f"/work-orders/{order['id']}"
    await client.post(f"{url}/assign", json={"engineer_id": engineer_id, "actor": "desk"})
    for target in ["accepted", "en_route", "on_site", "in_progress"]:
        assert (await client.post(f"{url}/transitions", json={"to": target, "actor": "eva"})).status_code == 200
    refused = await client.post(f"{url}/transitions", json={"to": "completed", "actor": "eva"})
    assert refused.status_code == 409 and "root_cause and a follow_up" in refused.json()["detail"]
    await client.patch(url, json={"root_cause": "no drip tray in the van", "actor": "lead"})
    still = await client.post(f"{url}/transitions", json={"to": "completed", "actor": "eva"})
    assert still.status_code == 409
    await client.patch(url, json={"follow_up": "drip trays added to every van checklist", "actor": "lead"})
    done = await client.post(f"{url}/transitions", json={"to": "completed", "actor": "eva"})
    assert done.status_code == 200 and done.json()["status"] == "completed"
    cleared = await client.patch(url, json={"root_cause": None, "actor": "lead"})
    assert cleared.status_code == 409


@pytest.mark.asyncio
async def test_time_window_and_duration_of_a_visit(client: httpx.AsyncClient) -> None:
    asset_id, _ = await _fleet(client)
    order = await _order(
        client, asset_id, window_start="2026-05-04T08:00:00Z", window_end="2026-05-04T12:00:00Z", duration_minutes=90
    )
    assert (order["window_start"], order["window_end"], order["duration_minutes"]) == (
        "2026-05-04T08:00:00Z", "2026-05-04T12:00:00Z", 90)
    backwards = await client.post("/work-orders", json={
        "asset_id": asset_id, "type": "repair", "title": "t", "actor": "x",
        "window_start": "2026-05-04T12:00:00Z", "window_end": "2026-05-04T08:00:00Z"})
    assert backwards.status_code == 422 and "window_end must be after window_start" in backwards.text
    url = f"/work-orders/{order['id']}"
    moved = await client.patch(url, json={"window_end": "2026-05-04T16:00:00Z", "actor": "desk"})
    assert moved.status_code == 200 and moved.json()["window_end"] == "2026-05-04T16:00:00Z"
    refused = await client.patch(url, json={"window_end": "2026-05-04T07:00:00Z", "actor": "desk"})
    assert refused.status_code == 422 and "window_end" in refused.json()["detail"]


@pytest.mark.asyncio
async def test_a_customer_may_prefer_an_engineer(client: httpx.AsyncClient) -> None:
    _, engineer_id = await _fleet(client)
    created = await client.post("/customers", json={"name": "Canal Pumps", "preferred_engineer_id": engineer_id})
    assert created.status_code == 201 and created.json()["preferred_engineer_id"] == engineer_id
    unknown = await client.patch(f"/customers/{created.json()['id']}", json={"preferred_engineer_id": 999})
    assert unknown.status_code == 404 and unknown.json()["detail"] == "engineer 999 not found"
    cleared = await client.patch(f"/customers/{created.json()['id']}", json={"preferred_engineer_id": None})
    assert cleared.status_code == 200 and cleared.json()["preferred_engineer_id"] is None
