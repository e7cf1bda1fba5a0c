"""The device-facing API: devices post data with their own token (`Authorization: Bearer
hd_...`); console users and API keys are not devices and get 401 here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, status
from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.tenancy import scoped_to
from comms.deps import HubDep
from telephony.apn import data
from telephony.apn.deps import DeviceDep
from telephony.apn.device_schemas import CheckinIn, DataOut, DeliveryIn, ReadingIn

router = APIRouter(prefix="/api/v1/device", tags=["device"])


async def _session(hub: HubDep, device: DeviceDep) -> AsyncIterator[AsyncSession]:
    async with hub.db.session() as s:
        scoped_to(s, device.tenant_id)
        yield s


DeviceSessionDep = Annotated[AsyncSession, Depends(_session)]


@router.post("/readings", response_model=DataOut, status_code=status.HTTP_201_CREATED)
async def post_reading(body: ReadingIn, device: DeviceDep, s: DeviceSessionDep) -> object:
    return await data.record_reading(s, device.id, body)


@router.post("/checkins", response_model=DataOut, status_code=status.HTTP_201_CREATED)
async def post_checkin(body: CheckinIn, device: DeviceDep, s: DeviceSessionDep) -> object:
    return await data.record_checkin(s, device.id, body)


@router.post("/deliveries", response_model=DataOut, status_code=status.HTTP_201_CREATED)
async def post_delivery(body: DeliveryIn, device: DeviceDep, s: DeviceSessionDep) -> object:
    """Confirm a delivery; publishes `apn.delivery.confirmed` for ERP to close the order."""
    return await data.confirm_delivery(s, device.id, body)
