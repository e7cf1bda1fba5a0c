"""What devices post: readings, check-ins, delivery confirmations; pushes back to devices."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus import publish
from comms.db.base import utcnow
from telephony.apn.device_schemas import CheckinIn, DeliveryIn, PushIn, ReadingIn
from telephony.apn.events import CheckinRecorded, DeliveryConfirmed, DevicePush, ReadingRecorded
from telephony.apn.models import DataKind, DeviceData


def _when(at: datetime | None) -> datetime:
    if at is None:
        return utcnow()
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


async def record_reading(
    session: AsyncSession, device_id: uuid.UUID, body: ReadingIn
) -> DeviceData:
    row = DeviceData(
        id=uuid.uuid4(),
        device_id=device_id,
        kind=DataKind.READING,
        at=_when(body.at),
        payload={"values": body.values},
    )
    session.add(row)
    publish(
        session,
        ReadingRecorded.topic,
        ReadingRecorded(data_id=row.id, device_id=device_id, at=row.at, values=body.values),
    )
    await session.commit()
    return row


async def record_checkin(
    session: AsyncSession, device_id: uuid.UUID, body: CheckinIn
) -> DeviceData:
    row = DeviceData(
        id=uuid.uuid4(),
        device_id=device_id,
        kind=DataKind.CHECKIN,
        at=_when(body.at),
        latitude=body.latitude,
        longitude=body.longitude,
        payload={"accuracy_m": body.accuracy_m, "note": body.note},
    )
    session.add(row)
    publish(
        session,
        CheckinRecorded.topic,
        CheckinRecorded(
            data_id=row.id,
            device_id=device_id,
            at=row.at,
            latitude=body.latitude,
            longitude=body.longitude,
            note=body.note,
        ),
    )
    await session.commit()
    return row


async def confirm_delivery(
    session: AsyncSession, device_id: uuid.UUID, body: DeliveryIn
) -> DeviceData:
    """Record it and tell the bus; ERP (a later issue) moves the order to delivered."""
    row = DeviceData(
        id=uuid.uuid4(),
        device_id=device_id,
        kind=DataKind.DELIVERY,
        at=_when(body.at),
        latitude=body.latitude,
        longitude=body.longitude,
        payload={
            "order_number": body.order_number,
            "recipient": body.recipient,
            "note": body.note,
        },
    )
    session.add(row)
    publish(
        session,
        DeliveryConfirmed.topic,
        DeliveryConfirmed(
            data_id=row.id,
            device_id=device_id,
            order_number=body.order_number,
            at=row.at,
            latitude=body.latitude,
            longitude=body.longitude,
            recipient=body.recipient,
        ),
    )
    await session.commit()
    return row


async def list_data(
    session: AsyncSession, device_id: uuid.UUID, kind: DataKind | None = None, limit: int = 100
) -> list[DeviceData]:
    q = (
        select(DeviceData)
        .where(DeviceData.device_id == device_id)
        .order_by(DeviceData.at.desc(), DeviceData.id)
        .limit(limit)
    )
    if kind is not None:
        q = q.where(DeviceData.kind == kind)
    return list(await session.scalars(q))


async def push(session: AsyncSession, device_id: uuid.UUID, body: PushIn) -> None:
    """Queue a message for the device's WebSocket; delivered after commit, at least once."""
    publish(
        session, DevicePush.topic, DevicePush(device_id=device_id, kind=body.kind, body=body.body)
    )
    await session.commit()
