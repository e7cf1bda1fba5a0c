"""`/ws/console`: an agent's or supervisor's live feed, authenticated by their console JWT.

The token comes as `?token=` or, to keep it out of access logs, as the first message
`{"token": "<jwt>"}` within AUTH_TIMEOUT seconds. A bad token closes with 4401, an API key
(no person behind it) with 4403; the socket closes with 4401 when the token expires. Then the
server sends `{"type": "hello", ...}` and every push for this user, their supervisors'
audience and their tenant (docs/console.md lists them). A `{"type": "ping"}` gets
`{"type": "pong"}`. A reader that falls behind is closed with 4408
and should reconnect and re-read its state; so should one told `{"type": "resync"}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import jwt
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from comms.auth import service as auth
from comms.auth.principal import Principal
from comms.errors import Unauthenticated
from comms.hub import Hub
from comms.realtime.fanout import OVERFLOW, Connection

router = APIRouter()
AUTH_TIMEOUT = 10.0
# Close codes in the private range (RFC 6455 §7.4.2), mirroring HTTP 401 / 403 / 408.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_SLOW = 4408


async def _token(ws: WebSocket) -> str:
    token = ws.query_params.get("token", "")
    if token:
        return token
    try:
        first = await asyncio.wait_for(ws.receive_json(), AUTH_TIMEOUT)
    except (TimeoutError, ValueError, KeyError, WebSocketDisconnect):
        return ""
    return str(first.get("token", "")) if isinstance(first, dict) else ""


def _seconds_left(token: str) -> float:
    """Lifetime left of an already verified JWT: the socket closes when the token would."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return max(0.0, float(claims["exp"]) - time.time())


async def _authenticate(ws: WebSocket, hub: Hub) -> tuple[Principal, float] | None:
    await ws.accept()
    token = await _token(ws)
    try:
        async with hub.db.session() as s:
            principal = await auth.authenticate(s, hub.credentials, token)
    except Unauthenticated as exc:
        await ws.close(code=CLOSE_UNAUTHENTICATED, reason=exc.message[:120])
        return None
    if principal.user_id is None:
        await ws.close(code=CLOSE_FORBIDDEN, reason="the console needs a user sign-in")
        return None
    return principal, _seconds_left(token)


@router.websocket("/ws/console")
async def console_socket(ws: WebSocket) -> None:
    hub: Hub = ws.app.state.hub
    found = await _authenticate(ws, hub)
    if found is None:
        return
    who, lifetime = found
    assert who.user_id is not None
    async with hub.realtime.connect(who.tenant_id, who.user_id, who.role) as conn:
        await ws.send_json(
            {
                "type": "hello",
                "tenant_id": str(who.tenant_id),
                "user_id": str(who.user_id),
                "role": who.role.value,
            }
        )
        sender = asyncio.create_task(_send_pushes(ws, conn))
        reader = asyncio.create_task(_read_until_closed(ws))
        expiry = asyncio.create_task(_close_at_expiry(ws, lifetime))
        try:
            await asyncio.wait({sender, reader, expiry}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, reader, expiry):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


async def _close_at_expiry(ws: WebSocket, seconds: float) -> None:
    await asyncio.sleep(seconds)
    await ws.close(code=CLOSE_UNAUTHENTICATED, reason="token expired; sign in again")


async def _send_pushes(ws: WebSocket, conn: Connection) -> None:
    while True:
        text = await conn.queue.get()
        if text is OVERFLOW:
            await ws.close(code=CLOSE_TOO_SLOW, reason="fell behind; reconnect and resync")
            return
        await ws.send_text(text)


async def _read_until_closed(ws: WebSocket) -> None:
    try:
        while True:
            msg: Any = await ws.receive_json()
            if isinstance(msg, dict) and msg.get("type") == "ping":
                await ws.send_json({"type": "pong"})
    except (WebSocketDisconnect, ValueError, RuntimeError):
        return
