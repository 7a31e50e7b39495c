"""API shapes of customers, sites and assets."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Self

from pydantic import Field, StringConstraints, model_validator

from service_core.schemas import PatchSchema, ReadSchema, RequestSchema

TopicId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


class CustomerCreate(RequestSchema):
    name: Name
    email: str | None = None
    phone: str | None = None
    preferred_engineer_id: int | None = Field(default=None, description="Dispatch favours this engineer")


class CustomerUpdate(PatchSchema):
    not_null = frozenset({"name"})
    name: Name | None = None
    email: str | None = None
    phone: str | None = None
    preferred_engineer_id: int | None = None


class CustomerRead(ReadSchema):
    id: int
    name: str
    email: str | None
    phone: str | None
    preferred_engineer_id: int | None
    created_at: datetime


class SiteCreate(RequestSchema):
    customer_id: int
    code: TopicId = Field(description="Used in device topics: fleet/{code}/{asset_id}/...")
    name: Name
    address: str | None = None
    region: Short
    lat: Latitude
    lon: Longitude


class SiteUpdate(PatchSchema):
    not_null = frozenset({"name", "region", "lat", "lon"})
    name: Name | None = None
    address: str | None = None
    region: Short | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None


class SiteRead(ReadSchema):
    id: int
    customer_id: int
    code: str
    name: str
    address: str | None
    region: str
    lat: float
    lon: float
    created_at: datetime


class _WarrantyAfterInstall(PatchSchema):
    installed_on: date | None = None
    warranty_ends_on: date | None = None

    @model_validator(mode="after")
    def _warranty_after_install(self) -> Self:
        if self.installed_on and self.warranty_ends_on and self.warranty_ends_on < self.installed_on:
            raise ValueError("warranty_ends_on is before installed_on")
        return self


class AssetCreate(_WarrantyAfterInstall):
    id: TopicId = Field(description="The asset's tag, used in device topics, e.g. pump-003")
    site_id: int
    model: Short
    serial: Short
    location: str | None = Field(default=None, description="Where on the site, e.g. 'pump room B'")
    expected_interval_s: float = Field(default=1.0, gt=0, description="How often the device reports")


class AssetUpdate(_WarrantyAfterInstall):
    not_null = frozenset({"site_id", "model", "serial", "expected_interval_s"})
    site_id: int | None = None
    model: Short | None = None
    serial: Short | None = None
    location: str | None = None
    expected_interval_s: float | None = Field(default=None, gt=0)


class AssetRead(ReadSchema):
    id: str
    site_id: int
    site_code: str
    model: str
    serial: str
    location: str | None
    installed_on: date | None
    warranty_ends_on: date | None
    created_at: datetime
