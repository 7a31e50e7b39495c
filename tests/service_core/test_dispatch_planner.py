"""The day planner: on random small days neither ours nor the baseline breaks a hard constraint (by the
independent checker), and the checker itself catches each kind of violation."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from service_core.dispatch import baseline, bench, checker, planner
from service_core.dispatch.planner import Engineer, Order, Plan, Route, Visit

SKILLS = ["mechanical", "electrical"]
points = st.tuples(st.floats(51.8, 52.2), st.floats(4.2, 4.8))


@st.composite
def days(draw) -> tuple[list[Engineer], list[Order]]:
    engineers = []
    for i in range(1, draw(st.integers(1, 4)) + 1):
        start = draw(st.sampled_from([420, 480, 540]))
        engineers.append(Engineer(
            engineer_id=i,
            home=draw(points),
            start=start,
            end=start + draw(st.sampled_from([240, 480])),
            skills=draw(st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 3), min_size=1)),
            territories=draw(st.frozensets(st.sampled_from(["N", "S"]), max_size=1)),
            van=draw(st.dictionaries(st.sampled_from(["P-1", "P-2"]), st.integers(0, 2).map(float))),
        ))
    orders = []
    for n in range(1, draw(st.integers(0, 10)) + 1):
        site = draw(points)
        window = draw(st.none() | st.tuples(st.integers(420, 900), st.integers(45, 240)))
        orders.append(Order(
            work_order_id=n,
            site=site,
            region="N" if site[0] >= 52.0 else "S",
            skills=draw(st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 3), max_size=1)),
            duration=draw(st.integers(15, 120)),
            window_start=window[0] if window else None,
            window_end=window[0] + window[1] if window else None,
            parts=draw(st.dictionaries(st.sampled_from(["P-1", "P-2"]), st.integers(1, 2).map(float), max_size=1)),
            priority=draw(st.sampled_from(["low", "normal", "urgent"])),
            engineer_id=draw(st.none() | st.just(1)),
        ))
    return engineers, orders


@settings(max_examples=20, deadline=None)
@given(days(), st.booleans())
def test_plans_keep_every_hard_constraint(day: tuple[list[Engineer], list[Order]], plain: bool) -> None:
    engineers, orders = day
    solve = baseline.solve if plain else planner.solve
    plan = solve(engineers, orders, time_limit_s=0.2)
    assert checker.violations(engineers, orders, plan) == []
    assert plan.assigned + len(plan.unassigned) == len(orders)
    for reason in plan.unassigned.values():
        assert reason.startswith(("no engineer can take it", "no room in the day"))


def test_the_synthetic_benchmark_day_is_planned_without_violations() -> None:
    engineers, orders = bench.instance(engineers=6, orders=30, seed=3)
    for solve in (planner.solve, baseline.solve):
        plan = solve(engineers, orders, time_limit_s=0.5)
        assert checker.violations(engineers, orders, plan) == []
        assert plan.assigned > 0


def test_an_order_nobody_qualifies_for_says_why() -> None:
    e = Engineer(1, (52.0, 4.5), 480, 1020, {"mechanical": 2}, frozenset({"N"}))
    orders = [
        Order(1, (52.01, 4.5), "N", {"mechanical": 3}, 60),
        Order(2, (51.9, 4.5), "S", {"mechanical": 1}, 60),
        Order(3, (52.01, 4.5), "N", {"mechanical": 1}, 60, parts={"P-9": 1.0}),
        Order(4, (52.01, 4.5), "N", {"mechanical": 1}, 60),
    ]
    plan = planner.solve([e], orders, time_limit_s=0.2)
    assert plan.unassigned == {
        1: "no engineer can take it: 1 lacks skill mechanical at level 3",
        2: "no engineer can take it: 1 outside territory (S)",
        3: "no engineer can take it: 1 van lacks part P-9",
    }
    (route,) = plan.routes
    assert [v.work_order_id for v in route.visits] == [4] and route.visits[0].start >= 480


def test_the_checker_catches_each_kind_of_violation() -> None:
    e = Engineer(1, (52.0, 4.5), 480, 600, {"mechanical": 1}, frozenset({"N"}), {"P-1": 1.0})
    o = Order(1, (52.0, 4.5), "N", {"mechanical": 1}, 60, window_start=500, window_end=560, parts={"P-1": 1.0})
    good = Plan((Route(1, (Visit(1, 480, 500, 560, 0.0),), 0.0, 560),), {}, 0.0)
    assert checker.violations([e], [o], good) == []

    def broken(**changes) -> list[str]:
        return checker.violations([e], [dataclasses.replace(o, **changes)], good)

    assert broken(skills={"mechanical": 2}) == ["order 1 by engineer 1: needs mechanical at level 2"]
    assert broken(region="S") == ["order 1 by engineer 1: region S is outside the territory"]
    assert broken(window_start=520) == ["order 1 by engineer 1: starts before the window opens"]
    assert broken(window_end=550) == ["order 1 by engineer 1: ends after the window closes"]
    assert broken(parts={"P-1": 2.0}) == ["engineer 1: needs 2 of P-1, the van holds 1"]
    assert broken(engineer_id=2) == ["order 1 by engineer 1: the order is assigned to engineer 2"]
    late = Plan((Route(1, (Visit(1, 480, 560, 620, 0.0),), 0.0, 620),), {}, 0.0)
    assert "engineer 1: home at 620, after the shift ends at 600" in checker.violations([e], [o], late)
    away = dataclasses.replace(e, home=(52.3, 4.5))  # 43 road km: cannot start at 500 having left at 480
    found = checker.violations([away], [o], good)
    assert any("before arriving" in v for v in found) and any("travels" in v for v in found)
    assert checker.violations([e], [o], Plan((), {}, 0.0)) == ["order 1 is neither planned nor reported unassigned"]


def test_when_only_one_fits_the_urgent_order_is_planned_and_the_low_one_says_why() -> None:
    e = Engineer(1, (52.0, 4.5), 480, 720, {"mechanical": 1})
    orders = [
        Order(1, (52.01, 4.5), None, {"mechanical": 1}, 200, priority="low"),
        Order(2, (52.02, 4.5), None, {"mechanical": 1}, 200, priority="urgent"),
    ]
    plan = planner.solve([e], orders, time_limit_s=0.3)
    assert [v.work_order_id for r in plan.routes for v in r.visits] == [2]
    assert plan.unassigned == {1: "no room in the day of the 1 engineer(s) who could take it"}


def test_one_van_part_is_not_promised_to_two_orders() -> None:
    e = Engineer(1, (52.0, 4.5), 480, 1020, {"mechanical": 1}, van={"P-1": 1.0})
    orders = [Order(n, (52.0 + n / 100, 4.5), None, {"mechanical": 1}, 30, parts={"P-1": 1.0}) for n in (1, 2)]
    for solve in (planner.solve, baseline.solve):
        plan = solve([e], orders, time_limit_s=0.3)
        assert plan.assigned == 1 and len(plan.unassigned) == 1
        assert checker.violations([e], orders, plan) == []
