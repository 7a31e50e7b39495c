"""The KPIs on a small history whose every figure is worked out by hand below.

Period: March 2025, [2025-03-01, 2025-04-01) UTC. Two sites of two customers: A (region NL-ZH) with pumps
pump-1 (CP-200, installed 2024-01-01) and pump-2 (CP-200, installed 2025-03-16); B (region BE-AN) with
motor-1 (MX-90, no installation date, registered 2024-06-01). Engineers: Eva (Mon-Fri 08-17 UTC), Bo
(Mon-Fri 09-13 Europe/Amsterdam), Cy (inactive, no work).

Orders (times 2025, UTC; "acc" = first move to accepted, "site" = first to on_site, "done" = first to completed):
  O1 repair   pump-1  Eva  created 03-03 08:00  acc 03-03 10:00  site 03-03 12:00  done 03-03 15:00
     one visit fixed, 180 min (03-03); survey csat 5 nps 10 answered 03-04
  O2 repair   pump-2  Bo   created 03-10 09:00  acc 03-10 13:00  site 03-11 09:00  done 03-12 11:00
     visits: needs_parts 60 min (03-11), fixed 90 min (03-12); survey csat 3 nps 7 answered 03-13
  O3 complaint motor-1 Eva created 03-17 10:00  acc 03-17 11:00  site 03-17 14:00  done 03-17 16:00,
     reopened 03-18 09:00, accepted, on site and completed again on 03-18;
     visits: fixed 120 min (03-17), a cancelled one; survey csat 2 nps 3 answered 03-19
  O4 repair   pump-1  Eva  created 03-08 09:00  acc 03-08 09:30  site 03-10 08:00  done 03-10 10:00
     one visit fixed, 120 min (03-10); survey csat 1 answered 04-02 (after the period)
  O5 preventive pump-1 Bo  created 03-20 08:00  acc 03-20 09:00  site 03-21 08:00  done 03-21 10:00
     one visit fixed, 100 min (03-21); survey csat 4 nps 9 answered 03-22
  O6 repair   pump-1  -    created 03-25 12:00  still new; survey sent, never answered
  O7 repair   pump-2  Eva  created 02-20 10:00  acc 02-20 12:00  site 03-01 10:00  done 03-02 10:00
     one visit fixed, 30 min, checked in 02-28 (before the period)
  O8 repair   pump-1  Eva  created 03-28 10:00  acc 04-01 09:00 (after the period)
  O9 inspection motor-1 -  created 03-05 10:00  still new
  O10 repair  motor-1 -    created 04-02 10:00  (after the period)

By hand, whole fleet:
- response: O1 2h, O2 4h, O3 1h, O4 0.5h, O5 1h (O7 and O8 accepted outside March) -> n 5, mean 8.5/5 = 1.7,
  median 1.0
- repair: O1 3, O2 26, O3 2 (first on site -> first completion), O4 2, O5 2, O7 24 -> n 6, mean 59/6 = 9.83,
  median of 2 2 2 3 24 26 = 2.5
- resolve: O1 7, O2 50, O3 6, O4 49, O5 26, O7 240 -> n 6, mean 378/6 = 63.0, median (26 + 49)/2 = 37.5
- first-time fix: completed non-preventive with a visit: O1 O2 O3 O4 O7 = 5; fixed at one visit and never
  reopened: O1 O4 O7 = 3 (O2 needed two visits, O3 was reopened) -> 3/5 = 0.6
- repeat within 7 days: completed O1 O2 O3 O4 O5 O7 = 6; O1 (O4 on pump-1 4 days 18 h later), O3 (reopened),
  O5 (O6 on pump-1 4 days 2 h later) = 3 -> 0.5. O7 is not: O2 came 7 days 23 h later; O5 is preventive, so
  it is no repeat of O4.
- utilisation: March 2025 has 21 weekdays. Eva 21 x 9 h = 11340 min scheduled, labour 180 + 120 + 120 = 420
  -> 0.037; Bo 21 x 4 h = 5040 min (the shift follows Amsterdam's clock across the 30 March change),
  labour 60 + 90 + 100 = 250 -> 0.0496; overall 670/16380 = 0.0409. Cy is inactive and idle: not listed.
- failure rate: repair orders created in March: CP-200 O1 O2 O4 O6 O8 = 5, MX-90 0 (O3 is a complaint).
  Asset time in March: pump-1 31 days, pump-2 16 days (from 03-16), motor-1 31 days.
  CP-200: 5 / (47/365.25) = 38.8564 per asset-year over 0.1287 asset-years; MX-90: 0 over 0.0849;
  fleet: 5 / (78/365.25) = 23.4135 over 0.2136.
- order mix, created in March: repair O1 O2 O4 O6 O8 = 5, preventive O5 = 1, complaint 1, inspection 1 ->
  preventive 1/6 = 0.1667, corrective 5/6 = 0.8333
- CSAT answered in March: 5 3 2 4 -> satisfied 2/4 = 0.5, mean 3.5; NPS 10 7 3 9 -> promoters 2, detractors 1,
  100 x (2 - 1)/4 = 25.0
- SLA compliance, with the seeded policies (no contracts, all priority normal; business hours Mon-Fri 08-17
  UTC, 540 min a day; repair/inspection/preventive: response 480, arrival 1620, resolution 2700 business
  minutes; complaint: response 120, no arrival clock, resolution 1620). March 2025 starts on a Saturday.
  O1 120/240/420 min: all met. O2 (Mon 09:00) 240/540/1200: all met. O3 complaint 60 and 360: met, met.
  O4 (created Saturday) 0/0/120: all met. O5 (Thu 08:00) 60/540/660: all met. O6 (Tue 03-25 12:00, new):
  response breached Wed 03-26 11:00, arrival breached Fri 03-28 12:00, resolution due 04-01 12:00, after
  the period: not settled. O7 (Thu 02-20 10:00): response met in February (not this period); arrival due
  Tue 02-25 10:00, met late on 03-01; resolution due Thu 02-27 10:00, met late on 03-02: both count, late.
  O8 (Fri 03-28 10:00): response breached Mon 03-31 09:00; arrival and resolution still running.
  O9 (Wed 03-05 10:00, new): response breached 03-06 09:00, arrival 03-10 10:00, resolution 03-12 10:00.
  -> response 5 met of 8 settled (O6 O8 O9 breached) = 0.625; arrival 4 of 7 (O6 O7 O9 not) = 0.5714;
  resolution 5 of 7 (O7 O9 not) = 0.7143
"""

