"""Device sessions from RADIUS accounting (RFC 2866): start, interim, stop; who is online."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus import publish
from telephony.apn import state
from telephony.apn.events import SessionStarted, SessionStopped
from telephony.apn.models import Device, DeviceSession, Lease, SessionState

S = SessionState


class AcctStatus(enum.IntEnum):
    """Acct-Status-Type values (RFC 2866 §5.1)."""

    START = 1
    STOP = 2
    INTERIM = 3
    ACCOUNTING_ON = 7  # the NAS (re)started: every session it had is gone
    ACCOUNTING_OFF = 8  # the NAS is going down: same


@dataclass(frozen=True)
class AcctRecord:
    """One Accounting-Request, already tied to a device by the RADIUS server."""

    status: AcctStatus
    nas_address: str
    acct_session_id: str
    device_id: uuid.UUID
    apn_id: uuid.UUID
    at: datetime
    address: str | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    session_time: int | None = None
    stop_cause: str = ""


@dataclass
class AcctOutcome:
    """What changed, for the caller's in-process caches (after its commit)."""

    session: DeviceSession | None = None
    released: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)  # (apn, device)


async def _find(session: AsyncSession, nas: str, acct_id: str) -> DeviceSession | None:
    q = select(DeviceSession).where(
        DeviceSession.nas_address == nas, DeviceSession.acct_session_id == acct_id
    )
    return await session.scalar(q)


def _counters(row: DeviceSession, rec: AcctRecord) -> None:
    # Counters only grow within a session; a smaller value is a reordered older packet.
    row.bytes_in = max(row.bytes_in, rec.bytes_in)
    row.bytes_out = max(row.bytes_out, rec.bytes_out)
    if rec.session_time is not None:
        row.session_time = max(row.session_time, rec.session_time)
    if rec.address:
        row.address = rec.address


def _new(rec: AcctRecord, st: SessionState) -> DeviceSession:
    started = rec.at - timedelta(seconds=rec.session_time or 0)
    row = DeviceSession(
        id=uuid.uuid4(),
        apn_id=rec.apn_id,
        device_id=rec.device_id,
        nas_address=rec.nas_address,
        acct_session_id=rec.acct_session_id,
        state=st,
        started_at=started,
        updated_at=rec.at,
        bytes_in=0,
        bytes_out=0,
        session_time=0,
        stop_cause="",
    )
    _counters(row, rec)
    return row


def _started_event(row: DeviceSession) -> SessionStarted:
    return SessionStarted(
        session_id=row.id,
        device_id=row.device_id,
        apn_id=row.apn_id,
        address=row.address,
        started_at=row.started_at,
    )


def _stopped_event(row: DeviceSession) -> SessionStopped:
    assert row.stopped_at is not None
    return SessionStopped(
        session_id=row.id,
        device_id=row.device_id,
        apn_id=row.apn_id,
        address=row.address,
        started_at=row.started_at,
        stopped_at=row.stopped_at,
        bytes_in=row.bytes_in,
        bytes_out=row.bytes_out,
        stop_cause=row.stop_cause,
    )


async def record(session: AsyncSession, rec: AcctRecord) -> AcctOutcome:
    """Apply one Start / Interim-Update / Stop in the caller's transaction (scoped to the
    device's tenant). Retransmissions are harmless: the same row is found and kept."""
    out = AcctOutcome()
    row = await _find(session, rec.nas_address, rec.acct_session_id)
    if rec.status is AcctStatus.START:
        if row is None:
            await _supersede(session, rec, out)
            row = _new(rec, S.STARTED)
            session.add(row)
            await session.execute(
                update(Lease).where(Lease.device_id == rec.device_id).values(expires_at=None)
            )
            publish(session, SessionStarted.topic, _started_event(row))
    elif rec.status is AcctStatus.INTERIM:
        if row is None:  # the Start was lost (or came before we ran): adopt the session
            row = _new(rec, S.UPDATING)
            session.add(row)
            publish(session, SessionStarted.topic, _started_event(row))
        elif state.can_move(row.state, S.UPDATING):
            state.move(row, S.UPDATING, rec.at)
            _counters(row, rec)
    elif rec.status is AcctStatus.STOP:
        if row is None:
            row = _new(rec, S.STARTED)
            session.add(row)
        if row.state is not S.STOPPED:
            _counters(row, rec)
            row.stop_cause = rec.stop_cause[:40]
            state.move(row, S.STOPPED, rec.at)
            publish(session, SessionStopped.topic, _stopped_event(row))
            await session.flush()
            await _release(session, row, out)
    out.session = row
    return out


async def _supersede(session: AsyncSession, rec: AcctRecord, out: AcctOutcome) -> None:
    """A new Start while older sessions of the device look open: their Stop was lost."""
    q = select(DeviceSession).where(
        DeviceSession.device_id == rec.device_id, DeviceSession.state != S.STOPPED
    )
    for old in await session.scalars(q):
        old.stop_cause = "Superseded"
        state.move(old, S.STOPPED, rec.at)
        publish(session, SessionStopped.topic, _stopped_event(old))


async def _release(session: AsyncSession, row: DeviceSession, out: AcctOutcome) -> None:
    """Return the pool address at Stop, unless the device already runs a newer session."""
    live = await session.scalar(
        select(DeviceSession.id).where(
            DeviceSession.device_id == row.device_id,
            DeviceSession.state != S.STOPPED,
            DeviceSession.id != row.id,
        )
    )
    if live is None:
        await session.execute(delete(Lease).where(Lease.device_id == row.device_id))
        out.released.append((row.apn_id, row.device_id))


async def stop_all_of_nas(
    session: AsyncSession, nas_address: str, at: datetime, cause: str
) -> AcctOutcome:
    """Accounting-On/Off: the NAS lost every session it had (RFC 2866 §5.1)."""
    out = AcctOutcome()
    q = select(DeviceSession).where(
        DeviceSession.nas_address == nas_address, DeviceSession.state != S.STOPPED
    )
    for row in await session.scalars(q):
        row.stop_cause = cause
        state.move(row, S.STOPPED, at)
        publish(session, SessionStopped.topic, _stopped_event(row), tenant_id=row.tenant_id)
        await session.flush()
        await _release(session, row, out)
    return out


async def current_session(session: AsyncSession, device_id: uuid.UUID) -> DeviceSession | None:
    """The device's live session (the newest if the NAS left older ones open)."""
    q = (
        select(DeviceSession)
        .where(DeviceSession.device_id == device_id, DeviceSession.state != S.STOPPED)
        .order_by(DeviceSession.started_at.desc())
        .limit(1)
    )
    return await session.scalar(q)


async def list_sessions(
    session: AsyncSession,
    *,
    online: bool | None = True,
    apn_id: uuid.UUID | None = None,
    device_id: uuid.UUID | None = None,
    limit: int = 100,
) -> list[tuple[DeviceSession, str]]:
    """Sessions with their device's name, newest first; `online=None` includes stopped ones."""
    q = (
        select(DeviceSession, Device.name)
        .join(Device, Device.id == DeviceSession.device_id)
        .order_by(DeviceSession.started_at.desc(), DeviceSession.id)
        .limit(limit)
    )
    if online is True:
        q = q.where(DeviceSession.state != S.STOPPED)
    elif online is False:
        q = q.where(DeviceSession.state == S.STOPPED)
    if apn_id is not None:
        q = q.where(DeviceSession.apn_id == apn_id)
    if device_id is not None:
        q = q.where(DeviceSession.device_id == device_id)
    return [(row, name) for row, name in (await session.execute(q)).all()]
