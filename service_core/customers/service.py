"""Customers, their sites and the assets installed there. Callers own the transaction."""

from __future__ import annotations

from dataclasses import asdict

from psycopg import AsyncConnection, errors
from psycopg.rows import class_row

from service_core.customers.models import Asset, Customer, Site
from service_core.customers.schemas import (
    AssetCreate,
    AssetUpdate,
    CustomerCreate,
    CustomerUpdate,
    SiteCreate,
    SiteUpdate,
)
from service_core.errors import Conflict, NotFound, Unprocessable
from telemetry import store as telemetry_store


async def get(conn: AsyncConnection, *, customer_id: int, for_update: bool = False) -> Customer:
    """The customer, or NotFound."""
    async with conn.cursor(row_factory=class_row(Customer)) as cur:
        if for_update:
            await cur.execute("select * from service.customers where id = %(id)s for update", {"id": customer_id})
        else:
            await cur.execute("select * from service.customers where id = %(id)s", {"id": customer_id})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"customer {customer_id} not found")
    return row


async def get_all(conn: AsyncConnection, *, limit: int = 100, offset: int = 0) -> list[Customer]:
    """Customers by id."""
    async with conn.cursor(row_factory=class_row(Customer)) as cur:
        await cur.execute(
            "select * from service.customers order by id limit %(limit)s offset %(offset)s",
            {"limit": limit, "offset": offset},
        )
        return await cur.fetchall()


async def create(conn: AsyncConnection, *, customer_in: CustomerCreate) -> Customer:
    """Add a customer."""
    try:
        async with conn.transaction(), conn.cursor(row_factory=class_row(Customer)) as cur:
            await cur.execute(
                """
                insert into service.customers (name, email, phone, preferred_engineer_id)
                values (%(name)s, %(email)s, %(phone)s, %(preferred_engineer_id)s)
                returning *
                """,
                customer_in.model_dump(),
            )
            return await cur.fetchone()
    except errors.ForeignKeyViolation:
        raise NotFound(f"engineer {customer_in.preferred_engineer_id} not found") from None


async def update(conn: AsyncConnection, *, customer_id: int, customer_in: CustomerUpdate) -> Customer:
    """Change the fields given; the others stay."""
    current = await get(conn, customer_id=customer_id, for_update=True)
    values = asdict(current) | customer_in.model_dump(exclude_unset=True)
    try:
        async with conn.transaction(), conn.cursor(row_factory=class_row(Customer)) as cur:
            await cur.execute(
                """
                update service.customers
                   set name = %(name)s, email = %(email)s, phone = %(phone)s,
                       preferred_engineer_id = %(preferred_engineer_id)s
                 where id = %(id)s
                returning *
                """,
                values,
            )
            return await cur.fetchone()
    except errors.ForeignKeyViolation:
        raise NotFound(f"engineer {values['preferred_engineer_id']} not found") from None


async def get_site(conn: AsyncConnection, *, site_id: int, for_update: bool = False) -> Site:
    """The site, or NotFound."""
    async with conn.cursor(row_factory=class_row(Site)) as cur:
        if for_update:
            await cur.execute("select * from service.sites where id = %(id)s for update", {"id": site_id})
        else:
            await cur.execute("select * from service.sites where id = %(id)s", {"id": site_id})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"site {site_id} not found")
    return row


async def get_sites(conn: AsyncConnection, *, customer_id: int | None = None) -> list[Site]:
    """Sites, all of them or one customer's."""
    async with conn.cursor(row_factory=class_row(Site)) as cur:
        await cur.execute(
            """
            select * from service.sites
             where %(customer_id)s::bigint is null or customer_id = %(customer_id)s
             order by id
            """,
            {"customer_id": customer_id},
        )
        return await cur.fetchall()


async def create_site(conn: AsyncConnection, *, site_in: SiteCreate) -> Site:
    """Add a site to a customer; its code must be unused."""
    try:
        async with conn.transaction(), conn.cursor(row_factory=class_row(Site)) as cur:
            await cur.execute(
                """
                insert into service.sites (customer_id, code, name, address, region, lat, lon)
                values (%(customer_id)s, %(code)s, %(name)s, %(address)s, %(region)s, %(lat)s, %(lon)s)
                returning *
                """,
                site_in.model_dump(),
            )
            return await cur.fetchone()
    except errors.UniqueViolation:
        raise Conflict(f"site code {site_in.code!r} is already taken") from None
    except errors.ForeignKeyViolation:
        raise NotFound(f"customer {site_in.customer_id} not found") from None


