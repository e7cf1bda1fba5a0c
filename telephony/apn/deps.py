"""Route dependencies of the APN slice: the secret box, the calling device."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from comms.db.tenancy import scoped_to
from comms.deps import HubDep
from comms.errors import Unauthenticated
from comms.hub import Hub
from telephony.apn import devices, sessions
from telephony.apn.crypto import SecretBox
from telephony.apn.models import Apn

_BOX_KEY = "apn.secret_box"
_device_bearer = HTTPBearer(auto_error=False, description="A device token (hd_...)")


def secret_box(hub: Hub) -> SecretBox:
    box = hub.services.get(_BOX_KEY)
    if not isinstance(box, SecretBox):
        box = hub.services[_BOX_KEY] = SecretBox(hub.settings.ensure_secret_key())
    return box


def get_box(hub: HubDep) -> SecretBox:
    return secret_box(hub)


BoxDep = Annotated[SecretBox, Depends(get_box)]


@dataclass(frozen=True)
class CallingDevice:
    id: uuid.UUID
    tenant_id: uuid.UUID
    apn_id: uuid.UUID


class DeviceRefused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


async def device_for_token(hub: Hub, token: str, client_host: str | None) -> CallingDevice:
    """The device a token belongs to, checked against its APN session address when the APN
    enforces it; DeviceRefused(401/403) otherwise. Shared by HTTP routes and /ws/device."""
    async with hub.db.session() as s:
        try:
            device = await devices.authenticate_device(s, token)
        except Unauthenticated as exc:
            raise DeviceRefused(401, exc.message) from None
        scoped_to(s, device.tenant_id)
        apn = await s.get(Apn, device.apn_id)
        if apn is not None and apn.enforce_source_address:
            live = await sessions.current_session(s, device.id)
            if live is None or live.address is None or live.address != client_host:
                raise DeviceRefused(
                    403, "this APN accepts requests only from the device's current session address"
                )
        return CallingDevice(device.id, device.tenant_id, device.apn_id)


async def get_calling_device(
    hub: HubDep,
    request: Request,
    cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_device_bearer)],
) -> CallingDevice:
    if cred is None or cred.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing device token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # Behind a reverse proxy, run uvicorn with --proxy-headers so this is the device's address.
    host = request.client.host if request.client else None
    try:
        return await device_for_token(hub, cred.credentials, host)
    except DeviceRefused as exc:
        headers = {"WWW-Authenticate": "Bearer"} if exc.code == 401 else None
        raise HTTPException(exc.code, exc.message, headers=headers) from None


DeviceDep = Annotated[CallingDevice, Depends(get_calling_device)]
