"""Rows of the notification outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Notification:
    id: int
    topic: str
    payload: dict
    created_at: datetime
    sent_at: datetime | None
