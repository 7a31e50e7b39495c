"""The knowledge base through the API: articles, full-text search and its ranking, filters, suggestions for an
order, promotion of a resolution, and the 4xx answers."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from service_core.knowledge.service import score
from tests.service_core.builders import SITE


async def _fleet(client: httpx.AsyncClient) -> int:
    """Two assets of different models and an engineer; returns the engineer's id."""
    customer = (await client.post("/customers", json={"name": "Harbour Water"})).json()
    site = (
        await client.post(
            "/sites",
            json={"customer_id": customer["id"], "code": "rtm-01", "name": "Pier 7", "region": "NL-ZH",
                  "lat": SITE[0], "lon": SITE[1]},
        )
    ).json()
    for asset_id, model in (("pump-001", "CP-200"), ("motor-001", "MX-90")):
        asset = await client.post(
            "/assets", json={"id": asset_id, "site_id": site["id"], "model": model, "serial": f"SN-{asset_id}"}
        )
        assert asset.status_code == 201, asset.text
    engineer = await client.post(
        "/engineers", json={"name": "Eva", "skills": [], "home_lat": SITE[0], "home_lon": SITE[1]}
    )
    return engineer.json()["id"]


async def _article(client: httpx.AsyncClient, **fields) -> dict:
    body = {"fix": "Replaced the part.", "author": "kb:ines"} | fields
    response = await client.post("/knowledge/articles", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def _search(client: httpx.AsyncClient, **params) -> list[dict]:
    response = await client.get("/knowledge/articles", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def _completed_order(client: httpx.AsyncClient, engineer_id: int, **fields) -> dict:
    body = {"asset_id": "pump-001", "type": "repair", "title": "Bearing noise", "actor": "desk"} | fields
    order = (await client.post("/work-orders", json=body)).json()
    url = f"/work-orders/{order['id']}"
    assert (await client.post(f"{url}/assign", json={"engineer_id": engineer_id, "actor": "desk"})).status_code == 200
    for target in ("accepted", "en_route", "on_site", "in_progress", "completed"):
        assert (await client.post(f"{url}/transitions", json={"to": target, "actor": "eva"})).status_code == 200
    return order


@pytest.mark.asyncio
async def test_create_read_update_and_audit(client: httpx.AsyncClient) -> None:
    article = await _article(
        client,
        title="Seal leak on CP-200 after cold start",
        problem="Water drips at the shaft seal.",
        cause="Dry running hardened the seal faces.",
        fix="Fit seal kit SK-200 and prime the pump before starting.",
        asset_models=["CP-200", "CP-200", "CP-300"],
        fault_codes=["E-042"],
        failure_modes=["seal_leak"],
        tags=["Seals", "priming"],
    )
    assert article["asset_models"] == ["CP-200", "CP-300"]  # each once
    assert article["tags"] == ["seals", "priming"]
    assert article["source_work_order_id"] is None and article["author"] == "kb:ines"
    assert (await client.get(f"/knowledge/articles/{article['id']}")).json() == article

    changed = await client.patch(
        f"/knowledge/articles/{article['id']}", json={"fault_codes": ["E-042", "E-043"], "actor": "kb:jan"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["fault_codes"] == ["E-042", "E-043"] and changed.json()["title"] == article["title"]
    assert changed.json()["updated_at"] > article["updated_at"]
    # the new code is searchable at once: the search vector is a generated column
    assert [a["id"] for a in await _search(client, q="E-043")] == [article["id"]]


@pytest.mark.asyncio
async def test_changes_are_audited(client: httpx.AsyncClient, conn: psycopg.Connection) -> None:
    article = await _article(client, title="Impeller blockage", fix="Clear the impeller.")
    await client.patch(f"/knowledge/articles/{article['id']}", json={"title": "Impeller blocked by rags",
                                                                      "actor": "kb:jan"})
    rows = conn.execute(
        "select actor, action, before, after from service.audit_log"
        " where table_name = 'articles' and row_id = %s order by id",
        (str(article["id"]),),
    ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [("kb:ines", "insert"), ("kb:jan", "update")]
    before, after = rows[1][2], rows[1][3]
    assert before["title"] == "Impeller blockage" and after["title"] == "Impeller blocked by rags"
    assert set(before) == {"title", "search"}  # the search vector follows the title


@pytest.mark.asyncio
async def test_search_ranks_title_over_codes_over_body_and_marks_the_match(client: httpx.AsyncClient) -> None:
    in_body = await _article(client, title="Pump noise at low flow", problem="A grinding noise; the shaft runs dry.",
                             fix="Grease the bearing.")
    in_title = await _article(client, title="Bearing replacement on CP-200", fix="Replace both bearings.")
    as_mode = await _article(client, title="Noisy motor", failure_modes=["bearing_wear"], fix="Replace the rotor.")
    unrelated = await _article(client, title="Cavitation at the inlet", fix="Open the suction valve fully.")

    hits = await _search(client, q="bearing")
    # weights: title A > failure modes B > body C; 'bearings' and 'bearing_wear' stem to the same word
    assert [h["id"] for h in hits] == [in_title["id"], as_mode["id"], in_body["id"]]
    assert hits[0]["rank"] > hits[1]["rank"] > hits[2]["rank"] > 0
    assert "<mark>bearing</mark>" in hits[2]["headline"]

    # web-search syntax: a phrase, a negation, 'or'
    assert [h["id"] for h in await _search(client, q='"grease the bearing"')] == [in_body["id"]]
    assert {h["id"] for h in await _search(client, q="bearing -grinding")} == {in_title["id"], as_mode["id"]}
    assert {h["id"] for h in await _search(client, q="cavitation or rotor")} == {as_mode["id"], unrelated["id"]}
    # english stemming: 'greasing bearings' finds 'Grease the bearing'
    assert in_body["id"] in [h["id"] for h in await _search(client, q="greasing bearings")]
    assert await _search(client, q="impeller") == []
    # without a query: newest first, no rank, no snippet
    everything = await _search(client)
    assert [h["id"] for h in everything][:2] == [unrelated["id"], as_mode["id"]]
    assert everything[0]["rank"] is None and everything[0]["headline"] is None


@pytest.mark.asyncio
async def test_search_filters(client: httpx.AsyncClient) -> None:
    a = await _article(client, title="Seal leak", asset_models=["CP-200"], fault_codes=["E-042"],
                       failure_modes=["seal_leak"], tags=["seals"])
    b = await _article(client, title="Seal wear on the motor", asset_models=["MX-90"], fault_codes=["E-042", "E-7"],
                       failure_modes=["seal_leak", "overheating"])
    c = await _article(client, title="Overheating motor", asset_models=["MX-90"], failure_modes=["overheating"])

    async def ids(**params) -> set[int]:
        return {h["id"] for h in await _search(client, **params)}

    assert await ids(asset_model="MX-90") == {b["id"], c["id"]}
    assert await ids(fault_code="E-042") == {a["id"], b["id"]}
    assert await ids(failure_mode="overheating") == {b["id"], c["id"]}
    assert await ids(tag="seals") == {a["id"]}
    assert await ids(asset_model="MX-90", fault_code="E-042") == {b["id"]}
    assert await ids(q="seal", asset_model="MX-90") == {b["id"]}
    assert await ids(q="E-7") == {b["id"]}
    assert await ids(asset_model="XX-1") == set()


@pytest.mark.asyncio
async def test_suggestions_for_an_order_explain_themselves(client: httpx.AsyncClient) -> None:
    await _fleet(client)
    order = (
        await client.post(
            "/work-orders",
            json={"asset_id": "pump-001", "type": "repair", "title": "Grinding noise from the bearing housing",
                  "description": "Loud after start-up", "fault_code": "E-042", "failure_mode": "bearing_wear",
                  "actor": "desk"},
        )
    ).json()
    best = await _article(client, title="E-042 on CP-200 pumps", asset_models=["CP-200"], fault_codes=["E-042"],
                          fix="Re-seat the sensor.")
    same_model = await _article(client, title="Priming a CP-200", asset_models=["CP-200"], fix="Open the vent.")
    same_mode = await _article(client, title="Worn rotor", failure_modes=["bearing_wear"], fix="Swap the rotor.")
    by_words = await _article(client, title="Noise in the housing", fix="Tighten the housing bolts.")
    other_model = await _article(client, title="Other model", asset_models=["MX-90"], fault_codes=["E-9"],
                                 fix="Nothing here.")

    response = await client.get(f"/work-orders/{order['id']}/suggested-articles")
    assert response.status_code == 200, response.text
    suggestions = response.json()
    # fault code + model (6) > failure mode + the word 'bearing' (2 + text) > two title words (text only, > 2)
    # > the model alone (2); the other model's article shares nothing and is not suggested
    assert [s["article"]["id"] for s in suggestions] == [best["id"], same_mode["id"], by_words["id"], same_model["id"]]
    first = suggestions[0]
    assert first["reasons"][:2] == ["same fault code E-042", "covers asset model CP-200"]
    assert first["score"] == score(fault_code=True, asset_model=True, failure_mode=False, text_rank=0.0)
    assert suggestions[1]["reasons"] == ["same failure mode bearing_wear", "text matches: bear"]
    assert suggestions[2]["matched_words"] == ["hous", "nois"]
    assert suggestions[2]["reasons"] == ["text matches: hous, nois"]
    assert 2 < suggestions[2]["score"] < 3
    assert suggestions[3]["reasons"] == ["covers asset model CP-200"] and suggestions[3]["score"] == 2

    # an order on the other model gets that model's article only
    other = (
        await client.post("/work-orders", json={"asset_id": "motor-001", "type": "inspection", "title": "Yearly",
                                                "actor": "desk"})
    ).json()
    suggested = (await client.get(f"/work-orders/{other['id']}/suggested-articles")).json()
    assert [(s["article"]["id"], s["reasons"]) for s in suggested] == [
        (other_model["id"], ["covers asset model MX-90"])
    ]


@pytest.mark.asyncio
async def test_promote_a_resolution(client: httpx.AsyncClient, conn: psycopg.Connection) -> None:
    engineer_id = await _fleet(client)
    open_order = (
        await client.post("/work-orders", json={"asset_id": "pump-001", "type": "repair", "title": "Leak",
                                                "actor": "desk"})
    ).json()
    not_done = await client.post(f"/work-orders/{open_order['id']}/promote-to-article", json={"actor": "kb"})
    assert not_done.status_code == 409 and "is new" in not_done.json()["detail"]

    order = await _completed_order(
        client, engineer_id, title="Seal leak at the shaft", description="Drips under load", fault_code="E-042",
        failure_mode="seal_leak",
    )
    url = f"/work-orders/{order['id']}"
    no_resolution = await client.post(f"{url}/promote-to-article", json={"actor": "kb"})
    assert no_resolution.status_code == 409 and "no resolution" in no_resolution.json()["detail"]

    await client.patch(url, json={"resolution": "Fitted seal kit SK-200.", "root_cause": "Dry run", "actor": "eva"})
    promoted = await client.post(f"{url}/promote-to-article", json={"actor": "kb:ines", "title": "Shaft seal leak"})
    assert promoted.status_code == 201, promoted.text
    article = promoted.json()
    assert {k: article[k] for k in ("title", "problem", "cause", "fix", "asset_models", "fault_codes",
                                    "failure_modes", "tags", "author", "source_work_order_id")} == {
        "title": "Shaft seal leak", "problem": "Drips under load", "cause": "Dry run",
        "fix": "Fitted seal kit SK-200.", "asset_models": ["CP-200"], "fault_codes": ["E-042"],
        "failure_modes": ["seal_leak"], "tags": ["repair"], "author": "kb:ines", "source_work_order_id": order["id"],
    }
    events = (await client.get(url)).json()["events"]
    assert (events[-1]["kind"], events[-1]["details"]) == ("promoted_to_article", {"article_id": article["id"]})
    assert events[-1]["from_status"] == events[-1]["to_status"] == "completed"

    again = await client.post(f"{url}/promote-to-article", json={"actor": "kb"})
    assert again.status_code == 409
    assert again.json()["detail"] == f"work order {order['id']} was already promoted to article {article['id']}"
    # the database says so too, whoever writes
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(
            "insert into service.articles (title, fix, author, source_work_order_id) values ('x', 'y', 'z', %s)",
            (order["id"],),
        )
    # the order's own article is not suggested back to it; a new order with the same fault code gets it
    assert (await client.get(f"{url}/suggested-articles")).json() == []
    later = (
        await client.post("/work-orders", json={"asset_id": "pump-001", "type": "repair", "title": "Drips again",
                                                "fault_code": "E-042", "actor": "desk"})
    ).json()
    suggested = (await client.get(f"/work-orders/{later['id']}/suggested-articles")).json()
    assert [s["article"]["id"] for s in suggested] == [article["id"]]
    assert [h["id"] for h in await _search(client, q="seal kit")] == [article["id"]]


@pytest.mark.asyncio
async def test_4xx(client: httpx.AsyncClient) -> None:
    await _fleet(client)
    article = await _article(client, title="Something")
    url = f"/knowledge/articles/{article['id']}"

    assert (await client.get("/knowledge/articles/999")).status_code == 404
    missing = await client.patch("/knowledge/articles/999", json={"title": "x", "actor": "a"})
    assert missing.status_code == 404 and missing.json()["detail"] == "article 999 not found"
    assert (await client.get("/work-orders/999/suggested-articles")).status_code == 404
    assert (await client.post("/work-orders/999/promote-to-article", json={"actor": "a"})).status_code == 404

    async def rejected(response: httpx.Response, words: str) -> None:
        assert response.status_code == 422, response.text
        assert words in response.text

    await rejected(await client.post("/knowledge/articles", json={"title": "t", "author": "a"}), "fix")
    await rejected(await client.post("/knowledge/articles", json={"title": "t", "fix": " ", "author": "a"}), "fix")
    await rejected(
        await client.post("/knowledge/articles", json={"title": "t", "fix": "f", "author": "a",
                                                       "fault_codes": ["E 1"]}),
        "fault_codes",
    )
    await rejected(
        await client.post("/knowledge/articles", json={"title": "t", "fix": "f", "author": "a",
                                                       "failure_modes": ["rust"]}),
        "failure_modes",
    )
    await rejected(await client.post("/knowledge/articles", json={"title": "t", "fix": "f", "author": "a",
                                                                  "colour": "red"}), "colour")
    await rejected(await client.patch(url, json={"title": None, "actor": "a"}), "cannot be null: title")
    await rejected(await client.patch(url, json={"title": "x"}), "actor")
    await rejected(await client.get("/knowledge/articles", params={"failure_mode": "rust"}), "failure_mode")
    await rejected(await client.get("/knowledge/articles", params={"q": ""}), "q")
    await rejected(await client.post("/work-orders/1/promote-to-article", json={}), "actor")
