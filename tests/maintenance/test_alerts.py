"""The alert decision: a lasting deviation raises, one reading never does, it clears once its signals are back."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintenance.alerts import AlertDecision, State, Transition

quiet = st.lists(st.floats(min_value=0.0, max_value=5.9), min_size=1, max_size=300)
wild = st.floats(min_value=0.0, max_value=1e12)


def run(decision: AlertDecision, scores, start: float = 0.0) -> list[Transition]:
    """One signal; a reading a second."""
    events = (decision.update(s, (s,), start + i) for i, s in enumerate(scores))
    return [e for e in events if e is not None]


@given(before=quiet, spike=wild, after=quiet)
def test_one_reading_never_raises(before, spike, after):
    assert run(AlertDecision(), [*before, spike, *after]) == []


@given(before=quiet, fault=st.lists(st.floats(min_value=6.0, max_value=1e6), min_size=2, max_size=200))
def test_a_lasting_deviation_always_raises_at_its_second_reading(before, fault):
    decision = AlertDecision()
    events = [decision.update(s, (s,), t) for t, s in enumerate([*before, *fault])]
    assert events.index(Transition.RAISE) == len(before) + 1
    assert decision.active


@given(st.lists(st.floats(min_value=0.0, max_value=50.0), max_size=2000))
def test_the_transitions_follow_the_alert_lifecycle(scores):
    decision = AlertDecision(clear_after=5.0)
    state = State.QUIET
    allowed = {
        (State.QUIET, Transition.RAISE): State.DEVIATING,
        (State.DEVIATING, Transition.RECOVER): State.RECOVERING,
        (State.RECOVERING, Transition.RELAPSE): State.DEVIATING,
        (State.RECOVERING, Transition.CLEAR): State.QUIET,
    }
    for t, s in enumerate(scores):
        transition = decision.update(s, (s,), t)
        if transition is not None:
            state = allowed[(state, transition)]
        assert decision.state is state


def test_an_alert_clears_once_its_signal_has_stayed_back():
    decision = AlertDecision()
    assert run(decision, [20.0] * 30) == [Transition.RAISE]
    # half way back from 20 is back: the fault has gone even if the level is not quite the old one
    assert run(decision, [9.0] * 59, start=30) == [Transition.RECOVER]
    assert decision.active and not decision.deviating
    assert run(decision, [9.0], start=89) == []
    assert run(decision, [9.0], start=90) == [Transition.CLEAR]
    assert not decision.active


def test_a_signal_still_far_off_is_not_back_however_far_it_went():
    decision = AlertDecision()
    run(decision, [60.0] * 10)
    assert run(decision, [13.0] * 100, start=10) == []  # half of 60, but more than clear_ceiling
    assert run(decision, [11.0], start=110) == [Transition.RECOVER]


def test_a_signal_hovering_at_the_edge_does_not_toggle_the_state():
    decision = AlertDecision()
    run(decision, [8.0] * 10)
    # 8 was the furthest: back means within 4; leaving again means beyond 6 (the raise threshold)
    assert run(decision, [3.9, 4.1, 3.9, 5.5, 3.0], start=10) == [Transition.RECOVER]
    assert run(decision, [6.5], start=15) == [Transition.RELAPSE]


def test_only_the_signals_the_alert_is_about_hold_it_open():
    decision = AlertDecision()
    assert decision.update(9.0, (9.0, 1.0), 0) is None
    assert decision.update(9.0, (9.0, 1.0), 1) is Transition.RAISE
    assert decision.involved == (True, False)
    # the first signal is back; the second, never far off, keeps wavering below the threshold
    assert decision.update(5.5, (1.0, 5.5), 2) is Transition.RECOVER
    assert [decision.update(5.5, (1.0, 5.5), t) for t in range(3, 63)][-1] is Transition.CLEAR
    # a second signal going far off during the alert joins it
    decision.update(9.0, (9.0, 1.0), 100)
    decision.update(9.0, (9.0, 1.0), 101)
    decision.update(9.0, (1.0, 9.0), 102)
    assert decision.involved == (True, True)
    assert decision.update(8.0, (2.0, 8.0), 103) is None  # the second is not back yet


def test_a_crossed_limit_holds_the_alert_open():
    decision = AlertDecision()
    assert decision.update(12.0, (0.5,), 0, beyond_limits=True) is None
    assert decision.update(12.0, (0.5,), 1, beyond_limits=True) is Transition.RAISE
    assert all(decision.update(12.0, (0.5,), t, beyond_limits=True) is None for t in range(2, 200))
    assert decision.deviating
    # a reading hovering about the limit crosses it on and off: that is not being back
    assert [decision.update(0.5, (0.5,), t, beyond_limits=t % 3 == 0) for t in range(200, 300)] == [None] * 100
    assert decision.update(0.5, (0.5,), 356) is None
    assert decision.update(0.5, (0.5,), 357) is Transition.RECOVER  # 60 s after the last crossing (297)


def test_parameters_are_checked():
    with pytest.raises(ValueError):
        AlertDecision(clear_within=7.0, raise_above=6.0)
    with pytest.raises(ValueError):
        AlertDecision(raise_after=0)
    with pytest.raises(ValueError):
        AlertDecision(clear_ceiling=5.0)
    with pytest.raises(ValueError):
        AlertDecision(clear_fraction=1.0)
    with pytest.raises(ValueError):
        AlertDecision(clear_after=-1.0)


def test_reset_and_checkpointing():
    decision = AlertDecision()
    run(decision, [8.0] * 40)
    copy = pickle.loads(pickle.dumps(decision))
    assert copy.active and copy.level == decision.level and copy.involved == decision.involved
    decision.reset()
    assert not decision.active and decision.level == 0.0 and decision.involved == ()


def test_a_signal_the_model_is_unsure_of_is_neither_back_nor_gone_again():
    decision = AlertDecision()
    run(decision, [9.0] * 5)
    # a new operating point: the model's uncertainty shrinks the deviation, which proves nothing
    assert [decision.update(1.0, (1.0,), t, doubtful=(True,)) for t in range(5, 100)] == [None] * 95
    assert decision.deviating
    assert decision.update(1.0, (1.0,), 100) is Transition.RECOVER  # known again, and back
    assert decision.update(9.0, (9.0,), 101, doubtful=(True,)) is None  # unsure: not a relapse either
    assert decision.update(1.0, (1.0,), 160) is Transition.CLEAR
