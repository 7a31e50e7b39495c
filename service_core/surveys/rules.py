"""The surveys' domain rules, pure: who is asked through which channel, when to remind, who is a detractor.

>>> is_detractor(csat=5, nps=6)
True
>>> choose_delivery(reporter_email=None, customer_email="ops@harbour.example", channels={"email"})
Delivery(channel='email', recipient='ops@harbour.example')
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

REMINDER_AFTER = timedelta(days=3)  # unanswered this long after the invitation: one reminder
MAX_AGE = timedelta(days=14)  # an order completed longer ago than this is not surveyed any more
RECOVERY_DUE = timedelta(days=2)  # the supervisor calls a detractor back within this
CLAIM_LEASE = timedelta(minutes=5)  # a claimed message whose sender died is taken again after this
RETRY_FIRST = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=6)

DETRACTOR_NPS = 6  # NPS 0-6
DETRACTOR_CSAT = 2  # CSAT 1-2

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


@dataclass(frozen=True, slots=True)
class Delivery:
    """Send through ``channel``; the webhook may have no recipient (the receiver knows the customer)."""

    channel: str
    recipient: str | None


@dataclass(frozen=True, slots=True)
class Unsendable:
    """No way to reach the customer, and why."""

    reason: str


def usable_email(value: str | None) -> str | None:
    """The address stripped, or None when it is not one an SMTP server would take."""
    value = (value or "").strip()
    return value if _EMAIL.match(value) and len(value) <= 320 else None


def choose_delivery(
    *, reporter_email: str | None, customer_email: str | None, channels: Collection[str]
) -> Delivery | Unsendable:
    """The person who reported the trouble first, else the customer's address; no usable address: the webhook.

    >>> choose_delivery(reporter_email="jan@harbour.example", customer_email="ops@harbour.example",
    ...                 channels={"email", "webhook"})
    Delivery(channel='email', recipient='jan@harbour.example')
    >>> choose_delivery(reporter_email=None, customer_email="not an address", channels={"email", "webhook"})
    Delivery(channel='webhook', recipient=None)
    >>> choose_delivery(reporter_email=None, customer_email=None, channels={"email"}).reason
    'no e-mail address for the reporter or the customer, and no survey webhook is configured'
    """
    address = usable_email(reporter_email) or usable_email(customer_email)
    if address is not None and "email" in channels:
        return Delivery("email", address)
    if "webhook" in channels:
        return Delivery("webhook", address)
    if address is None:
        return Unsendable("no e-mail address for the reporter or the customer, and no survey webhook is configured")
    return Unsendable("survey e-mail is not configured (FLEETCARE_SURVEY_SMTP_HOST) and no survey webhook is")


def reminder_due(*, sent_at: datetime | None, answered_at: datetime | None, reminded: bool, now: datetime) -> bool:
    """Once, when the invitation went out at least REMINDER_AFTER ago and no answer came."""
    return sent_at is not None and answered_at is None and not reminded and now - sent_at >= REMINDER_AFTER


def is_detractor(*, csat: int | None, nps: int | None) -> bool:
    """NPS 0-6 or CSAT 1-2: someone should call the customer back."""
    return (nps is not None and nps <= DETRACTOR_NPS) or (csat is not None and csat <= DETRACTOR_CSAT)


def detractor_reason(*, csat: int | None, nps: int | None) -> str:
    """What made the answer a detractor's, for the recovery task.

    >>> detractor_reason(csat=2, nps=3)
    'NPS 3 (0-6 is a detractor), CSAT 2 (1-2 is a detractor)'
    """
    parts = []
    if nps is not None and nps <= DETRACTOR_NPS:
        parts.append(f"NPS {nps} (0-{DETRACTOR_NPS} is a detractor)")
    if csat is not None and csat <= DETRACTOR_CSAT:
        parts.append(f"CSAT {csat} (1-{DETRACTOR_CSAT} is a detractor)")
    return ", ".join(parts)


def retry_after(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed send: doubling from a minute, at most six hours.

    >>> [retry_after(n).total_seconds() for n in (1, 2, 3)]
    [60.0, 120.0, 240.0]
    >>> retry_after(40) == RETRY_MAX
    True
    """
    if attempts >= 20:
        return RETRY_MAX
    return min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_MAX)


def first_name(name: str | None) -> str | None:
    """The name the customer knows the engineer by: the first word.

    >>> first_name("Ana Keller")
    'Ana'
    """
    words = (name or "").split()
    return words[0] if words else None