from __future__ import annotations

from datetime import UTC, datetime, time

import httpx
import psycopg
import pytest
import pytest_asyncio

from service_core.kpis.formulas import scheduled_minutes
from tests.service_core.builders import a_site, an_asset

MARCH = {"from": "2025-03-01T00:00:00Z", "to": "2025-04-01T00:00:00Z"}


def t(day: str, hour: str) -> datetime:
    """2025-``day`` at ``hour`` UTC."""
    return datetime.fromisoformat(f"2025-{day}T{hour}:00+00:00")


def _order(conn: psycopg.Connection, *, asset: str, type: str, engineer: int | None, created: datetime,
           moves: list[tuple[str, str, str]], **extra) -> int:
    """An order with its history: ``moves`` are (when, from, to) status moves after its creation."""
    status = moves[-1][2] if moves else "new"
    columns = {"asset_id": asset, "type": type, "status": status, "title": f"{type} on {asset}",
               "engineer_id": engineer, "created_at": created} | extra
    (order_id,) = conn.execute(
        f"insert into service.work_orders ({', '.join(columns)}) values ({', '.join(['%s'] * len(columns))})"
        " returning id",
        list(columns.values()),
    ).fetchone()
    events = [(created, "created", None, "new")]
    events += [(datetime.fromisoformat(f"2025-{when}:00+00:00"), "transition", a, b) for when, a, b in moves]
    for at, kind, a, b in events:
        if (a, b) == ("completed", "assigned"):
            kind = "reopened"
        conn.execute(
            "insert into service.work_order_events (work_order_id, at, actor, kind, from_status, to_status)"
            " values (%s, %s, 'test', %s, %s, %s)",
            (order_id, at, kind, a, b),
        )
    return order_id


