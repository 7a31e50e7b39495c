"""The surveys' pure rules: who is asked through which channel, when a reminder is due, who is a detractor."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service_core.surveys import channels, rules
from service_core.surveys.rules import Delivery, Unsendable, choose_delivery, is_detractor, reminder_due

SENT = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("module", [rules, channels])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    ("reporter", "customer", "available", "expected"),
    [
        ("jan@harbour.example", "ops@harbour.example", {"email"}, Delivery("email", "jan@harbour.example")),
        (" jan@harbour.example ", None, {"email", "webhook"}, Delivery("email", "jan@harbour.example")),
        ("Jan (phone only)", "ops@harbour.example", {"email"}, Delivery("email", "ops@harbour.example")),
        (None, "ops@harbour.example", {"webhook"}, Delivery("webhook", "ops@harbour.example")),
        (None, None, {"email", "webhook"}, Delivery("webhook", None)),
        (None, "", {"email"}, Unsendable(
            "no e-mail address for the reporter or the customer, and no survey webhook is configured")),
        ("jan@harbour.example", None, set(), Unsendable(
            "survey e-mail is not configured (FLEETCARE_SURVEY_SMTP_HOST) and no survey webhook is")),
    ],
)
def test_the_reporter_first_then_the_customer_then_the_webhook(reporter, customer, available, expected):
    assert choose_delivery(reporter_email=reporter, customer_email=customer, channels=available) == expected


def test_a_reminder_is_due_once_after_three_days_without_an_answer():
    due = SENT + rules.REMINDER_AFTER
    assert rules.REMINDER_AFTER == timedelta(days=3)
    assert not reminder_due(sent_at=SENT, answered_at=None, reminded=False, now=due - timedelta(seconds=1))
    assert reminder_due(sent_at=SENT, answered_at=None, reminded=False, now=due)
    assert not reminder_due(sent_at=SENT, answered_at=None, reminded=True, now=due + timedelta(days=5))
    assert not reminder_due(sent_at=SENT, answered_at=SENT + timedelta(hours=1), reminded=False, now=due)
    assert not reminder_due(sent_at=None, answered_at=None, reminded=False, now=due)


@given(csat=st.none() | st.integers(1, 5), nps=st.none() | st.integers(0, 10))
def test_a_detractor_gave_nps_six_or_less_or_csat_two_or_less(csat, nps):
    expected = (nps is not None and nps <= 6) or (csat is not None and csat <= 2)
    assert is_detractor(csat=csat, nps=nps) is expected
    assert bool(rules.detractor_reason(csat=csat, nps=nps)) is expected


def test_the_boundaries_of_a_detractor():
    assert is_detractor(csat=5, nps=6) and not is_detractor(csat=5, nps=7)
    assert is_detractor(csat=2, nps=10) and not is_detractor(csat=3, nps=10)


@given(st.integers(1, 1000))
def test_retries_back_off_up_to_six_hours(attempts):
    wait = rules.retry_after(attempts)
    assert rules.RETRY_FIRST <= wait <= rules.RETRY_MAX
    assert rules.retry_after(attempts + 1) >= wait
