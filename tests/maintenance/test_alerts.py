"""Debounce and hysteresis: one reading never raises, a persisting fault always does, alerts clear."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st
from river.checks import common

from maintenance.alerts import AlertDecision, Transition

healthy = st.lists(st.floats(min_value=0.0, max_value=3.0), min_size=1, max_size=300)
spike = st.floats(min_value=0.0, max_value=1e12)


def run(decision: AlertDecision, scores) -> list[Transition]:
    return [t for t in (decision.update(s) for s in scores) if t is not None]


@given(before=healthy, wild=spike, after=healthy)
def test_one_reading_never_raises(before, wild, after):
    # healthy scores up to 3 keep the level at most 3; one capped reading adds at most 0.9
    assert run(AlertDecision(), [*before, wild, *after]) == []


@given(before=healthy, fault=st.lists(st.floats(min_value=5.0, max_value=1e6), min_size=40, max_size=200))
def test_a_persisting_fault_always_raises(before, fault):
    decision = AlertDecision()
    assert run(decision, [*before, *fault]) == [Transition.RAISE]
    assert decision.active


@given(st.lists(st.floats(min_value=0.0, max_value=50.0), max_size=2000))
def test_raises_and_clears_alternate(scores):
    transitions = run(AlertDecision(raise_after=3, clear_after=5), scores)
    assert transitions == [Transition.RAISE, Transition.CLEAR] * (len(transitions) // 2) + (
        [Transition.RAISE] if len(transitions) % 2 else []
    )


def test_hysteresis_holds_between_the_thresholds_then_clears():
    decision = AlertDecision()
    assert run(decision, [8.0] * 40) == [Transition.RAISE]
    # below the raise threshold but above the clear one: the alert stays
    assert run(decision, [3.0] * 300) == []
    assert decision.active
    # healthy again: cleared once the level has stayed low for clear_after readings
    transitions = [decision.update(1.0) for _ in range(200)]
    assert transitions.count(Transition.CLEAR) == 1
    assert decision.level <= decision.clear_below
    assert transitions.index(Transition.CLEAR) >= decision.clear_after - 1
    assert not decision.active


def test_a_short_burst_does_not_clear_an_open_alert():
    decision = AlertDecision()
    run(decision, [8.0] * 40)
    assert run(decision, [0.0] * 30 + [8.0] * 5 + [0.0] * 30) == []
    assert decision.active


def test_parameters_are_checked():
    with pytest.raises(ValueError):
        AlertDecision(clear_below=5.0, raise_above=4.0)
    with pytest.raises(ValueError):
        AlertDecision(smoothing=0.0)
    with pytest.raises(ValueError):
        AlertDecision(raise_after=0)


def test_reset_and_checkpointing():
    decision = AlertDecision()
    run(decision, [8.0] * 40)
    copy = pickle.loads(pickle.dumps(decision))
    assert copy.active and copy.level == decision.level
    decision.reset()
    assert not decision.active and decision.level == 0.0


@pytest.mark.parametrize(
    "check",
    [
        common.check_repr,
        common.check_str,
        common.check_clone_same_class,
        common.check_clone_is_idempotent,
        common.check_init_default_params_are_not_mutable,
        common.check_doc,
        common.check_clone_changes_memory_addresses,
        common.check_pickling_supports_roundtrip,
        common.check_repr_roundtrips_clone,
        common.check_clone_with_new_params_applies,
        common.check_get_params_matches_signature,
    ],
    ids=lambda c: c.__name__,
)
def test_river_conventions(check):
    check(AlertDecision())
