"""The work-order state machine, pure and as the database enforces it."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service_core.errors import Conflict, InvalidTransition
from service_core.workorders import states
from service_core.workorders.states import REOPEN, REOPEN_WINDOW, TRANSITIONS, ReopenWindowPassed, Status

LEGAL = [(a, b) for a, targets in TRANSITIONS.items() for b in targets]
ILLEGAL = [(a, b) for a, b in itertools.product(Status, Status) if b not in TRANSITIONS[a]]


@pytest.mark.parametrize(("current", "target"), LEGAL)
def test_every_legal_transition_works(current: Status, target: Status) -> None:
    assert states.transition(current, target) is target
    assert states.transition(current.value, target.value) is target


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_every_illegal_transition_is_rejected(current: Status, target: Status) -> None:
    with pytest.raises(InvalidTransition) as raised:
        states.transition(current, target)
    assert f"from {current.value!r} to {target.value!r}" in raised.value.detail
    assert raised.value.status_code == 409


def test_happy_path_and_final_states() -> None:
    path = ["new", "assigned", "accepted", "en_route", "on_site", "in_progress", "completed", "closed"]
    for current, target in itertools.pairwise(path):
        states.transition(current, target)
    assert states.allowed("closed") == frozenset() and states.allowed("cancelled") == frozenset()


def test_every_state_is_reachable_from_new() -> None:
    seen, frontier = {Status.NEW}, [Status.NEW]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()] - seen:
            seen.add(nxt)
            frontier.append(nxt)
    assert seen == set(Status)


@given(st.lists(st.sampled_from(Status), max_size=30))
def test_random_sequences_follow_the_table(targets: list[Status]) -> None:
    current = Status.NEW
    for target in targets:
        if target in TRANSITIONS[current]:
            current = states.transition(current, target)
        else:
            with pytest.raises(InvalidTransition):
                states.transition(current, target)
    assert current in Status


def test_unknown_status_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        states.transition("new", "teleported")


def test_database_holds_the_same_table(conn: psycopg.Connection) -> None:
    rows = conn.execute("select from_status, to_status, kind from service.work_order_transitions").fetchall()
    reopens = {(a.value, b.value, "reopen") for a, targets in REOPEN.items() for b in targets}
    assert set(rows) == {(a.value, b.value, "move") for a, b in LEGAL} | reopens
    (window,) = conn.execute("select service.reopen_window()").fetchone()
    assert window == REOPEN_WINDOW


def test_reopen_only_finished_orders_within_the_window() -> None:
    done = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
    for current in ("completed", "closed"):
        assert states.reopen(current, completed_at=done, now=done + REOPEN_WINDOW) is Status.ASSIGNED
        with pytest.raises(ReopenWindowPassed, match="reopen window of 7 days has passed.*open a new work order"):
            states.reopen(current, completed_at=done, now=done + REOPEN_WINDOW + timedelta(seconds=1))
    with pytest.raises(Conflict, match="only a completed or closed work order can be reopened; this one is 'on_hold'"):
        states.reopen("on_hold", completed_at=done, now=done)
    with pytest.raises(ReopenWindowPassed, match="completion is not recorded"):
        states.reopen("closed", completed_at=None, now=done)


def test_database_refuses_an_illegal_update(conn: psycopg.Connection) -> None:
    conn.execute("insert into service.customers (name) values ('c')")
    conn.execute(
        "insert into service.sites (customer_id, code, name, region, lat, lon) values (1, 's1', 'S', 'r', 0, 0)"
    )
    conn.execute("insert into telemetry.devices (asset_id, site_id, model) values ('a1', 's1', 'CP-200')")
    conn.execute("insert into service.assets (id, site_id, model, serial) values ('a1', 1, 'CP-200', 'x')")
    conn.execute("insert into service.work_orders (asset_id, type, title) values ('a1', 'repair', 't')")
    with pytest.raises(psycopg.errors.CheckViolation, match="illegal work order transition new -> closed"):
        conn.execute("update service.work_orders set status = 'closed'")
    conn.execute("update service.work_orders set status = 'cancelled'")
