"""Rows of the spare-parts area (catalogue, locations, ledger, reservations, transfers), as read from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Part:
    part_number: str
    name: str
    barcode: str | None
    unit_cost: Decimal
    created_at: datetime
    models: list[str]
    failure_modes: list[dict]  # [{"failure_mode": ..., "quantity": ...}]


@dataclass(frozen=True, slots=True)
class StockLocation:
    id: int
    kind: str  # warehouse, branch, van
    name: str
    engineer_id: int | None
    region: str | None
    lat: float | None
    lon: float | None
    replenished_from_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StockLevel:
    location_id: int
    part_number: str
    on_hand: Decimal
    reserved: Decimal

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


@dataclass(frozen=True, slots=True)
class Movement:
    id: int
    location_id: int
    part_number: str
    quantity: Decimal  # + in, - out
    reason: str  # receipt, consumption, return, transfer_out, transfer_in, adjustment
    work_order_id: int | None
    reference: str | None
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Reservation:
    id: int
    location_id: int
    part_number: str
    work_order_id: int
    quantity: Decimal
    status: str  # active, consumed, released
    created_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class RequiredPart:
    work_order_id: int
    part_number: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class Transfer:
    id: int
    from_location_id: int
    to_location_id: int
    part_number: str
    quantity: Decimal
    status: str  # requested, approved, rejected, in_transit, received, cancelled
    work_order_id: int | None
    expected_at: datetime | None
    requested_by: str
    approved_by: str | None
    created_at: datetime
    updated_at: datetime
    rejected_by: str | None
    note: str | None
    shipped_at: datetime | None
    received_at: datetime | None


@dataclass(frozen=True, slots=True)
class ReorderPoint:
    location_id: int
    part_number: str
    reorder_point: Decimal
    reorder_quantity: Decimal
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PartDemand:
    """A predicted failure that will need the part: an open preventive order or an open alert."""

    source: str  # work_order, alert
    id: int
    asset_id: str
    failure_mode: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class Shortage:
    part_number: str
    needed: Decimal
    reserved: Decimal

    @property
    def missing(self) -> Decimal:
        return self.needed - self.reserved


@dataclass(frozen=True, slots=True)
class ReservationOutcome:
    """What reserving an order's parts in its engineer's van did, and what the van lacks."""

    work_order_id: int
    engineer_id: int | None
    van_id: int | None
    reserved: dict[str, Decimal]  # held for the order in the van now
    released: dict[str, Decimal]  # given back by this call (another van, or no longer needed)
    missing: list[Shortage]


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    work_order_id: int
    part_number: str
    quantity: Decimal
    van_id: int
    from_reservation: Decimal
    from_free_stock: Decimal
    movement_id: int
    part_used_id: int
    level: StockLevel


@dataclass(frozen=True, slots=True)
class ReturnOutcome:
    work_order_id: int
    part_number: str
    released: Decimal
    returned: Decimal
    location_id: int | None
    movement_id: int | None