def _path(*steps: str) -> list[tuple[str, str, str]]:
    """Moves along the usual path: ('03-03T10:00', ...) one time per status after new."""
    statuses = ["new", "assigned", "accepted", "en_route", "on_site", "in_progress", "completed"]
    return [(when, statuses[i], statuses[i + 1]) for i, when in enumerate(steps)]


def _visit(conn: psycopg.Connection, order: int, seq: int, engineer: int, check_in: datetime | None,
           outcome: str | None, minutes: int | None, status: str = "checked_out") -> None:
    conn.execute(
        "insert into service.visits (work_order_id, seq, engineer_id, status, check_in_at, check_out_at, outcome,"
        " labour_minutes) values (%s, %s, %s, %s, %s, %s, %s, %s)",
        (order, seq, engineer, status, check_in, check_in, outcome, minutes),
    )


def _survey(conn: psycopg.Connection, order: int, csat: int | None, nps: int | None,
            answered: datetime | None) -> None:
    conn.execute(
        "insert into service.surveys (work_order_id, csat, nps, sent_at, answered_at) values (%s, %s, %s, %s, %s)",
        (order, csat, nps, answered and answered.replace(hour=0), answered),
    )


@pytest_asyncio.fixture
async def history(aconn: psycopg.AsyncConnection, conn: psycopg.Connection) -> dict:
    site_a = await a_site(aconn, code="site-a")
    site_b = await a_site(aconn, code="site-b")
    for asset_id, site, model in (("pump-1", site_a, "CP-200"), ("pump-2", site_a, "CP-200"),
                                  ("motor-1", site_b, "MX-90")):
        await an_asset(aconn, site=site, asset_id=asset_id, model=model)
    await aconn.commit()
    conn.execute("update service.sites set region = 'BE-AN' where id = %s", (site_b.id,))
    conn.execute("update service.assets set installed_on = '2024-01-01' where id = 'pump-1'")
    conn.execute("update service.assets set installed_on = '2025-03-16' where id = 'pump-2'")
    conn.execute("update service.assets set created_at = '2024-06-01' where id = 'motor-1'")
    eva, bo, _cy = (
        conn.execute(
            "insert into service.engineers (name, home_lat, home_lon, work_start, work_end, timezone, active)"
            " values (%s, 52, 4, %s, %s, %s, %s) returning id",
            row,
        ).fetchone()[0]
        for row in (("Eva", "08:00", "17:00", "UTC", True), ("Bo", "09:00", "13:00", "Europe/Amsterdam", True),
                    ("Cy", "08:00", "17:00", "UTC", False))
    )

    o1 = _order(conn, asset="pump-1", type="repair", engineer=eva, created=t("03-03", "08:00"),
                moves=_path("03-03T08:30", "03-03T10:00", "03-03T11:00", "03-03T12:00", "03-03T12:10",
                            "03-03T15:00"))
    _visit(conn, o1, 1, eva, t("03-03", "12:00"), "fixed", 180)
    _survey(conn, o1, 5, 10, t("03-04", "10:00"))

    o2 = _order(conn, asset="pump-2", type="repair", engineer=bo, created=t("03-10", "09:00"),
                moves=_path("03-10T09:10", "03-10T13:00", "03-11T08:00", "03-11T09:00", "03-11T09:10",
                            "03-12T11:00"))
    _visit(conn, o2, 1, bo, t("03-11", "09:00"), "needs_parts", 60)
    _visit(conn, o2, 2, bo, t("03-12", "09:00"), "fixed", 90)
    _survey(conn, o2, 3, 7, t("03-13", "10:00"))

    o3 = _order(conn, asset="motor-1", type="complaint", engineer=eva, created=t("03-17", "10:00"),
                moves=_path("03-17T10:30", "03-17T11:00", "03-17T13:00", "03-17T14:00", "03-17T14:10",
                            "03-17T16:00")
                + [("03-18T09:00", "completed", "assigned"), ("03-18T10:00", "assigned", "accepted"),
                   ("03-18T11:00", "accepted", "en_route"), ("03-18T12:00", "en_route", "on_site"),
                   ("03-18T12:10", "on_site", "in_progress"), ("03-18T13:00", "in_progress", "completed")],
                root_cause="Wrong seal fitted", follow_up="Check seal kits before dispatch")
    _visit(conn, o3, 1, eva, t("03-17", "14:00"), "fixed", 120)
    _visit(conn, o3, 2, eva, None, None, None, status="cancelled")
    _survey(conn, o3, 2, 3, t("03-19", "10:00"))

    o4 = _order(conn, asset="pump-1", type="repair", engineer=eva, created=t("03-08", "09:00"),
                moves=_path("03-08T09:10", "03-08T09:30", "03-10T07:30", "03-10T08:00", "03-10T08:10",
                            "03-10T10:00"))
    _visit(conn, o4, 1, eva, t("03-10", "08:00"), "fixed", 120)
    _survey(conn, o4, 1, None, datetime(2025, 4, 2, 10, tzinfo=UTC))

    o5 = _order(conn, asset="pump-1", type="preventive", engineer=bo, created=t("03-20", "08:00"),
                moves=_path("03-20T08:10", "03-20T09:00", "03-21T07:30", "03-21T08:00", "03-21T08:10",
                            "03-21T10:00"), failure_mode="bearing_wear")
    _visit(conn, o5, 1, bo, t("03-21", "08:00"), "fixed", 100)
    _survey(conn, o5, 4, 9, t("03-22", "10:00"))

    o6 = _order(conn, asset="pump-1", type="repair", engineer=None, created=t("03-25", "12:00"), moves=[])
    _survey(conn, o6, None, None, None)

    o7 = _order(conn, asset="pump-2", type="repair", engineer=eva, created=t("02-20", "10:00"),
                moves=_path("02-20T11:00", "02-20T12:00", "03-01T09:00", "03-01T10:00", "03-01T10:10",
                            "03-02T10:00"))
    _visit(conn, o7, 1, eva, t("02-28", "10:00"), "fixed", 30)

    _order(conn, asset="pump-1", type="repair", engineer=eva, created=t("03-28", "10:00"),
           moves=_path("03-28T11:00", "04-01T09:00"))
    _order(conn, asset="motor-1", type="inspection", engineer=None, created=t("03-05", "10:00"), moves=[])
    _order(conn, asset="motor-1", type="repair", engineer=None, created=t("04-02", "10:00"), moves=[])
    return {"eva": eva, "bo": bo, "site_a": site_a.id, "customer_b": site_b.customer_id}


