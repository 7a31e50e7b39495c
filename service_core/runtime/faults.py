"""Device faults as a gateway processor: each warning or critical fault becomes a service request."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from psycopg_pool import AsyncConnectionPool

from service_core.errors import NotFound
from service_core.intake import device
from service_core.intake import service as intake_service
from telemetry.readings import DeviceFault

log = logging.getLogger(__name__)


class FaultIntake:
    """Open (or join, as a duplicate) a request per actionable fault, each in its own transaction.

    Idempotent: the gateway passes a redelivered fault again, and its external id finds the request it made.
    """

    def __init__(
        self, pool: AsyncConnectionPool, *, on_request: Callable[[intake_service.Intake], None] | None = None
    ) -> None:
        self.requests = 0
        self._pool = pool
        self._on_request = on_request

    async def __call__(self, faults: Sequence[DeviceFault]) -> None:
        for fault in faults:
            if fault.severity not in device.ACTIONABLE:
                continue
            try:
                async with self._pool.connection() as conn, conn.transaction():
                    intake = await intake_service.create(conn, report=device.report_of(fault))
            except NotFound:
                # a device provisioned for telemetry but not (yet) an asset of the service
                log.warning("fault %s of %s: no such asset in the service; kept in telemetry only",
                            fault.code, fault.asset_id)
                continue
            if intake.created:
                self.requests += 1
                if self._on_request:
                    self._on_request(intake)
