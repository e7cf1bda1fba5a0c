"""Liveness and readiness: /readyz names the dependency that is down."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from kombu.connection import Connection
from sqlalchemy import text

from comms.deps import HubDep
from comms.hub import Hub

router = APIRouter(tags=["health"])
TIMEOUT = 3.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _database(hub: Hub) -> None:
    async with hub.db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def _broker(url: str) -> None:
    with Connection(url, connect_timeout=TIMEOUT) as conn:  # type: ignore[no-untyped-call]
        conn.ensure_connection(max_retries=1, timeout=TIMEOUT)


async def check(hub: Hub) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(_database(hub), TIMEOUT)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if hub.settings.embedded_broker:
        checks["broker"] = "ok (embedded)"
    else:
        try:
            await asyncio.wait_for(asyncio.to_thread(_broker, hub.settings.broker_url), TIMEOUT * 2)
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"unreachable: {type(exc).__name__}"
    return checks


@router.get("/readyz")
async def readyz(hub: HubDep) -> JSONResponse:
    checks = await check(hub)
    failed = [name for name, state in checks.items() if not state.startswith("ok")]
    body = {"status": "ready" if not failed else "unavailable", "checks": checks}
    if failed:
        body["detail"] = f"not ready: {', '.join(failed)} unreachable"
    return JSONResponse(body, status_code=503 if failed else 200)
