"""API shapes of the parts catalogue, stock locations, the ledger, reservations, transfers and forecasts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal, Self

from pydantic import Field, StringConstraints, computed_field, field_validator, model_validator

from service_core.schemas import PatchSchema, ReadSchema, RequestSchema
from service_core.workorders.schemas import Actor, FailureMode, Note

PartNumber = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]
Barcode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
AssetModel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Region = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=3, description="How many (> 0)")]
LocationKind = Literal["warehouse", "branch", "van"]
TransferStatus = Literal["requested", "approved", "rejected", "in_transit", "received", "cancelled"]


class PartFailureMode(RequestSchema):
    failure_mode: FailureMode
    quantity: Quantity = Decimal(1)


def _unique(values: list, what: str) -> list:
    if len(set(values)) != len(values):
        raise ValueError(f"{what} listed twice")
    return values


class PartCreate(RequestSchema):
    part_number: PartNumber
    name: Name
    barcode: Barcode | None = None
    unit_cost: Money = Decimal(0)
    models: list[AssetModel] = Field(default_factory=list, description="Asset models the part fits")
    failure_modes: list[PartFailureMode] = Field(
        default_factory=list, description="Failure modes whose repair needs the part, and how many per repair"
    )
    actor: Actor

    @field_validator("models")
    @classmethod
    def _models_once(cls, v: list[str]) -> list[str]:
        return _unique(v, "an asset model is")

    @field_validator("failure_modes")
    @classmethod
    def _modes_once(cls, v: list[PartFailureMode]) -> list[PartFailureMode]:
        _unique([m.failure_mode for m in v], "a failure mode is")
        return v


class PartUpdate(PatchSchema):
    not_null: ClassVar[frozenset[str]] = frozenset({"name", "unit_cost", "models", "failure_modes", "actor"})

    name: Name | None = None
    barcode: Barcode | None = None
    unit_cost: Money | None = None
    models: list[AssetModel] | None = Field(None, description="Replaces the list of models the part fits")
    failure_modes: list[PartFailureMode] | None = None
    actor: Actor

    @field_validator("models")
    @classmethod
    def _models_once(cls, v: list[str] | None) -> list[str] | None:
        return v if v is None else _unique(v, "an asset model is")

    @field_validator("failure_modes")
    @classmethod
    def _modes_once(cls, v: list[PartFailureMode] | None) -> list[PartFailureMode] | None:
        if v is not None:
            _unique([m.failure_mode for m in v], "a failure mode is")
        return v


class PartFailureModeRead(ReadSchema):
    failure_mode: str
    quantity: Decimal


class PartRead(ReadSchema):
    part_number: str
    name: str
    barcode: str | None
    unit_cost: Decimal
    created_at: datetime
    models: list[str]
    failure_modes: list[PartFailureModeRead]


class LocationCreate(RequestSchema):
    kind: LocationKind
    name: Name
    engineer_id: int | None = Field(None, description="The van's engineer (vans only, one van each)")
    region: Region | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    replenished_from_id: int | None = Field(None, description="Where this location's stock comes from")
    actor: Actor

    @model_validator(mode="after")
    def _van_has_engineer(self) -> Self:
        if (self.kind == "van") != (self.engineer_id is not None):
            raise ValueError("a van needs an engineer_id, and only a van has one")
        return self


class LocationUpdate(PatchSchema):
    not_null: ClassVar[frozenset[str]] = frozenset({"name"})

    name: Name | None = None
    region: Region | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    replenished_from_id: int | None = None
    actor: Actor


class LocationRead(ReadSchema):
    id: int
    kind: LocationKind
    name: str
    engineer_id: int | None
    region: str | None
    lat: float | None
    lon: float | None
    replenished_from_id: int | None
    created_at: datetime


class LevelRead(ReadSchema):
    location_id: int
    part_number: str
    on_hand: Decimal
    reserved: Decimal

    @computed_field
    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


class MovementCreate(RequestSchema):
    part_number: PartNumber
    reason: Literal["receipt", "adjustment"] = Field(
        description="receipt: stock arriving (quantity > 0); adjustment: a count correction (either sign)"
    )
    quantity: Annotated[Decimal, Field(max_digits=12, decimal_places=3)]
    reference: Annotated[str, StringConstraints(max_length=200)] | None = None
    actor: Actor

    @model_validator(mode="after")
    def _signed(self) -> Self:
        if self.quantity == 0:
            raise ValueError("quantity must not be 0")
        if self.reason == "receipt" and self.quantity < 0:
            raise ValueError("a receipt brings stock in: quantity must be > 0 (use an adjustment to correct a count)")
        return self


class MovementRead(ReadSchema):
    id: int
    location_id: int
    part_number: str
    quantity: Decimal
    reason: str
    work_order_id: int | None
    reference: str | None
    actor: str
    at: datetime


class RequiredPartIn(RequestSchema):
    part_number: PartNumber
    quantity: Quantity


class RequiredParts(RequestSchema):
    parts: list[RequiredPartIn]
    actor: Actor

    @field_validator("parts")
    @classmethod
    def _once(cls, v: list[RequiredPartIn]) -> list[RequiredPartIn]:
        _unique([p.part_number for p in v], "a part is")
        return v


class RequiredPartRead(ReadSchema):
    part_number: str
    quantity: Decimal


class ReservationRead(ReadSchema):
    id: int
    location_id: int
    part_number: str
    work_order_id: int
    quantity: Decimal
    status: str
    created_at: datetime
    closed_at: datetime | None


class Shortage(ReadSchema):
    part_number: str
    needed: Decimal = Field(description="Still to be fitted on the order")
    reserved: Decimal = Field(description="Held for it in the van")
    missing: Decimal = Field(description="Needed and not in the van: to transfer or buy")


class ReservationReport(ReadSchema):
    work_order_id: int
    engineer_id: int | None
    van_id: int | None
    reserved: dict[str, Decimal] = Field(description="Part number -> held for the order in the van now")
    released: dict[str, Decimal] = Field(description="Part number -> released (another van, or no longer needed)")
    missing: list[Shortage]


class RequiredPartsRead(ReadSchema):
    parts: list[RequiredPartRead]
    reservations: ReservationReport | None


class Scan(RequestSchema):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)] = Field(
        description="The part's barcode or part number"
    )
    quantity: Quantity = Decimal(1)
    visit_id: int | None = None
    actor: Actor


class ScanRead(ReadSchema):
    work_order_id: int
    part_number: str
    quantity: Decimal
    van_id: int
    from_reservation: Decimal
    from_free_stock: Decimal
    movement_id: int
    part_used_id: int
    level: LevelRead


class ReturnIn(RequestSchema):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)] = Field(
        description="The part's barcode or part number"
    )
    quantity: Quantity
    location_id: int | None = Field(None, description="Where consumed parts go back to; the engineer's van if left out")
    actor: Actor


class ReturnRead(ReadSchema):
    work_order_id: int
    part_number: str
    released: Decimal = Field(description="Reserved and not used: given back to available stock")
    returned: Decimal = Field(description="Consumed and brought back: a return movement into the location")
    location_id: int | None
    movement_id: int | None


class TransferCreate(RequestSchema):
    from_location_id: int
    to_location_id: int
    part_number: PartNumber
    quantity: Quantity
    work_order_id: int | None = None
    expected_at: datetime | None = None
    note: Note | None = None
    actor: Actor

    @model_validator(mode="after")
    def _two_places(self) -> Self:
        if self.from_location_id == self.to_location_id:
            raise ValueError("from_location_id and to_location_id must differ")
        return self


class TransferAction(RequestSchema):
    actor: Actor
    note: Note | None = None


class TransferRead(ReadSchema):
    id: int
    from_location_id: int
    to_location_id: int
    part_number: str
    quantity: Decimal
    status: TransferStatus
    work_order_id: int | None
    expected_at: datetime | None
    requested_by: str
    approved_by: str | None
    rejected_by: str | None
    note: str | None
    created_at: datetime
    updated_at: datetime
    shipped_at: datetime | None
    received_at: datetime | None


class ReorderPointIn(RequestSchema):
    reorder_point: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=3)]
    reorder_quantity: Quantity
    actor: Actor


class ReorderPointRead(ReadSchema):
    location_id: int
    part_number: str
    reorder_point: Decimal
    reorder_quantity: Decimal
    updated_by: str
    updated_at: datetime


class SuggestionRead(ReadSchema):
    location_id: int
    part_number: str
    available: Decimal
    incoming: Decimal
    reorder_point: Decimal
    quantity: Decimal
    action: Literal["transfer", "purchase"]
    source_location_id: int | None
    source_available: Decimal | None


class DemandRead(ReadSchema):
    source: Literal["work_order", "alert"]
    id: int
    asset_id: str
    failure_mode: str
    quantity: Decimal


class ForecastRead(ReadSchema):
    part_number: str
    days: int
    history_days: int
    consumed: float
    daily_rate: float
    background: float
    background_low: int
    background_high: int
    predicted: float
    predicted_failures: list[DemandRead]
    expected: float
    low: float
    high: float
    method: str
