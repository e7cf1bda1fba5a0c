"""APN request and response bodies (console and integrations; device bodies: device_schemas)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from telephony.apn import identity
from telephony.apn.models import AuthMode, SessionState

# An APN network identifier (3GPP TS 23.003 §9.1): dot-separated labels of letters, digits
# and hyphens.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_APN_NAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")


def _apn_name(v: str | None) -> str | None:
    if v is not None and not _APN_NAME.match(v):
        raise ValueError("an APN name is dot-separated labels of letters, digits and hyphens")
    return None if v is None else v.lower()


def _opt(fn: Callable[[str], str]) -> Callable[[str | None], str | None]:
    """Wrap an identity parser so that None and "" mean 'not given'."""

    def check(v: str | None) -> str | None:
        if v is None or v.strip() == "":
            return None
        return fn(v)

    return check


class ApnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["iot.acme.cn"])
    auth_mode: AuthMode = AuthMode.NONE
    pool_cidr: str | None = Field(None, examples=["10.64.0.0/16"])
    enforce_source_address: bool = False
    enabled: bool = True

    _name = field_validator("name")(_apn_name)
    _pool = field_validator("pool_cidr")(_opt(identity.pool))


class ApnUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100)
    auth_mode: AuthMode | None = None
    pool_cidr: str | None = None
    enforce_source_address: bool | None = None
    enabled: bool | None = None

    _name = field_validator("name")(_apn_name)
    _pool = field_validator("pool_cidr")(_opt(identity.pool))


class ApnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    auth_mode: AuthMode
    pool_cidr: str | None
    enforce_source_address: bool
    enabled: bool
    created_at: datetime


class NasIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=100)
    address: str = Field(description="source address of the gateway's RADIUS packets")
    secret: str = Field(min_length=8, max_length=128, description="RADIUS shared secret")

    _address = field_validator("address")(identity.ip)


class NasUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=100)
    secret: str | None = Field(None, min_length=8, max_length=128)


class NasOut(BaseModel):
    """A NAS client; its shared secret is write-only."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    apn_id: uuid.UUID
    name: str
    address: str
    created_at: datetime


class _DeviceFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    _imsi = field_validator("imsi", check_fields=False)(_opt(identity.imsi))
    _msisdn = field_validator("msisdn", check_fields=False)(_opt(identity.msisdn))
    _imei = field_validator("imei", check_fields=False)(_opt(identity.imei))
    _static = field_validator("static_address", check_fields=False)(_opt(identity.ipv4))


class DeviceIn(_DeviceFields):
    apn_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    imsi: str | None = None
    msisdn: str | None = Field(None, description="E.164; national (CN) forms are normalised")
    imei: str | None = None
    username: str | None = Field(None, min_length=1, max_length=253)
    password: str | None = Field(None, min_length=1, max_length=128)
    owner_user_id: uuid.UUID | None = Field(
        None, description="a console user; VPMN members come with a later issue"
    )
    owner_name: str = Field("", max_length=200)
    static_address: str | None = Field(None, description="fixed IPv4; else the APN's pool")
    enabled: bool = True

    @model_validator(mode="after")
    def _identified(self) -> DeviceIn:
        if not (self.imsi or self.msisdn or self.username):
            raise ValueError("a device needs an imsi, an msisdn or a username to be found by")
        return self


class DeviceUpdate(_DeviceFields):
    apn_id: uuid.UUID | None = None
    name: str | None = Field(None, min_length=1, max_length=200)
    imsi: str | None = None
    msisdn: str | None = None
    imei: str | None = None
    username: str | None = Field(None, max_length=253)
    password: str | None = Field(None, max_length=128, description="null or empty removes it")
    owner_user_id: uuid.UUID | None = None
    owner_name: str | None = Field(None, max_length=200)
    static_address: str | None = None
    enabled: bool | None = None


class DeviceOut(BaseModel):
    """A device; its password and token are write-only (has_password / has_token say if set)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    apn_id: uuid.UUID
    name: str
    imsi: str | None
    msisdn: str | None
    imei: str | None
    username: str | None
    has_password: bool
    owner_user_id: uuid.UUID | None
    owner_name: str
    static_address: str | None
    enabled: bool
    has_token: bool
    token_issued_at: datetime | None
    created_at: datetime


class DeviceTokenOut(BaseModel):
    device_id: uuid.UUID
    token: str = Field(description="shown once; only a SHA-256 of it is kept")


class RowError(BaseModel):
    row: int = Field(description="1-based data row (the header is row 0)")
    field: str | None
    message: str


class ImportResult(BaseModel):
    created: int
    errors: list[RowError]


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    apn_id: uuid.UUID
    device_id: uuid.UUID
    device_name: str = ""
    nas_address: str
    acct_session_id: str
    address: str | None
    state: SessionState
    started_at: datetime
    updated_at: datetime
    stopped_at: datetime | None
    bytes_in: int
    bytes_out: int
    session_time: int
    stop_cause: str
