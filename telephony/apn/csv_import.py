"""Bulk device import from CSV: valid rows are created, every bad row is reported by number."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.audit import service as audit
from comms.auth.principal import Principal
from comms.errors import InvalidInput
from telephony.apn.crypto import DEVICE_PASSWORD, SecretBox
from telephony.apn.models import Apn, Device
from telephony.apn.schemas import DeviceIn, ImportResult, RowError
from telephony.apn.service import note_change

COLUMNS = (
    "name",
    "imsi",
    "msisdn",
    "imei",
    "username",
    "password",
    "owner_name",
    "static_address",
    "enabled",
    "apn",
)
MAX_ROWS = 50_000
_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off"}


def _row_to_input(
    row: dict[str, str], apns: dict[str, uuid.UUID], default_apn: uuid.UUID | None
) -> DeviceIn:
    values: dict[str, Any] = {k: v.strip() for k, v in row.items() if k in COLUMNS and v}
    apn_name = values.pop("apn", None)
    if apn_name is not None:
        if apn_name.lower() not in apns:
            raise _RowProblem("apn", f"no APN named {apn_name!r}")
        values["apn_id"] = apns[apn_name.lower()]
    elif default_apn is not None:
        values["apn_id"] = default_apn
    else:
        raise _RowProblem("apn", "no apn column value and no apn_id given")
    enabled = values.pop("enabled", None)
    if enabled is not None:
        if enabled.lower() not in _TRUE | _FALSE:
            raise _RowProblem("enabled", "enabled must be true or false")
        values["enabled"] = enabled.lower() in _TRUE
    return DeviceIn.model_validate(values)


class _RowProblem(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


async def import_devices(
    session: AsyncSession,
    box: SecretBox,
    actor: Principal,
    text: str,
    *,
    default_apn: uuid.UUID | None = None,
    dry_run: bool = False,
) -> ImportResult:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))  # Excel writes a BOM
    header = [h.strip() for h in reader.fieldnames or []]
    unknown = [h for h in header if h not in COLUMNS]
    if "name" not in header or unknown:
        raise InvalidInput(
            f"CSV header must name columns from {', '.join(COLUMNS)} (with name); "
            f"unknown: {', '.join(unknown) or 'none'}",
            field="header",
        )
    reader.fieldnames = header
    apns = {a.name: a.id for a in await session.scalars(select(Apn))}
    if default_apn is not None and default_apn not in apns.values():
        raise InvalidInput("no such APN", field="apn_id")
    taken = await _taken(session)
    errors: list[RowError] = []
    new: list[Device] = []
    for n, row in enumerate(reader, start=1):
        if n > MAX_ROWS:
            raise InvalidInput(f"at most {MAX_ROWS} rows per import", field="body")
        try:
            data = _row_to_input(row, apns, default_apn)
            _claim(taken, data)
        except _RowProblem as p:
            errors.append(RowError(row=n, field=p.field, message=p.message))
            continue
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(x) for x in first["loc"]) or None
            errors.append(RowError(row=n, field=loc, message=first["msg"]))
            continue
        device = Device(tenant_id=actor.tenant_id, **data.model_dump(exclude={"password"}))
        device.id = uuid.uuid4()
        if data.password:
            device.password_enc = box.seal(data.password, DEVICE_PASSWORD)
        new.append(device)
    if dry_run:
        return ImportResult(created=0, errors=errors)
    session.add_all(new)
    # One change entry per APN: the RADIUS server reloads that APN's devices in one query.
    for apn_id in {d.apn_id for d in new}:
        note_change(session, "apn", apn_id)
    audit.record(
        session,
        actor,
        "apn.device.import",
        "apn_device",
        None,
        {"created": len(new), "errors": len(errors)},
    )
    await session.commit()
    return ImportResult(created=len(new), errors=errors)


async def _taken(session: AsyncSession) -> dict[str, set[Any]]:
    rows = await session.execute(
        select(Device.imsi, Device.msisdn, Device.username, Device.apn_id, Device.static_address)
    )
    taken: dict[str, set[Any]] = {
        "imsi": set(),
        "msisdn": set(),
        "username": set(),
        "static": set(),
    }
    for imsi, msisdn, username, apn_id, static in rows:
        for key, value in (("imsi", imsi), ("msisdn", msisdn), ("username", username)):
            if value:
                taken[key].add(value)
        if static:
            taken["static"].add((apn_id, static))
    return taken


def _claim(taken: dict[str, set[Any]], data: DeviceIn) -> None:
    """Refuse a row clashing with the registry or an earlier row; else reserve its values."""
    for key in ("imsi", "msisdn", "username"):
        value = getattr(data, key)
        if value and value in taken[key]:
            raise _RowProblem(key, f"another device already has this {key}")
    static = (data.apn_id, data.static_address)
    if data.static_address and static in taken["static"]:
        raise _RowProblem("static_address", "another device already has this static_address")
    for key in ("imsi", "msisdn", "username"):
        if getattr(data, key):
            taken[key].add(getattr(data, key))
    if data.static_address:
        taken["static"].add(static)
