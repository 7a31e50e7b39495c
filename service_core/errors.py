"""The service's named errors and the one place they become HTTP responses."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

log = logging.getLogger(__name__)


class FleetcareError(Exception):
    """Root of every error the service raises on purpose; ``status_code`` is its HTTP meaning."""

    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(FleetcareError):
    """The thing named does not exist."""

    status_code = 404


class Conflict(FleetcareError):
    """The request clashes with the current state (a duplicate, an open order, an inactive engineer)."""

    status_code = 409


class InvalidTransition(Conflict):
    """The work-order state machine does not allow this move."""

    def __init__(self, current: str, target: str, allowed: frozenset[str] | set[str] = frozenset()) -> None:
        options = ", ".join(sorted(allowed)) or "none (final state)"
        super().__init__(
            f"cannot move a work order from {current!r} to {target!r}; allowed from {current!r}: {options}"
        )
        self.current = current
        self.target = target


class Unprocessable(FleetcareError):
    """Well-formed but meaningless for the domain."""

    status_code = 422


async def _fleetcare_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FleetcareError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal server error"}, status_code=500)


def install_handlers(app: FastAPI) -> None:
    """Map FleetcareError to its status code; anything else is logged and becomes a 500."""
    app.add_exception_handler(FleetcareError, _fleetcare_error)
    app.add_exception_handler(Exception, _unexpected_error)
