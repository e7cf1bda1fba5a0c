"""Accounting-Requests (RFC 2866) to device sessions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from pyrad.packet import AcctPacket
from sqlalchemy.exc import IntegrityError

from comms.db.base import utcnow
from comms.db.engine import Database
from comms.db.tenancy import scoped_to
from telephony.apn import sessions
from telephony.apn.radius.auth import identity_of
from telephony.apn.radius.dictionary import TERMINATE_CAUSES
from telephony.apn.radius.directory import Directory, NasEntry
from telephony.apn.sessions import AcctRecord, AcctStatus


@dataclass(frozen=True)
class Parsed:
    """An Accounting-Request read off the wire: a record for a known device, a NAS-wide
    on/off, or something to acknowledge and ignore (an unknown device, Failed, ...)."""

    record: AcctRecord | None
    nas_reset: str | None = None  # Accounting-On/Off
    lock_key: str = ""


def _int(pkt: AcctPacket, key: str) -> int:
    values = pkt.get(key)
    return int(values[0]) if values else 0


def _octets(pkt: AcctPacket, direction: str) -> int:
    # 32-bit counters wrap at 4 GiB; Acct-*-Gigawords (RFC 2869 §5.1) counts the wraps.
    return _int(pkt, f"Acct-{direction}-Octets") + (_int(pkt, f"Acct-{direction}-Gigawords") << 32)


def parse(directory: Directory, nas: NasEntry, pkt: AcctPacket) -> Parsed:
    status = _int(pkt, "Acct-Status-Type")
    if status in (AcctStatus.ACCOUNTING_ON, AcctStatus.ACCOUNTING_OFF):
        cause = "NAS-Reboot" if status == AcctStatus.ACCOUNTING_ON else "NAS-Request"
        return Parsed(None, nas_reset=cause, lock_key="*")
    if status not in (AcctStatus.START, AcctStatus.STOP, AcctStatus.INTERIM):
        return Parsed(None)
    ident = identity_of(pkt)
    device = directory.find_device(
        nas.tenant_id, imsi=ident.imsi, calling=ident.calling, user=ident.user
    )
    session_ids = pkt.get("Acct-Session-Id")
    if device is None or not session_ids:
        return Parsed(None)
    # Acct-Delay-Time: how long the NAS has been trying to send this (RFC 2866 §5.2).
    at = utcnow() - timedelta(seconds=_int(pkt, "Acct-Delay-Time"))
    framed = pkt.get("Framed-IP-Address")
    acct_id = str(session_ids[0])[:64]
    rec = AcctRecord(
        status=AcctStatus(status),
        nas_address=nas.address,
        acct_session_id=acct_id,
        device_id=device.id,
        apn_id=device.apn_id,
        at=at,
        address=str(framed[0]) if framed else None,
        bytes_in=_octets(pkt, "Input"),
        bytes_out=_octets(pkt, "Output"),
        session_time=_int(pkt, "Acct-Session-Time") if "Acct-Session-Time" in pkt else None,
        stop_cause=TERMINATE_CAUSES.get(_int(pkt, "Acct-Terminate-Cause"), ""),
    )
    return Parsed(rec, lock_key=acct_id)


async def apply(db: Database, nas: NasEntry, parsed: Parsed) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Record it in one transaction; returns the (apn, device) leases that were released."""
    if parsed.record is None and parsed.nas_reset is None:
        return []
    for attempt in range(2):
        try:
            async with db.session() as s:
                scoped_to(s, nas.tenant_id)
                if parsed.record is not None:
                    out = await sessions.record(s, parsed.record)
                else:
                    assert parsed.nas_reset is not None
                    out = await sessions.stop_all_of_nas(s, nas.address, utcnow(), parsed.nas_reset)
                await s.commit()
                return out.released
        except IntegrityError:
            # Another server recorded the same Acct-Session-Id first: read it and go on.
            if attempt:
                raise
    return []
