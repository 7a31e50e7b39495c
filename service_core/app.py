"""The HTTP application: API, OpenAPI docs at /docs, the fleet-health page at /."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.templating import Jinja2Templates
from fastapi_offline import FastAPIOffline
from psycopg_pool import AsyncConnectionPool

from service_core.customers.views import router as customers_router
from service_core.db import create_pool
from service_core.dispatch.views import router as dispatch_router
from service_core.engineers.views import router as engineers_router
from service_core.errors import install_handlers
from service_core.fieldwork.views import router as fieldwork_router
from service_core.fleet.views import router as fleet_router
from service_core.health import MetricsSource
from service_core.health import router as health_router
from service_core.intake.public import router as intake_public_router
from service_core.intake.views import router as intake_router
from service_core.knowledge.views import router as knowledge_router
from service_core.kpis.views import router as kpis_router
from service_core.parts.views import router as parts_router
from service_core.plans.views import router as plans_router
from service_core.sla.views import router as sla_router
from service_core.surveys.public import router as surveys_public_router
from service_core.surveys.views import router as surveys_router
from service_core.workorders.views import router as workorders_router

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def create_app(
    *, database_url: str, pool: AsyncConnectionPool | None = None, metrics: Sequence[MetricsSource] = ()
) -> FastAPI:
    """The service; it opens and closes its own pool unless one is given (then the caller owns it). ``metrics``
    add to what /metrics shows, e.g. the gateway's when it runs in the same process."""
    own_pool = pool is None
    pool = pool if pool is not None else create_pool(database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if own_pool:
            await pool.open(wait=True)
        try:
            yield
        finally:
            if own_pool:
                await pool.close()

    # docs assets served from the package, not a CDN: /docs must work on a site with no internet access
    app = FastAPIOffline(
        title="fleetcare service",
        summary="Assets, engineers, preventive and corrective work orders, dispatch and fleet health.",
        lifespan=lifespan,
    )
    app.state.pool = pool
    app.state.metrics = list(metrics)
    templates = Jinja2Templates(directory=TEMPLATES)
    templates.env.filters["utc"] = _utc
    app.state.templates = templates
    install_handlers(app)

    for router in (health_router, fleet_router, customers_router, engineers_router, workorders_router, dispatch_router,
                   knowledge_router, kpis_router, intake_router, intake_public_router, sla_router,
                   fieldwork_router, surveys_router, surveys_public_router, parts_router,
                   plans_router):
        app.include_router(router)
    return app
