"""Device registry use cases: create, change, list, per-device API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from comms.audit import service as audit
from comms.auth.models import User
from comms.auth.principal import Principal
from comms.db.base import utcnow
from comms.db.tenancy import unscoped
from comms.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from telephony.apn.crypto import DEVICE_PASSWORD, SecretBox
from telephony.apn.models import Apn, Device, Lease
from telephony.apn.schemas import DeviceIn, DeviceUpdate
from telephony.apn.service import note_change

TOKEN_PREFIX = "hd_"  # noqa: S105 - a marker, not a secret
UNIQUE_FIELDS = ("imsi", "msisdn", "username")


async def create_device(
    session: AsyncSession, box: SecretBox, actor: Principal, data: DeviceIn
) -> Device:
    await check_refs(session, data.apn_id, data.owner_user_id)
    fields = data.model_dump(exclude={"password"})
    await _check_unique(session, fields, None)
    device = Device(tenant_id=actor.tenant_id, **fields)
    if data.password:
        device.password_enc = box.seal(data.password, DEVICE_PASSWORD)
    session.add(device)
    await _flush(session)
    note_change(session, "device", device.id)
    audit.record(session, actor, "apn.device.create", "apn_device", device.id, _audit(data))
    await session.commit()
    return device


def _audit(data: DeviceIn | DeviceUpdate) -> dict[str, Any]:
    # "password" is masked by audit.record; the value is never written.
    return data.model_dump(mode="json", exclude_unset=True)


async def check_refs(
    session: AsyncSession, apn_id: uuid.UUID | None, owner_user_id: uuid.UUID | None
) -> None:
    if apn_id is not None and await session.get(Apn, apn_id) is None:
        raise InvalidInput("no such APN", field="apn_id")
    if owner_user_id is not None and await session.get(User, owner_user_id) is None:
        raise InvalidInput("no such user", field="owner_user_id")


async def _check_unique(
    session: AsyncSession, fields: dict[str, Any], device_id: uuid.UUID | None
) -> None:
    """Name the field a clash is on (the unique constraints would only say 'conflict')."""
    conds = [getattr(Device, f) == fields[f] for f in UNIQUE_FIELDS if fields.get(f)]
    if fields.get("static_address") and fields.get("apn_id"):
        conds.append(
            (Device.static_address == fields["static_address"])
            & (Device.apn_id == fields["apn_id"])
        )
    if not conds:
        return
    q = select(Device).where(or_(*conds))
    if device_id is not None:
        q = q.where(Device.id != device_id)
    for other in await session.scalars(q.limit(5)):
        for f in (*UNIQUE_FIELDS, "static_address"):
            if fields.get(f) and getattr(other, f) == fields[f]:
                raise Conflict(f"another device already has this {f}", field=f)


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict("another device has the same identity or address") from None


async def list_devices(
    session: AsyncSession,
    *,
    apn_id: uuid.UUID | None = None,
    enabled: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Device]:
    q = select(Device).order_by(Device.name, Device.id).limit(limit).offset(offset)
    if apn_id is not None:
        q = q.where(Device.apn_id == apn_id)
    if enabled is not None:
        q = q.where(Device.enabled == enabled)
    return list(await session.scalars(q))


async def get_device(session: AsyncSession, device_id: uuid.UUID) -> Device:
    device = await session.get(Device, device_id)
    if device is None:
        raise NotFound("device not found")
    return device


async def update_device(
    session: AsyncSession,
    box: SecretBox,
    actor: Principal,
    device_id: uuid.UUID,
    data: DeviceUpdate,
) -> Device:
    device = await get_device(session, device_id)
    changes = data.model_dump(exclude_unset=True)
    for required in ("apn_id", "name", "enabled"):
        if required in changes and changes[required] is None:
            raise InvalidInput(f"{required} cannot be null", field=required)
    await check_refs(session, changes.get("apn_id"), changes.get("owner_user_id"))
    merged = {f: getattr(device, f) for f in (*UNIQUE_FIELDS, "static_address", "apn_id")}
    merged.update({k: v for k, v in changes.items() if k in merged})
    if not (merged["imsi"] or merged["msisdn"] or merged["username"]):
        raise InvalidInput("a device needs an imsi, an msisdn or a username", field="imsi")
    await _check_unique(session, merged, device.id)
    if changes.get("apn_id") not in (None, device.apn_id):
        # A pool address belongs to the old APN's pool: the device attaches afresh.
        await session.execute(delete(Lease).where(Lease.device_id == device.id))
    password = changes.pop("password", ...)
    if password is not ...:
        device.password_enc = box.seal(password, DEVICE_PASSWORD) if password else None
    for key, value in changes.items():
        setattr(device, key, "" if key == "owner_name" and value is None else value)
    await _flush(session)
    note_change(session, "device", device.id)
    audit.record(session, actor, "apn.device.update", "apn_device", device.id, _audit(data))
    await session.commit()
    return device


# ------------------------------------------------------------------ device tokens


def _digest(token: str) -> str:
    # 256 random bits: a plain SHA-256 is as strong as a slow hash and keeps checks cheap.
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(
    session: AsyncSession, actor: Principal, device_id: uuid.UUID
) -> tuple[Device, str]:
    """A new token for the device (any previous one stops working); returned once."""
    device = await get_device(session, device_id)
    prefix = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    device.token_prefix = prefix
    device.token_hash = _digest(token)
    device.token_issued_at = utcnow()
    audit.record(session, actor, "apn.device.token_issue", "apn_device", device.id, {})
    await session.commit()
    return device, token


async def revoke_token(session: AsyncSession, actor: Principal, device_id: uuid.UUID) -> Device:
    device = await get_device(session, device_id)
    if device.token_hash is not None:
        device.token_prefix = None
        device.token_hash = None
        device.token_issued_at = None
        audit.record(session, actor, "apn.device.token_revoke", "apn_device", device.id, {})
        await session.commit()
    return device


async def authenticate_device(session: AsyncSession, token: str) -> Device:
    """The enabled device a bearer token belongs to, or Unauthenticated."""
    unscoped(session)  # the token names the device, and through it the tenant
    prefix, sep, rest = token.removeprefix(TOKEN_PREFIX).partition("_")
    if not token.startswith(TOKEN_PREFIX) or not sep or not rest or len(prefix) != 12:
        raise Unauthenticated("invalid device token")
    device = await session.scalar(select(Device).where(Device.token_prefix == prefix))
    if (
        device is None
        or device.token_hash is None
        or not hmac.compare_digest(device.token_hash, _digest(token))
        or not device.enabled
    ):
        raise Unauthenticated("invalid or revoked device token")
    return device
