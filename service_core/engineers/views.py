"""Routes for engineers."""

from __future__ import annotations

from fastapi import APIRouter, status

from service_core.deps import ConnDep
from service_core.engineers import service
from service_core.engineers.schemas import EngineerCreate, EngineerRead, EngineerUpdate

router = APIRouter(prefix="/engineers", tags=["engineers"])


@router.get("", response_model=list[EngineerRead])
async def list_engineers(conn: ConnDep, active: bool | None = None):
    return await service.get_all(conn, active=active)


@router.post("", response_model=EngineerRead, status_code=status.HTTP_201_CREATED)
async def create_engineer(conn: ConnDep, engineer_in: EngineerCreate):
    return await service.create(conn, engineer_in=engineer_in)


@router.get("/{engineer_id}", response_model=EngineerRead)
async def get_engineer(conn: ConnDep, engineer_id: int):
    return await service.get(conn, engineer_id=engineer_id)


@router.patch("/{engineer_id}", response_model=EngineerRead)
async def update_engineer(conn: ConnDep, engineer_id: int, engineer_in: EngineerUpdate):
    return await service.update(conn, engineer_id=engineer_id, engineer_in=engineer_in)
