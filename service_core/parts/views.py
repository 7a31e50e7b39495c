"""Routes of spare parts: the catalogue, stock locations and their ledger, an order's parts (required, scanned,
returned), transfers with approval, replenishment and the demand forecast."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from service_core.audit import act_as
from service_core.deps import ConnDep
from service_core.parts import flows, service, stock
from service_core.parts.forecast import Forecast
from service_core.parts.schemas import (
    ForecastRead,
    LevelRead,
    LocationCreate,
    LocationKind,
    LocationRead,
    LocationUpdate,
    MovementCreate,
    MovementRead,
    PartCreate,
    PartRead,
    PartUpdate,
    ReorderPointIn,
    ReorderPointRead,
    RequiredParts,
    RequiredPartsRead,
    ReservationRead,
    ReservationReport,
    ReturnIn,
    ReturnRead,
    Scan,
    ScanRead,
    SuggestionRead,
    TransferAction,
    TransferCreate,
    TransferRead,
    TransferStatus,
)
from service_core.workorders import service as workorders_service

router = APIRouter(tags=["spare parts"])

Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]

# --- catalogue ---------------------------------------------------------------------------------------------


@router.post("/parts", response_model=PartRead, status_code=status.HTTP_201_CREATED)
async def create_part(conn: ConnDep, part_in: PartCreate):
    """Add a part: number, name, barcode, unit cost, the asset models it fits and the failure modes it repairs."""
    await act_as(conn, part_in.actor)
    return await service.create(conn, part_in=part_in)


@router.get("/parts", response_model=list[PartRead])
async def list_parts(conn: ConnDep, asset_model: str | None = None, limit: Limit = 100, offset: Offset = 0):
    """The catalogue; only the parts that fit ``asset_model`` when given."""
    return await service.get_all(conn, asset_model=asset_model, limit=limit, offset=offset)


@router.get("/parts/{part_number}", response_model=PartRead)
async def get_part(conn: ConnDep, part_number: str):
    return await service.get(conn, part_number=part_number)


@router.patch("/parts/{part_number}", response_model=PartRead)
async def update_part(conn: ConnDep, part_number: str, part_in: PartUpdate):
    """Change a part; ``models`` and ``failure_modes`` replace the lists."""
    await act_as(conn, part_in.actor)
    return await service.update(conn, part_number=part_number, part_in=part_in)


@router.get("/parts/{part_number}/stock", response_model=list[LevelRead])
async def part_stock(conn: ConnDep, part_number: str):
    """On hand, reserved and available of the part at every location that has held it."""
    await service.get(conn, part_number=part_number)
    return await stock.get_levels(conn, part_number=part_number)


@router.get("/parts/{part_number}/forecast", response_model=ForecastRead)
async def part_forecast(
    conn: ConnDep,
    part_number: str,
    days: Annotated[int, Query(ge=1, le=365, description="Horizon in days")] = 30,
    history_days: Annotated[int, Query(ge=1, le=3650, description="Consumption history used")] = flows.HISTORY_DAYS,
):
    """Expected demand over the next ``days``: the consumption rate of the last ``history_days`` (Poisson
    10-90 % interval) plus the parts that open preventive orders and detector alerts will need."""
    result, predicted = await flows.forecast_part(conn, part_number=part_number, days=days, history_days=history_days)
    return _forecast_read(part_number, result, predicted)


def _forecast_read(part_number: str, result: Forecast, predicted: list) -> ForecastRead:
    return ForecastRead(
        part_number=part_number,
        days=result.days,
        history_days=result.history_days,
        consumed=result.consumed,
        daily_rate=result.daily_rate,
        background=result.background,
        background_low=result.background_low,
        background_high=result.background_high,
        predicted=result.predicted,
        predicted_failures=predicted,
        expected=result.expected,
        low=result.low,
        high=result.high,
        method="mean daily consumption over the history, Poisson 10-90 % interval, plus predicted failures",
    )


# --- stock locations and the ledger ------------------------------------------------------------------------


@router.post("/stock-locations", response_model=LocationRead, status_code=status.HTTP_201_CREATED)
async def create_location(conn: ConnDep, location_in: LocationCreate):
    """A warehouse, a branch, or an engineer's van (one each)."""
    await act_as(conn, location_in.actor)
    return await service.create_location(conn, location_in=location_in)


