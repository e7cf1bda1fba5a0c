"""APN routes for the console and integrations: APNs, NAS clients, devices, sessions."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Request, Response, status

from comms.deps import AdminDep, SessionDep, SupervisorDep, ViewerDep
from comms.errors import InvalidInput
from telephony.apn import csv_import, data, devices, service, sessions
from telephony.apn.deps import BoxDep
from telephony.apn.device_schemas import DataOut, PushIn
from telephony.apn.models import DataKind
from telephony.apn.schemas import (
    ApnIn,
    ApnOut,
    ApnUpdate,
    DeviceIn,
    DeviceOut,
    DeviceTokenOut,
    DeviceUpdate,
    ImportResult,
    NasIn,
    NasOut,
    NasUpdate,
    SessionOut,
)

router = APIRouter(prefix="/api/v1/apn", tags=["apn"])

# ------------------------------------------------------------------ APNs and NAS clients


@router.get("/apns", response_model=list[ApnOut])
async def list_apns(actor: ViewerDep, s: SessionDep) -> object:
    return await service.list_apns(s)


@router.post("/apns", response_model=ApnOut, status_code=status.HTTP_201_CREATED)
async def create_apn(body: ApnIn, actor: AdminDep, s: SessionDep) -> object:
    return await service.create_apn(s, actor, body)


@router.get("/apns/{apn_id}", response_model=ApnOut)
async def get_apn(apn_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> object:
    return await service.get_apn(s, apn_id)


@router.patch("/apns/{apn_id}", response_model=ApnOut)
async def update_apn(apn_id: uuid.UUID, body: ApnUpdate, actor: AdminDep, s: SessionDep) -> object:
    return await service.update_apn(s, actor, apn_id, body)


@router.get("/apns/{apn_id}/nas", response_model=list[NasOut])
async def list_nas(apn_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> object:
    return await service.list_nas(s, apn_id)


@router.post("/apns/{apn_id}/nas", response_model=NasOut, status_code=status.HTTP_201_CREATED)
async def add_nas(
    apn_id: uuid.UUID, body: NasIn, actor: AdminDep, s: SessionDep, box: BoxDep
) -> object:
    """Allow a gateway to ask; its shared secret is stored encrypted and never shown again."""
    return await service.add_nas(s, box, actor, apn_id, body)


@router.patch("/apns/{apn_id}/nas/{nas_id}", response_model=NasOut)
async def update_nas(
    apn_id: uuid.UUID,
    nas_id: uuid.UUID,
    body: NasUpdate,
    actor: AdminDep,
    s: SessionDep,
    box: BoxDep,
) -> object:
    return await service.update_nas(s, box, actor, apn_id, nas_id, body)


@router.delete("/apns/{apn_id}/nas/{nas_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_nas(apn_id: uuid.UUID, nas_id: uuid.UUID, actor: AdminDep, s: SessionDep) -> None:
    await service.delete_nas(s, actor, apn_id, nas_id)


# ------------------------------------------------------------------ devices


@router.get("/devices", response_model=list[DeviceOut])
async def list_devices(
    actor: ViewerDep,
    s: SessionDep,
    apn_id: uuid.UUID | None = None,
    enabled: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> object:
    return await devices.list_devices(s, apn_id=apn_id, enabled=enabled, limit=limit, offset=offset)


@router.post("/devices", response_model=DeviceOut, status_code=status.HTTP_201_CREATED)
async def create_device(body: DeviceIn, actor: AdminDep, s: SessionDep, box: BoxDep) -> object:
    return await devices.create_device(s, box, actor, body)


@router.post(
    "/devices/import",
    response_model=ImportResult,
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_devices(
    request: Request,
    actor: AdminDep,
    s: SessionDep,
    box: BoxDep,
    apn_id: uuid.UUID | None = None,
    dry_run: bool = False,
) -> object:
    """Create devices from a CSV body (columns: csv_import.COLUMNS; `apn` by name or the
    `apn_id` query parameter); bad rows are listed with their row number and field."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV must be UTF-8", field="body") from None
    return await csv_import.import_devices(s, box, actor, text, default_apn=apn_id, dry_run=dry_run)


@router.get("/devices/{device_id}", response_model=DeviceOut)
async def get_device(device_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> object:
    return await devices.get_device(s, device_id)


@router.patch("/devices/{device_id}", response_model=DeviceOut)
async def update_device(
    device_id: uuid.UUID, body: DeviceUpdate, actor: AdminDep, s: SessionDep, box: BoxDep
) -> object:
    return await devices.update_device(s, box, actor, device_id, body)


@router.post(
    "/devices/{device_id}/token",
    response_model=DeviceTokenOut,
    status_code=status.HTTP_201_CREATED,
)
async def issue_token(device_id: uuid.UUID, actor: AdminDep, s: SessionDep) -> object:
    """A new API token for the device, shown once; the previous one stops working."""
    device, token = await devices.issue_token(s, actor, device_id)
    return DeviceTokenOut(device_id=device.id, token=token)


@router.delete("/devices/{device_id}/token", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(device_id: uuid.UUID, actor: AdminDep, s: SessionDep) -> Response:
    await devices.revoke_token(s, actor, device_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/devices/{device_id}/data", response_model=list[DataOut])
async def list_device_data(
    device_id: uuid.UUID,
    actor: ViewerDep,
    s: SessionDep,
    kind: DataKind | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> object:
    await devices.get_device(s, device_id)
    return await data.list_data(s, device_id, kind, limit)


@router.post("/devices/{device_id}/push", status_code=status.HTTP_202_ACCEPTED)
async def push_to_device(
    device_id: uuid.UUID, body: Annotated[PushIn, Body()], actor: SupervisorDep, s: SessionDep
) -> dict[str, str]:
    """Send a message to the device's WebSocket (`/ws/device`) through the bus."""
    await devices.get_device(s, device_id)
    await data.push(s, device_id, body)
    return {"status": "queued"}


# ------------------------------------------------------------------ sessions


@router.get("/sessions", response_model=list[SessionOut])
async def list_sessions(
    actor: ViewerDep,
    s: SessionDep,
    state: Literal["online", "stopped", "all"] = "online",
    apn_id: uuid.UUID | None = None,
    device_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> object:
    """Who is online (default), since when, and their traffic so far."""
    online = {"online": True, "stopped": False, "all": None}[state]
    rows = await sessions.list_sessions(
        s, online=online, apn_id=apn_id, device_id=device_id, limit=limit
    )
    return [
        SessionOut.model_validate(row, from_attributes=True).model_copy(
            update={"device_name": name}
        )
        for row, name in rows
    ]
