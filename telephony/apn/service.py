"""APN use cases: APNs and their NAS clients (devices: devices.py, sessions: sessions.py)."""

from __future__ import annotations

import ipaddress
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from comms.audit import service as audit
from comms.auth.principal import Principal
from comms.errors import Conflict, InvalidInput, NotFound
from telephony.apn.crypto import NAS_SECRET, SecretBox
from telephony.apn.models import Apn, ApnChange, Lease, NasClient
from telephony.apn.schemas import ApnIn, ApnUpdate, NasIn, NasUpdate


def note_change(session: AsyncSession, kind: str, entity_id: uuid.UUID) -> None:
    """Tell running RADIUS servers (they poll apn_changes) to reload one entity."""
    session.add(ApnChange(kind=kind, entity_id=entity_id))


# ------------------------------------------------------------------ APNs


async def create_apn(session: AsyncSession, actor: Principal, data: ApnIn) -> Apn:
    apn = Apn(tenant_id=actor.tenant_id, **data.model_dump())
    session.add(apn)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict(f"an APN named {data.name!r} already exists", field="name") from None
    note_change(session, "apn", apn.id)
    audit.record(session, actor, "apn.create", "apn", apn.id, data.model_dump(mode="json"))
    await session.commit()
    return apn


async def list_apns(session: AsyncSession) -> list[Apn]:
    return list(await session.scalars(select(Apn).order_by(Apn.name)))


async def get_apn(session: AsyncSession, apn_id: uuid.UUID) -> Apn:
    apn = await session.get(Apn, apn_id)
    if apn is None:
        raise NotFound("APN not found")
    return apn


async def update_apn(
    session: AsyncSession, actor: Principal, apn_id: uuid.UUID, data: ApnUpdate
) -> Apn:
    apn = await get_apn(session, apn_id)
    changes = data.model_dump(exclude_unset=True)
    if "pool_cidr" in changes and changes["pool_cidr"] != apn.pool_cidr:
        await _check_pool_change(session, apn, changes["pool_cidr"])
    for key, value in changes.items():
        if key == "name" and value is None:
            raise InvalidInput("name cannot be null", field="name")
        if value is not None or key == "pool_cidr":
            setattr(apn, key, value)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict("an APN with this name already exists", field="name") from None
    note_change(session, "apn", apn.id)
    audit.record(session, actor, "apn.update", "apn", apn.id, data.model_dump(mode="json"))
    await session.commit()
    return apn


async def _check_pool_change(session: AsyncSession, apn: Apn, new_cidr: str | None) -> None:
    held = list(await session.scalars(select(Lease.address).where(Lease.apn_id == apn.id)))
    net = ipaddress.IPv4Network(new_cidr) if new_cidr else None
    outside = [a for a in held if net is None or ipaddress.IPv4Address(a) not in net]
    if outside:
        raise Conflict(
            f"{len(outside)} device(s) hold addresses outside the new pool; they must detach first",
            field="pool_cidr",
        )


# ------------------------------------------------------------------ NAS clients


async def add_nas(
    session: AsyncSession, box: SecretBox, actor: Principal, apn_id: uuid.UUID, data: NasIn
) -> NasClient:
    await get_apn(session, apn_id)
    nas = NasClient(
        tenant_id=actor.tenant_id,
        apn_id=apn_id,
        name=data.name,
        address=data.address,
        secret_enc=box.seal(data.secret, NAS_SECRET),
    )
    session.add(nas)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        # Addresses are unique across the hub: a datagram names no tenant.
        raise Conflict("this NAS address is already registered", field="address") from None
    note_change(session, "nas", nas.id)
    audit.record(
        session,
        actor,
        "apn.nas.create",
        "apn_nas",
        nas.id,
        {"apn_id": str(apn_id), "name": nas.name, "address": nas.address, "secret": "set"},
    )
    await session.commit()
    return nas


async def list_nas(session: AsyncSession, apn_id: uuid.UUID) -> list[NasClient]:
    await get_apn(session, apn_id)
    q = select(NasClient).where(NasClient.apn_id == apn_id).order_by(NasClient.address)
    return list(await session.scalars(q))


async def get_nas(session: AsyncSession, apn_id: uuid.UUID, nas_id: uuid.UUID) -> NasClient:
    nas = await session.get(NasClient, nas_id)
    if nas is None or nas.apn_id != apn_id:
        raise NotFound("NAS client not found")
    return nas


async def update_nas(
    session: AsyncSession,
    box: SecretBox,
    actor: Principal,
    apn_id: uuid.UUID,
    nas_id: uuid.UUID,
    data: NasUpdate,
) -> NasClient:
    nas = await get_nas(session, apn_id, nas_id)
    if data.name is not None:
        nas.name = data.name
    if data.secret is not None:
        nas.secret_enc = box.seal(data.secret, NAS_SECRET)
    note_change(session, "nas", nas.id)
    audit.record(
        session, actor, "apn.nas.update", "apn_nas", nas.id, data.model_dump(exclude_unset=True)
    )
    await session.commit()
    return nas


async def delete_nas(
    session: AsyncSession, actor: Principal, apn_id: uuid.UUID, nas_id: uuid.UUID
) -> None:
    nas = await get_nas(session, apn_id, nas_id)
    await session.delete(nas)
    note_change(session, "nas", nas.id)
    audit.record(session, actor, "apn.nas.delete", "apn_nas", nas.id, {"address": nas.address})
    await session.commit()