@router.get("/stock-locations", response_model=list[LocationRead])
async def list_locations(conn: ConnDep, kind: LocationKind | None = None):
    return await service.get_locations(conn, kind=kind)


@router.get("/stock-locations/{location_id}", response_model=LocationRead)
async def get_location(conn: ConnDep, location_id: int):
    return await service.get_location(conn, location_id=location_id)


@router.patch("/stock-locations/{location_id}", response_model=LocationRead)
async def update_location(conn: ConnDep, location_id: int, location_in: LocationUpdate):
    await act_as(conn, location_in.actor)
    return await service.update_location(conn, location_id=location_id, location_in=location_in)


@router.get("/stock-locations/{location_id}/stock", response_model=list[LevelRead])
async def location_stock(conn: ConnDep, location_id: int):
    """On hand, reserved and available per part at the location."""
    await service.get_location(conn, location_id=location_id)
    return await stock.get_levels(conn, location_id=location_id)


@router.post("/stock-locations/{location_id}/movements", response_model=MovementRead,
             status_code=status.HTTP_201_CREATED)
async def record_movement(conn: ConnDep, location_id: int, movement_in: MovementCreate):
    """A receipt (stock arriving) or an adjustment (a count correction); taking out more than is available is
    a 409 that says what is."""
    await service.get_location(conn, location_id=location_id)
    await service.get(conn, part_number=movement_in.part_number)
    return await stock.record_movement(
        conn, location_id=location_id, part_number=movement_in.part_number, quantity=movement_in.quantity,
        reason=movement_in.reason, reference=movement_in.reference, actor=movement_in.actor,
    )


@router.get("/stock-locations/{location_id}/movements", response_model=list[MovementRead])
async def list_movements(
    conn: ConnDep, location_id: int, part_number: str | None = None, limit: Limit = 100, offset: Offset = 0
):
    """The location's ledger, newest first."""
    await service.get_location(conn, location_id=location_id)
    return await stock.get_movements(conn, location_id=location_id, part_number=part_number, limit=limit,
                                     offset=offset)


@router.get("/stock-locations/{location_id}/reorder-points", response_model=list[ReorderPointRead])
async def list_reorder_points(conn: ConnDep, location_id: int):
    await service.get_location(conn, location_id=location_id)
    return await service.get_reorder_points(conn, location_id=location_id)


@router.put("/stock-locations/{location_id}/reorder-points/{part_number}", response_model=ReorderPointRead)
async def put_reorder_point(conn: ConnDep, location_id: int, part_number: str, point_in: ReorderPointIn):
    """Below ``reorder_point`` (available plus incoming), replenish with at least ``reorder_quantity``."""
    await service.get_location(conn, location_id=location_id)
    await service.get(conn, part_number=part_number)
    return await service.put_reorder_point(
        conn, location_id=location_id, part_number=part_number, reorder_point=point_in.reorder_point,
        reorder_quantity=point_in.reorder_quantity, actor=point_in.actor,
    )


@router.delete("/stock-locations/{location_id}/reorder-points/{part_number}",
               status_code=status.HTTP_204_NO_CONTENT)
async def delete_reorder_point(conn: ConnDep, location_id: int, part_number: str):
    await service.delete_reorder_point(conn, location_id=location_id, part_number=part_number)


@router.get("/stock/replenishment", response_model=list[SuggestionRead])
async def replenishment(conn: ConnDep):
    """Locations and parts below their reorder point: how many to send, and from a location that has them
    (a van from its branch first), or to purchase."""
    return await flows.replenishment_suggestions(conn)


