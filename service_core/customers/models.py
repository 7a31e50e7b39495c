"""Rows of the customers area, as read from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    name: str
    email: str | None
    phone: str | None
    created_at: datetime
    preferred_engineer_id: int | None = None


@dataclass(frozen=True, slots=True)
class Site:
    id: int
    customer_id: int
    code: str
    name: str
    address: str | None
    region: str
    lat: float
    lon: float
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Asset:
    id: str
    site_id: int
    site_code: str
    model: str
    serial: str
    location: str | None
    installed_on: date | None
    warranty_ends_on: date | None
    created_at: datetime
