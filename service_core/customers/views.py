"""Routes for customers, sites and assets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from service_core.customers import service
from service_core.customers.schemas import (
    AssetCreate,
    AssetRead,
    AssetUpdate,
    CustomerCreate,
    CustomerRead,
    CustomerUpdate,
    SiteCreate,
    SiteRead,
    SiteUpdate,
)
from service_core.deps import ConnDep

router = APIRouter(tags=["customers"])


@router.get("/customers", response_model=list[CustomerRead])
async def list_customers(
    conn: ConnDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0
):
    return await service.get_all(conn, limit=limit, offset=offset)


@router.post("/customers", response_model=CustomerRead, status_code=status.HTTP_201_CREATED)
async def create_customer(conn: ConnDep, customer_in: CustomerCreate):
    return await service.create(conn, customer_in=customer_in)


@router.get("/customers/{customer_id}", response_model=CustomerRead)
async def get_customer(conn: ConnDep, customer_id: int):
    return await service.get(conn, customer_id=customer_id)


@router.patch("/customers/{customer_id}", response_model=CustomerRead)
async def update_customer(conn: ConnDep, customer_id: int, customer_in: CustomerUpdate):
    return await service.update(conn, customer_id=customer_id, customer_in=customer_in)


@router.get("/sites", response_model=list[SiteRead])
async def list_sites(conn: ConnDep, customer_id: int | None = None):
    return await service.get_sites(conn, customer_id=customer_id)


@router.post("/sites", response_model=SiteRead, status_code=status.HTTP_201_CREATED)
async def create_site(conn: ConnDep, site_in: SiteCreate):
    return await service.create_site(conn, site_in=site_in)


@router.get("/sites/{site_id}", response_model=SiteRead)
async def get_site(conn: ConnDep, site_id: int):
    return await service.get_site(conn, site_id=site_id)


@router.patch("/sites/{site_id}", response_model=SiteRead)
async def update_site(conn: ConnDep, site_id: int, site_in: SiteUpdate):
    return await service.update_site(conn, site_id=site_id, site_in=site_in)


@router.get("/assets", response_model=list[AssetRead])
async def list_assets(conn: ConnDep, site_id: int | None = None):
    return await service.get_assets(conn, site_id=site_id)


@router.post("/assets", response_model=AssetRead, status_code=status.HTTP_201_CREATED)
async def create_asset(conn: ConnDep, asset_in: AssetCreate):
    return await service.create_asset(conn, asset_in=asset_in)


@router.get("/assets/{asset_id}", response_model=AssetRead)
async def get_asset(conn: ConnDep, asset_id: str):
    return await service.get_asset(conn, asset_id=asset_id)


@router.patch("/assets/{asset_id}", response_model=AssetRead)
async def update_asset(conn: ConnDep, asset_id: str, asset_in: AssetUpdate):
    return await service.update_asset(conn, asset_id=asset_id, asset_in=asset_in)
