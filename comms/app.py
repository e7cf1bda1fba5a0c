"""The FastAPI app factory: assembled from the hub's modules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from comms import health
from comms.bus.topics import PayloadError, UnknownTopicError
from comms.db.tenancy import TenantScopeError
from comms.errors import (
    Conflict,
    HuitongError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from comms.hub import Hub
from comms.settings import Settings

_STATUS: list[tuple[type[Exception], int]] = [
    (NotFound, 404),
    (Conflict, 409),
    (InvalidInput, 422),
    (PermissionDenied, 403),
    (Unauthenticated, 401),
    (UnknownTopicError, 422),
    (PayloadError, 422),
]


def _error_body(exc: Exception) -> dict[str, object]:
    if isinstance(exc, HuitongError):
        body: dict[str, object] = {"detail": exc.message}
        if exc.field:
            body["field"] = exc.field
        return body
    return {"detail": str(exc)}


def create_app(
    settings: Settings | None = None, *, hub: Hub | None = None, start_services: bool = True
) -> FastAPI:
    hub = hub or Hub(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start_services:
            await hub.start()
        try:
            yield
        finally:
            await hub.stop()

    app = FastAPI(
        title="Huitong",
        summary="Communications hub: telephony, SMS, email, call centre, CRM and ERP notices",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.hub = hub
    app.include_router(health.router)
    for module in hub.modules:
        for router in module.routers:
            app.include_router(router)

    for exc_type, status_code in _STATUS:

        def handler(_: Request, exc: Exception, code: int = status_code) -> JSONResponse:
            headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
            return JSONResponse(_error_body(exc), status_code=code, headers=headers)

        app.add_exception_handler(exc_type, handler)

    def scope_handler(_: Request, exc: Exception) -> JSONResponse:
        # A cross-tenant write attempt reaching the data layer: answer as if it did not exist.
        return JSONResponse({"detail": "not found"}, status_code=404)

    app.add_exception_handler(TenantScopeError, scope_handler)
    return app
