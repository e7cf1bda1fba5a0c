"""`/ws/device`: a device's push channel, authenticated by its device token.

The token comes in the `Authorization: Bearer` header or, for clients that cannot set
headers, as the first message `{"token": "hd_..."}` within AUTH_TIMEOUT seconds. Then the
server sends `{"type": "hello"}` and every push as `{"type": "push", "kind", "body"}`; a
`{"type": "ping"}` gets `{"type": "pong"}`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from comms.hub import Hub
from telephony.apn.deps import CallingDevice, DeviceRefused, device_for_token
from telephony.apn.push import Outbox, pushes_of

router = APIRouter()
AUTH_TIMEOUT = 10.0
# Close codes in the private range (RFC 6455 §7.4.2), mirroring HTTP 401 / 403.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


def _header_token(ws: WebSocket) -> str | None:
    scheme, _, token = ws.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _authenticate(ws: WebSocket, hub: Hub) -> CallingDevice | None:
    await ws.accept()
    token = _header_token(ws)
    if token is None:
        try:
            first = await asyncio.wait_for(ws.receive_json(), AUTH_TIMEOUT)
            token = str(first.get("token", "")) if isinstance(first, dict) else ""
        except (TimeoutError, ValueError, KeyError):
            token = ""
    try:
        return await device_for_token(hub, token, ws.client.host if ws.client else None)
    except DeviceRefused as exc:
        code = CLOSE_UNAUTHENTICATED if exc.code == 401 else CLOSE_FORBIDDEN
        await ws.close(code=code, reason=exc.message[:120])
        return None


@router.websocket("/ws/device")
async def device_socket(ws: WebSocket) -> None:
    hub: Hub = ws.app.state.hub
    device = await _authenticate(ws, hub)
    if device is None:
        return
    with pushes_of(hub.services).connect(device.id) as outbox:
        await ws.send_json({"type": "hello", "device_id": str(device.id)})
        sender = asyncio.create_task(_send_pushes(ws, outbox))
        try:
            await _read_until_closed(ws)
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender


async def _send_pushes(ws: WebSocket, outbox: Outbox) -> None:
    while True:
        await ws.send_json(await outbox.get())


async def _read_until_closed(ws: WebSocket) -> None:
    try:
        while True:
            msg: Any = await ws.receive_json()
            if isinstance(msg, dict) and msg.get("type") == "ping":
                await ws.send_json({"type": "pong"})
    except (WebSocketDisconnect, ValueError):
        return