async def update_site(conn: AsyncConnection, *, site_id: int, site_in: SiteUpdate) -> Site:
    """Change the fields given; the code never changes (devices publish under it)."""
    current = await get_site(conn, site_id=site_id, for_update=True)
    values = asdict(current) | site_in.model_dump(exclude_unset=True)
    async with conn.cursor(row_factory=class_row(Site)) as cur:
        await cur.execute(
            """
            update service.sites
               set name = %(name)s, address = %(address)s, region = %(region)s, lat = %(lat)s, lon = %(lon)s
             where id = %(id)s
            returning *
            """,
            values,
        )
        return await cur.fetchone()


async def get_asset(conn: AsyncConnection, *, asset_id: str, for_update: bool = False) -> Asset:
    """The asset, or NotFound."""
    async with conn.cursor(row_factory=class_row(Asset)) as cur:
        if for_update:
            await cur.execute(
                """
                select a.id, a.site_id, s.code as site_code, a.model, a.serial, a.location,
                       a.installed_on, a.warranty_ends_on, a.created_at
                  from service.assets a join service.sites s on s.id = a.site_id
                 where a.id = %(id)s
                   for update of a
                """,
                {"id": asset_id},
            )
        else:
            await cur.execute(
                """
                select a.id, a.site_id, s.code as site_code, a.model, a.serial, a.location,
                       a.installed_on, a.warranty_ends_on, a.created_at
                  from service.assets a join service.sites s on s.id = a.site_id
                 where a.id = %(id)s
                """,
                {"id": asset_id},
            )
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"asset {asset_id!r} not found")
    return row


async def get_assets(conn: AsyncConnection, *, site_id: int | None = None) -> list[Asset]:
    """Assets, all of them or one site's."""
    async with conn.cursor(row_factory=class_row(Asset)) as cur:
        await cur.execute(
            """
            select a.id, a.site_id, s.code as site_code, a.model, a.serial, a.location,
                   a.installed_on, a.warranty_ends_on, a.created_at
              from service.assets a join service.sites s on s.id = a.site_id
             where %(site_id)s::bigint is null or a.site_id = %(site_id)s
             order by a.id
            """,
            {"site_id": site_id},
        )
        return await cur.fetchall()


async def create_asset(conn: AsyncConnection, *, asset_in: AssetCreate) -> Asset:
    """Install an asset at a site and provision its telemetry device, in the caller's transaction."""
    site = await get_site(conn, site_id=asset_in.site_id)
    try:
        async with conn.transaction():
            await telemetry_store.provision_device(
                conn,
                asset_id=asset_in.id,
                site_id=site.code,
                model=asset_in.model,
                expected_interval_s=asset_in.expected_interval_s,
            )
            await conn.execute(
                """
                insert into service.assets (id, site_id, model, serial, location, installed_on, warranty_ends_on)
                values (%(id)s, %(site_id)s, %(model)s, %(serial)s, %(location)s, %(installed_on)s,
                        %(warranty_ends_on)s)
                """,
                asset_in.model_dump(exclude={"expected_interval_s"}),
            )
    except errors.UniqueViolation as exc:
        if exc.diag.constraint_name == "assets_model_serial_key":
            raise Conflict(f"an asset {asset_in.model} with serial {asset_in.serial!r} already exists") from None
        raise Conflict(f"asset {asset_in.id!r} already exists") from None
    return await get_asset(conn, asset_id=asset_in.id)


async def update_asset(conn: AsyncConnection, *, asset_id: str, asset_in: AssetUpdate) -> Asset:
    """Change the fields given; moving the asset or changing its model re-provisions its device."""
    current = await get_asset(conn, asset_id=asset_id, for_update=True)
    changes = asset_in.model_dump(exclude_unset=True)
    interval = changes.pop("expected_interval_s", None)
    values = asdict(current) | changes
    site = await get_site(conn, site_id=values["site_id"])
    if interval is None:
        devices = await telemetry_store.get_devices(conn, asset_ids=[asset_id])
        interval = devices[0].expected_interval_s if devices else 1.0
    try:
        async with conn.transaction():
            await conn.execute(
                """
                update service.assets
                   set site_id = %(site_id)s, model = %(model)s, serial = %(serial)s, location = %(location)s,
                       installed_on = %(installed_on)s, warranty_ends_on = %(warranty_ends_on)s
                 where id = %(id)s
                """,
                values,
            )
            await telemetry_store.provision_device(
                conn, asset_id=asset_id, site_id=site.code, model=values["model"], expected_interval_s=interval
            )
    except errors.UniqueViolation:
        raise Conflict(f"an asset {values['model']} with serial {values['serial']!r} already exists") from None
    except errors.CheckViolation as exc:
        if exc.diag.constraint_name == "assets_warranty_after_install":
            raise Unprocessable("warranty_ends_on is before installed_on") from None
        raise
    return await get_asset(conn, asset_id=asset_id)
