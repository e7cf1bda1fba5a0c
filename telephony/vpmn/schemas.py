"""VPMN request and response bodies."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from telephony.vpmn.models import Disposition
from telephony.vpmn.rating import TariffClass
from telephony.vpmn.resolve import Action, RingStrategy, TargetKind, to_e164

_DIGITS = re.compile(r"^[0-9]+$")


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    short_length: int = Field(ge=2, le=8)
    prefixes: list[str] = Field(min_length=1, max_length=10)
    trunk_endpoint: str = Field("PJSIP/{number}@carrier", max_length=200)
    unknown_announcement: str = Field("sound:ss-noservice", max_length=200)

    @field_validator("prefixes")
    @classmethod
    def _digit_prefixes(cls, v: list[str]) -> list[str]:
        for p in v:
            if not _DIGITS.match(p):
                raise ValueError(f"prefix {p!r} must be digits")
        return sorted(set(v))

    @field_validator("trunk_endpoint")
    @classmethod
    def _has_number(cls, v: str) -> str:
        if "{number}" not in v or "/" not in v:
            raise ValueError('trunk_endpoint must look like "PJSIP/{number}@carrier"')
        return v

    @model_validator(mode="after")
    def _prefixes_fit(self) -> PlanIn:
        if any(len(p) >= self.short_length for p in self.prefixes):
            raise ValueError("every prefix must be shorter than short_length")
        return self


class PlanOut(PlanIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    configured: bool = True


def _mobile(v: str | None) -> str | None:
    if v is None or v == "":
        return None
    e164 = to_e164(v)
    if e164 is None:
        raise ValueError(f"{v!r} is not a phone number")
    return e164


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    department: str = Field("", max_length=200)
    short_number: str = Field(min_length=2, max_length=16)
    mobile: str | None = Field(None, description="E.164; national forms are normalised")
    desk_endpoint: str | None = Field(
        None, max_length=200, description='a desk extension ("8001") or SIP endpoint'
    )
    strategy: RingStrategy = RingStrategy.SEQUENTIAL
    desk_timeout: int = Field(15, ge=1, le=300)
    mobile_timeout: int = Field(25, ge=1, le=300)

    _norm_mobile = field_validator("mobile")(_mobile)

    @model_validator(mode="after")
    def _reachable(self) -> MemberIn:
        if not self.mobile and not self.desk_endpoint:
            raise ValueError("a member needs a mobile, a desk endpoint, or both")
        return self


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    department: str | None = Field(None, max_length=200)
    short_number: str | None = Field(None, min_length=2, max_length=16)
    mobile: str | None = None
    desk_endpoint: str | None = Field(None, max_length=200)
    strategy: RingStrategy | None = None
    desk_timeout: int | None = Field(None, ge=1, le=300)
    mobile_timeout: int | None = Field(None, ge=1, le=300)

    _norm_mobile = field_validator("mobile")(_mobile)


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    department: str
    short_number: str
    mobile: str | None
    desk_endpoint: str | None
    strategy: RingStrategy
    desk_timeout: int
    mobile_timeout: int


class TargetOut(BaseModel):
    kind: TargetKind
    endpoint: str
    step: int
    timeout: int


class ResolveOut(BaseModel):
    action: Action
    dialled: str
    in_network: bool
    short_number: bool
    member: MemberOut | None
    caller_member: MemberOut | None
    strategy: RingStrategy | None
    targets: list[TargetOut]
    announcement: str | None


class TariffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    in_network_rate: int = Field(ge=0, description="fen per minute")
    on_net_mobile_rate: int = Field(ge=0, description="fen per minute")
    off_net_rate: int = Field(ge=0, description="fen per minute")
    increment_seconds: int = Field(60, ge=1, le=3600)
    minimum_charge: int = Field(0, ge=0, description="fen, for any answered call")
    in_network_discount_pct: int = Field(0, ge=0, le=100)
    on_net_prefixes: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("on_net_prefixes")
    @classmethod
    def _e164_prefixes(cls, v: list[str]) -> list[str]:
        for p in v:
            if not re.match(r"^\+[0-9]{1,14}$", p):
                raise ValueError(f"prefix {p!r} must be an E.164 prefix such as +86139")
        return v


class TariffOut(TariffIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")


class CdrIn(BaseModel):
    """A finished call, as the Stasis app (or an imported carrier CDR) reports it."""

    model_config = ConfigDict(extra="forbid")

    call_ref: str = Field(min_length=1, max_length=100)
    caller: str = Field(min_length=1, max_length=100)
    callee: str = Field(min_length=1, max_length=100)
    started_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime
    disposition: Disposition
    recording_ref: str | None = Field(None, max_length=300)

    @model_validator(mode="after")
    def _ordered(self) -> CdrIn:
        if self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        if self.answered_at is not None and not (
            self.started_at <= self.answered_at <= self.ended_at
        ):
            raise ValueError("answered_at must lie between started_at and ended_at")
        if (self.answered_at is None) == (self.disposition is Disposition.ANSWERED):
            raise ValueError("answered_at is set exactly when the disposition is answered")
        return self


class CdrOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    call_ref: str
    caller: str
    callee: str
    caller_member_id: uuid.UUID | None
    callee_member_id: uuid.UUID | None
    billed_member: str
    billed_department: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    billable_seconds: int
    disposition: Disposition
    in_network: bool
    tariff_class: TariffClass
    charged_seconds: int
    rate: int
    charge: int
    recording_ref: str | None


class BillLine(BaseModel):
    """One member's or department's month: calls, talk time and charges in fen."""

    key: str
    member_id: uuid.UUID | None = None
    department: str
    calls: int
    answered_calls: int
    billable_seconds: int
    charged_seconds: int
    in_network_charge: int
    on_net_mobile_charge: int
    off_net_charge: int
    total_charge: int


class BillOut(BaseModel):
    month: str
    by: str
    currency: str = "CNY"
    unit: str = "fen"
    lines: list[BillLine]
    total_charge: int