async def _kpis(client: httpx.AsyncClient, **params) -> dict:
    response = await client.get("/kpis", params=MARCH | params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.asyncio
async def test_every_kpi_of_the_fleet(client: httpx.AsyncClient, history: dict) -> None:
    kpis = await _kpis(client)
    assert kpis["period"] == {"from": "2025-03-01T00:00:00Z", "to": "2025-04-01T00:00:00Z"}
    assert kpis["filters"] == {}
    assert kpis["response_time"] == {"orders": 5, "mean_hours": 1.7, "median_hours": 1.0}
    assert kpis["time_to_repair"] == {"orders": 6, "mean_hours": 9.83, "median_hours": 2.5}
    assert kpis["time_to_resolve"] == {"orders": 6, "mean_hours": 63.0, "median_hours": 37.5}
    assert kpis["first_time_fix"] == {"numerator": 3, "denominator": 5, "rate": 0.6}
    assert kpis["repeat_visits"] == {"numerator": 3, "denominator": 6, "rate": 0.5}
    assert kpis["utilisation"] == {
        "labour_minutes": 670, "scheduled_minutes": 16380, "rate": 0.0409,
        "engineers": [
            {"engineer_id": history["eva"], "name": "Eva", "labour_minutes": 420, "scheduled_minutes": 11340,
             "rate": 0.037},
            {"engineer_id": history["bo"], "name": "Bo", "labour_minutes": 250, "scheduled_minutes": 5040,
             "rate": 0.0496},
        ],
    }
    assert kpis["failure_rate"] == {
        "orders": 5, "asset_years": 0.2136, "rate": 23.4135,
        "models": [
            {"asset_model": "CP-200", "orders": 5, "asset_years": 0.1287, "rate": 38.8564},
            {"asset_model": "MX-90", "orders": 0, "asset_years": 0.0849, "rate": 0.0},
        ],
    }
    assert kpis["order_mix"] == {
        "preventive": {"numerator": 1, "denominator": 6, "rate": 0.1667},
        "corrective": {"numerator": 5, "denominator": 6, "rate": 0.8333},
        "by_type": {"repair": 5, "preventive": 1, "complaint": 1, "inspection": 1},
    }
    assert kpis["csat"] == {"numerator": 2, "denominator": 4, "rate": 0.5, "mean": 3.5}
    assert kpis["nps"] == {"answers": 4, "promoters": 2, "detractors": 1, "score": 25.0}
    assert kpis["sla"] == {
        "response": {"numerator": 5, "denominator": 8, "rate": 0.625},
        "arrival": {"numerator": 4, "denominator": 7, "rate": 0.5714},
        "resolution": {"numerator": 5, "denominator": 7, "rate": 0.7143},
    }


@pytest.mark.asyncio
async def test_filters_change_the_figures(client: httpx.AsyncClient, history: dict) -> None:
    # region BE-AN: motor-1 only, so O3 (and O9, created, not done)
    be = await _kpis(client, region="BE-AN")
    assert be["filters"] == {"region": "BE-AN"}
    assert be["response_time"] == {"orders": 1, "mean_hours": 1.0, "median_hours": 1.0}
    assert be["time_to_repair"] == {"orders": 1, "mean_hours": 2.0, "median_hours": 2.0}
    assert be["time_to_resolve"] == {"orders": 1, "mean_hours": 6.0, "median_hours": 6.0}
    assert be["first_time_fix"] == {"numerator": 0, "denominator": 1, "rate": 0.0}
    assert be["repeat_visits"] == {"numerator": 1, "denominator": 1, "rate": 1.0}
    # the schedule stays whole; only O3's 120 minutes were worked in BE-AN: 120/16380
    assert (be["utilisation"]["labour_minutes"], be["utilisation"]["rate"]) == (120, 0.0073)
    assert [m["asset_model"] for m in be["failure_rate"]["models"]] == ["MX-90"]
    assert be["order_mix"]["by_type"] == {"complaint": 1, "inspection": 1}
    assert be["order_mix"]["preventive"] == {"numerator": 0, "denominator": 0, "rate": None}
    assert be["csat"] == {"numerator": 0, "denominator": 1, "rate": 0.0, "mean": 2.0}
    assert be["nps"]["score"] == -100.0
    # SLA in BE-AN: O3 met its response and resolution; O9 breached all three
    assert be["sla"] == {
        "response": {"numerator": 1, "denominator": 2, "rate": 0.5},
        "arrival": {"numerator": 0, "denominator": 1, "rate": 0.0},
        "resolution": {"numerator": 1, "denominator": 2, "rate": 0.5},
    }
    # the customer of site B is the same slice
    by_customer = await _kpis(client, customer_id=history["customer_b"])
    assert {k: v for k, v in by_customer.items() if k != "filters"} == {k: v for k, v in be.items() if k != "filters"}

    # Bo's orders: O2 and O5; the failure rate is the equipment's and does not follow the engineer
    bo = await _kpis(client, engineer_id=history["bo"])
    assert bo["response_time"] == {"orders": 2, "mean_hours": 2.5, "median_hours": 2.5}
    assert bo["first_time_fix"] == {"numerator": 0, "denominator": 1, "rate": 0.0}
    assert bo["repeat_visits"] == {"numerator": 1, "denominator": 2, "rate": 0.5}
    assert [e["name"] for e in bo["utilisation"]["engineers"]] == ["Bo"]
    assert bo["utilisation"]["rate"] == 0.0496
    assert bo["csat"] == {"numerator": 1, "denominator": 2, "rate": 0.5, "mean": 3.5}
    assert bo["failure_rate"]["orders"] == 5

    # model MX-90 = motor-1, like region BE-AN for the orders
    assert (await _kpis(client, asset_model="MX-90"))["time_to_resolve"] == be["time_to_resolve"]
    site_a = await _kpis(client, site_id=history["site_a"])
    assert site_a["first_time_fix"] == {"numerator": 3, "denominator": 4, "rate": 0.75}
    assert site_a["repeat_visits"] == {"numerator": 2, "denominator": 5, "rate": 0.4}

    # a period holding only February: O7 was accepted then; nothing was completed
    february = await _kpis(client, **{"from": "2025-02-01", "to": "2025-03-01"})
    assert february["response_time"] == {"orders": 1, "mean_hours": 2.0, "median_hours": 2.0}
    assert february["time_to_resolve"]["orders"] == 0 and february["first_time_fix"]["rate"] is None
    assert february["utilisation"]["engineers"][0]["labour_minutes"] == 30
    # O7's response was met in February (2 business hours); its arrival breached on 02-25, still unmet then
    assert february["sla"] == {
        "response": {"numerator": 1, "denominator": 1, "rate": 1.0},
        "arrival": {"numerator": 0, "denominator": 1, "rate": 0.0},
        "resolution": {"numerator": 0, "denominator": 1, "rate": 0.0},
    }

    # unknown ids are an empty slice, not an error
    nobody = await _kpis(client, site_id=999, engineer_id=999)
    assert nobody["response_time"] == {"orders": 0, "mean_hours": None, "median_hours": None}
    assert nobody["utilisation"] == {"labour_minutes": 0, "scheduled_minutes": 0, "rate": None, "engineers": []}
    assert nobody["failure_rate"]["models"] == []


@pytest.mark.asyncio
async def test_bad_filters_are_422_with_a_reason(client: httpx.AsyncClient) -> None:
    async def rejected(params: dict, words: str) -> None:
        response = await client.get("/kpis", params=params)
        assert response.status_code == 422, response.text
        assert words in response.text

    await rejected({"from": "2025-04-01", "to": "2025-03-01"}, "'from' (2025-04-01T00:00:00+00:00) must be before 'to'")
    await rejected({"from": "2025-03-01", "to": "2025-03-01"}, "must be before")
    await rejected({"from": "yesterday"}, "from")
    await rejected({"site_id": "rtm"}, "site_id")
    await rejected({"regoin": "NL-ZH"}, "regoin")
    # no period given: the last 30 days
    response = await client.get("/kpis")
    assert response.status_code == 200
    period = response.json()["period"]
    days = datetime.fromisoformat(period["to"]) - datetime.fromisoformat(period["from"])
    assert days.days == 30


def test_scheduled_minutes_follow_the_engineers_clock() -> None:
    # 08:00-17:00 in Amsterdam on Friday 28 and Monday 31 March 2025 (summer time from Sunday 30 March)
    week = dict(work_days=[1, 2, 3, 4, 5], work_start=time(8), work_end=time(17), timezone="Europe/Amsterdam")
    start, end = datetime(2025, 3, 28, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC)
    assert scheduled_minutes(**week, start=start, end=end) == 2 * 540
    # only the part of a shift inside the period counts: Monday 31 from 07:00 UTC (09:00 local) on
    assert scheduled_minutes(**week, start=datetime(2025, 3, 31, 7, tzinfo=UTC), end=end) == 480
    # a Sunday-evening shift in New York falls on Monday in UTC, and counts
    night = dict(work_days=[7], work_start=time(20), work_end=time(23), timezone="America/New_York")
    assert scheduled_minutes(**night, start=start, end=end) == 180