# --- an order's parts --------------------------------------------------------------------------------------


@router.put("/work-orders/{work_order_id}/required-parts", response_model=RequiredPartsRead)
async def put_required_parts(conn: ConnDep, work_order_id: int, parts_in: RequiredParts):
    """Replace the parts the order needs; when it is assigned, they are reserved in the engineer's van."""
    parts, outcome = await flows.set_required_parts(conn, work_order_id=work_order_id, parts_in=parts_in)
    return RequiredPartsRead(
        parts=parts, reservations=ReservationReport.model_validate(outcome) if outcome is not None else None
    )


@router.get("/work-orders/{work_order_id}/required-parts", response_model=RequiredPartsRead)
async def get_required_parts(conn: ConnDep, work_order_id: int):
    await workorders_service.get(conn, work_order_id=work_order_id)
    return RequiredPartsRead(parts=await service.get_required(conn, work_order_id=work_order_id), reservations=None)


@router.get("/work-orders/{work_order_id}/reservations", response_model=list[ReservationRead])
async def list_reservations(
    conn: ConnDep, work_order_id: int, status: Literal["active", "consumed", "released"] | None = None
):
    """Stock held for the order (all of its reservations unless ``status`` is given)."""
    await workorders_service.get(conn, work_order_id=work_order_id)
    return await stock.get_reservations(conn, work_order_id=work_order_id, status=status)


@router.post("/work-orders/{work_order_id}/scan", response_model=ScanRead, status_code=status.HTTP_201_CREATED)
async def scan_part(conn: ConnDep, work_order_id: int, scan_in: Scan):
    """Consume a part by its barcode or number from the engineer's van (the order's reservation first); the
    part is recorded on the order. Not enough in the van is a 409 that says what is there."""
    return await flows.scan(conn, work_order_id=work_order_id, scan_in=scan_in)


@router.post("/work-orders/{work_order_id}/returns", response_model=ReturnRead, status_code=status.HTTP_201_CREATED)
async def return_part(conn: ConnDep, work_order_id: int, return_in: ReturnIn):
    """Give back what the order did not use: reserved stock is released, consumed parts go back to the van."""
    return await flows.return_unused(conn, work_order_id=work_order_id, return_in=return_in)


# --- transfers ---------------------------------------------------------------------------------------------


@router.post("/stock-transfers", response_model=TransferRead, status_code=status.HTTP_201_CREATED)
async def request_transfer(conn: ConnDep, transfer_in: TransferCreate):
    """Ask for stock to move; someone other than the requester approves it, then it is shipped and received."""
    return await flows.request_transfer(conn, transfer_in=transfer_in)


@router.get("/stock-transfers", response_model=list[TransferRead])
async def list_transfers(
    conn: ConnDep, status: TransferStatus | None = None, location_id: int | None = None, limit: Limit = 100,
    offset: Offset = 0,
):
    return await stock.get_transfers(conn, status=status, location_id=location_id, limit=limit, offset=offset)


@router.get("/stock-transfers/{transfer_id}", response_model=TransferRead)
async def get_transfer(conn: ConnDep, transfer_id: int):
    return await stock.get_transfer(conn, transfer_id=transfer_id)


TransferStep = Literal["approve", "reject", "ship", "receive", "cancel"]


@router.post("/stock-transfers/{transfer_id}/{action}", response_model=TransferRead)
async def act_on_transfer(conn: ConnDep, transfer_id: int, action: TransferStep, action_in: TransferAction):
    """Move a transfer on: ``approve`` (by someone other than the requester) or ``reject`` a requested one;
    ``ship`` an approved one (the stock leaves the source; 409 when it is not available there); ``receive`` it
    (the stock enters the destination and tops up its order's reservation); ``cancel`` one not yet shipped."""
    return await flows.act_on_transfer(
        conn, transfer_id=transfer_id, action=action, actor=action_in.actor, note=action_in.note
    )
