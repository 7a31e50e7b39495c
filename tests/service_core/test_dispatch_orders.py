"""Scoring an order: every hard constraint holds for whoever is ranked, every breakdown adds up exactly."""

from __future__ import annotations

from dataclasses import astuple
from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from service_core.dispatch import scoring
from service_core.dispatch.scoring import Candidate, Incoming, Job, Shift

NOW = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)  # a Tuesday
SITE = (51.905, 4.466)
SKILLS = ["mechanical", "electrical", "hydraulic", "controls"]
PARTS = ["P-1", "P-2"]
REGIONS = ["NL-ZH", "NL-NH", "BE-AN"]
ALWAYS = Shift(days=frozenset(range(1, 8)), start=time(0), end=time(23, 59, 59))
OFFICE = Shift(days=frozenset({1, 2, 3, 4, 5}), start=time(8), end=time(17))

points = st.tuples(st.floats(51.0, 53.0), st.floats(3.5, 6.5))
candidates = st.builds(
    Candidate,
    engineer_id=st.integers(1, 1000),
    name=st.just("E"),
    active=st.booleans(),
    skills=st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), max_size=3),
    home=points,
    shift=st.sampled_from([ALWAYS, OFFICE, Shift(days=frozenset({6, 7}), start=time(9), end=time(13))]),
    open_orders=st.integers(0, 6),
    territories=st.frozensets(st.sampled_from(REGIONS), max_size=2),
    planned_minutes=st.integers(0, 480),
    van=st.dictionaries(st.sampled_from(PARTS), st.integers(0, 3).map(float), max_size=2),
    incoming=st.lists(
        st.builds(Incoming, st.sampled_from(PARTS), st.integers(1, 2).map(float),
                  st.none() | st.integers(0, 600).map(lambda m: NOW + timedelta(minutes=m))),
        max_size=2,
    ).map(tuple),
)


@st.composite
def jobs(draw) -> Job:
    window = draw(st.none() | st.tuples(st.integers(0, 48 * 60), st.integers(30, 8 * 60)))
    return Job(
        skill=draw(st.sampled_from([*SKILLS, None])),
        site=draw(points),
        at=NOW + timedelta(minutes=draw(st.integers(0, 24 * 60))),
        skills=draw(st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 4), max_size=2)),
        region=draw(st.sampled_from(REGIONS)),
        window_start=NOW + timedelta(minutes=window[0]) if window else None,
        window_end=NOW + timedelta(minutes=window[0] + window[1]) if window else None,
        duration=timedelta(minutes=draw(st.integers(1, 240))),
        parts=draw(st.dictionaries(st.sampled_from(PARTS), st.integers(1, 3).map(float), max_size=2)),
        preferred_engineer_id=draw(st.none() | st.integers(1, 1000)),
        sla_slack=draw(st.none() | st.integers(-600, 3000).map(lambda m: timedelta(minutes=m))),
    )


def _inside_a_shift(shift: Shift, start: datetime, end: datetime) -> bool:
    return any(s <= start and end <= e for s, e in shift.occurrences(start - timedelta(days=1), days=10))


@settings(max_examples=300, deadline=None)
@given(st.lists(candidates, max_size=10, unique_by=lambda c: c.engineer_id), jobs())
def test_ranked_engineers_keep_every_hard_constraint_and_breakdowns_add_up(pool: list[Candidate], job: Job) -> None:
    ranked = scoring.rank(pool, job)
    by_id = {c.engineer_id: c for c in pool}
    for r in ranked:
        c = by_id[r.engineer_id]
        assert c.active
        for skill, minimum in job.requirements.items():
            assert c.skills.get(skill, 0) >= minimum
        assert job.requirements or c.skills
        assert not c.territories or job.region in c.territories
        slot = r.slot
        travel = timedelta(minutes=scoring.travel_minutes(c.home, job.site))
        assert slot.depart >= job.at and slot.start >= slot.depart + travel
        assert slot.end == slot.start + job.duration
        assert _inside_a_shift(c.shift, slot.depart, slot.end)
        if job.window_start is not None:
            assert slot.start >= job.window_start and slot.end <= job.window_end
        b = r.breakdown
        assert b.skill + b.distance + b.load + b.availability + b.sla + b.preference + b.parts == r.total
        assert len(astuple(b)) == 7  # a new part must be added to the sum above
        assert r.breakdown.total == r.total
        if r.parts == "missing":
            assert r.breakdown.parts == 0 and r.missing_parts
    excluded = scoring.excluded(pool, job)
    assert {r.engineer_id for r in ranked} | {e.engineer_id for e in excluded} == set(by_id)
    assert not {r.engineer_id for r in ranked} & {e.engineer_id for e in excluded}
    assert [(-r.total, r.engineer_id) for r in ranked] == sorted((-r.total, r.engineer_id) for r in ranked)


