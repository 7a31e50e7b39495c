"""Dispatch scoring: hard filters always hold, the breakdown adds up, the order is sensible and stable."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service_core.dispatch import scoring
from service_core.dispatch.scoring import Candidate, Job, Shift, Weights

MONDAY_10 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
SITE = (51.905, 4.466)
ALL_WEEK = Shift(days=frozenset(range(1, 8)), start=time(0, 0), end=time(23, 59, 59))
OFFICE = Shift(days=frozenset({1, 2, 3, 4, 5}), start=time(8, 0), end=time(17, 0))
SKILLS = ["mechanical", "electrical", "hydraulic", "controls"]


def engineer(
    i: int, *, level: int = 3, skill: str = "mechanical", home=SITE, load: int = 0, shift=ALL_WEEK, active=True
) -> Candidate:
    return Candidate(i, f"E{i}", active, {skill: level}, home, shift, load)


def job(skill: str | None = "mechanical", at: datetime = MONDAY_10) -> Job:
    return Job(skill=skill, site=SITE, at=at)


shifts = st.builds(
    lambda days, start_h, length_h, tz: Shift(
        days=frozenset(days), start=time(start_h), end=time(min(23, start_h + length_h), 59), timezone=tz
    ),
    st.sets(st.integers(1, 7), min_size=1),
    st.integers(0, 20),
    st.integers(1, 12),
    st.sampled_from(["UTC", "Europe/Amsterdam", "America/Chicago", "Asia/Kolkata"]),
)
candidates = st.builds(
    Candidate,
    engineer_id=st.integers(1, 10_000),
    name=st.just("E"),
    active=st.booleans(),
    skills=st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), max_size=4),
    home=st.tuples(st.floats(-80, 80), st.floats(-179, 179)),
    shift=shifts,
    open_orders=st.integers(0, 12),
)
jobs = st.builds(
    Job,
    skill=st.sampled_from([*SKILLS, None]),
    site=st.tuples(st.floats(-80, 80), st.floats(-179, 179)),
    at=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
    ),
)


@given(st.lists(candidates, max_size=12, unique_by=lambda c: c.engineer_id), jobs)
def test_hard_filters_hold_and_breakdowns_add_up(pool: list[Candidate], job: Job) -> None:
    ranked = scoring.rank(pool, job)
    by_id = {c.engineer_id: c for c in pool}
    for r in ranked:
        c = by_id[r.engineer_id]
        assert c.active
        assert (c.skills.get(job.skill, 0) >= 1) if job.skill else c.skills
        assert c.shift.starts_in(job.at) <= Weights().horizon
        b = r.breakdown
        assert math.isclose(b.skill + b.distance + b.load + b.availability, r.total, abs_tol=1e-9)
    eligible = {c.engineer_id for c in pool if scoring.rejection(c, job) is None}
    assert {r.engineer_id for r in ranked} == eligible
    assert [(-r.total, r.engineer_id) for r in ranked] == sorted((-r.total, r.engineer_id) for r in ranked)


@given(st.lists(candidates, max_size=12, unique_by=lambda c: c.engineer_id), jobs, st.randoms())
def test_ranking_does_not_depend_on_input_order(pool: list[Candidate], job: Job, rnd: random.Random) -> None:
    shuffled = list(pool)
    rnd.shuffle(shuffled)
    assert scoring.rank(pool, job) == scoring.rank(shuffled, job)


def test_skill_distance_and_load_order_sensibly() -> None:
    assert [r.engineer_id for r in scoring.rank([engineer(1, level=2), engineer(2, level=5)], job())] == [2, 1]
    near, far = engineer(1, home=(52.0, 4.5)), engineer(2, home=(52.9, 5.5))
    assert [r.engineer_id for r in scoring.rank([far, near], job())] == [1, 2]
    busy, idle = engineer(1, load=3), engineer(2, load=0)
    assert [r.engineer_id for r in scoring.rank([busy, idle], job())] == [2, 1]


def test_ties_go_to_the_lower_engineer_id() -> None:
    ranked = scoring.rank([engineer(9), engineer(4), engineer(7)], job())
    assert [r.engineer_id for r in ranked] == [4, 7, 9]
    assert len({r.total for r in ranked}) == 1


def test_breakdown_values() -> None:
    (r,) = scoring.rank([engineer(1, level=3, home=SITE, load=2)], job())
    assert r.breakdown == scoring.Breakdown(skill=30.0, distance=40.0, load=-16.0, availability=20.0)
    assert r.total == 74.0
    assert r.explain().startswith("E1 (engineer 1): 74.00 = skill 30.00 (level 3) + distance 40.00 (0.0 km)")


@pytest.mark.parametrize(
    ("candidate", "reason"),
    [
        (engineer(1, active=False), "inactive"),
        (engineer(1, skill="electrical"), "lacks skill mechanical"),
        (engineer(1, shift=Shift(days=frozenset({6}), start=time(8), end=time(17))), "not working within 12:00:00"),
    ],
)
def test_hard_filters(candidate: Candidate, reason: str) -> None:
    assert scoring.rejection(candidate, job()) == reason
    assert scoring.rank([candidate], job()) == []


def test_failure_modes_need_the_right_skill() -> None:
    mechanic, electrician, hydraulic = engineer(1), engineer(2, skill="electrical"), engineer(3, skill="hydraulic")
    team = [mechanic, electrician, hydraulic]
    expected = {"bearing_wear": [1], "imbalance": [1], "overheating": [2], "cavitation": [3], "seal_leak": [3],
                "blockage": [3], "unknown": [1, 2, 3]}
    for mode, ids in expected.items():
        ranked = scoring.rank(team, Job.for_failure(mode, site=SITE, at=MONDAY_10))
        assert [r.engineer_id for r in ranked] == ids, mode


def test_shift_starts_in() -> None:
    assert OFFICE.starts_in(MONDAY_10) == timedelta(0)
    assert OFFICE.starts_in(MONDAY_10.replace(hour=17)) == timedelta(hours=15)
    friday_evening = datetime(2025, 3, 7, 18, 0, tzinfo=UTC)
    assert OFFICE.starts_in(friday_evening) == timedelta(days=2, hours=14)
    amsterdam = Shift(days=frozenset({1}), start=time(8), end=time(17), timezone="Europe/Amsterdam")
    assert amsterdam.starts_in(datetime(2025, 3, 3, 6, 30, tzinfo=UTC)) == timedelta(minutes=30)  # 07:30 local
    # the night the clocks go forward (30 March 2025), a 08:00 shift is still 08:00 local
    spring = Shift(days=frozenset({1}), start=time(8), end=time(17), timezone="Europe/Amsterdam")
    assert spring.starts_in(datetime(2025, 3, 30, 22, 0, tzinfo=UTC)) == timedelta(hours=8)


def test_an_engineer_starting_soon_is_eligible_but_scores_less_than_one_on_shift() -> None:
    early = datetime(2025, 3, 3, 5, 0, tzinfo=UTC)  # office opens in 3 h
    ranked = scoring.rank([engineer(1, shift=OFFICE), engineer(2, shift=ALL_WEEK)], job(at=early))
    assert [r.engineer_id for r in ranked] == [2, 1]
    assert ranked[1].breakdown.availability == 15.0 and ranked[1].starts_in == timedelta(hours=3)


def test_haversine() -> None:
    assert scoring.haversine_km(SITE, SITE) == 0
    assert scoring.haversine_km((51.9244, 4.4777), (52.3676, 4.9041)) == pytest.approx(57.4, abs=1.0)


def test_shift_checks_itself() -> None:
    with pytest.raises(ValueError):
        Shift(days=frozenset({8}), start=time(8), end=time(17))
    with pytest.raises(ValueError):
        Shift(days=frozenset({1}), start=time(17), end=time(8))