def _engineer(i: int, **kw) -> Candidate:
    base = {"engineer_id": i, "name": f"E{i}", "active": True, "skills": {"mechanical": 3}, "home": SITE,
            "shift": ALWAYS}
    return Candidate(**(base | kw))


def _job(**kw) -> Job:
    return Job(**({"skill": "mechanical", "site": SITE, "at": NOW, "duration": timedelta(hours=1)} | kw))


def test_each_hard_constraint_names_itself() -> None:
    job = _job(skills={"mechanical": 4}, region="NL-ZH")
    assert scoring.rejection(_engineer(1), job) == "lacks skill mechanical at level 4 (has 3)"
    assert scoring.rejection(_engineer(1, skills={"mechanical": 4}, territories=frozenset({"BE-AN"})), job) == (
        "outside territory: region NL-ZH is not one of BE-AN"
    )
    late = _job(window_start=NOW, window_end=NOW + timedelta(minutes=30))
    assert scoring.rejection(_engineer(1), late) == (
        "cannot drive there and finish 1:00:00 of work inside a shift and the time window"
    )
    # 115 km away: 153 minutes of driving; leaving at 10:00 the engineer starts at 12:33 and ends at 13:33
    far = _engineer(2, home=(50.8503, 4.3517))
    window = _job(window_start=NOW + timedelta(hours=2), window_end=NOW + timedelta(hours=4))
    (r,) = scoring.rank([far], window)
    assert r.slot.start == NOW + timedelta(minutes=r.travel_minutes) and r.slot.end <= window.window_end
    office_end = _job(at=datetime(2025, 3, 4, 16, 30, tzinfo=UTC))
    office = _engineer(3, shift=OFFICE)
    assert scoring.rejection(office, office_end) == "cannot drive there and finish 1:00:00 of work inside a shift"
    # the shift ends at 17:00, so not today; tomorrow's starts beyond a 12 h horizon but within a 24 h one
    (r,) = scoring.rank([office], office_end, scoring.Weights(horizon=timedelta(hours=24)))
    assert r.slot.start == datetime(2025, 3, 5, 8, 0, tzinfo=UTC)


def test_parts_in_the_van_beat_parts_by_transfer_which_beat_missing_parts() -> None:
    job = _job(parts={"P-1": 2.0})
    arrival = NOW  # at the site already
    in_van = _engineer(1, van={"P-1": 2.0})
    by_transfer = _engineer(2, van={"P-1": 1.0}, incoming=(Incoming("P-1", 1.0, arrival - timedelta(minutes=5)),))
    too_late = _engineer(3, van={"P-1": 1.0}, incoming=(Incoming("P-1", 1.0, arrival + timedelta(minutes=5)),))
    ranked = scoring.rank([too_late, by_transfer, in_van], job)
    assert [(r.engineer_id, r.parts, r.breakdown.parts) for r in ranked] == [
        (1, "in van", 15.0), (2, "by transfer", 10.0), (3, "missing", 0.0)
    ]
    assert ranked[2].missing_parts == {"P-1": 1.0}
    assert "parts 0.00 (missing P-1 x1)" in ranked[2].explain()


def test_preference_and_sla_risk_are_scored_parts() -> None:
    near, far = _engineer(1), _engineer(2, home=(52.3676, 4.9041))
    relaxed = scoring.rank([near, far], _job(preferred_engineer_id=2))
    preference = {r.engineer_id: (r.preferred, r.breakdown.preference) for r in relaxed}
    assert preference == {1: (False, 0.0), 2: (True, 10.0)}
    urgent = scoring.rank([near, far], _job(sla_slack=timedelta(0)))
    calm = scoring.rank([near, far], _job(sla_slack=timedelta(hours=48)))
    assert urgent[0].engineer_id == 1 and urgent[0].breakdown.sla == 30.0
    assert urgent[1].breakdown.sla < 30.0  # arrives later: less of the SLA bonus
    assert all(r.breakdown.sla == 0 for r in calm)
    busy = scoring.rank([_engineer(1, planned_minutes=240)], _job())[0]
    assert busy.breakdown.load == -8.0
