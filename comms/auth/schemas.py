from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from comms.auth.models import Role
from comms.errors import InvalidInput
from comms.messages.addresses import normalise_phone


def _e164(raw: str) -> str:
    try:
        return normalise_phone(raw, field="mobile")
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None


# Stored as E.164 (default region CN); an unparseable number is a 422 naming `mobile`.
Mobile = Annotated[str, AfterValidator(_e164)]


class LoginRequest(BaseModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 scheme name, not a secret
    expires_in: int


class MeOut(BaseModel):
    tenant_id: uuid.UUID
    role: Role
    user_id: uuid.UUID | None
    api_key_id: uuid.UUID | None


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    name: str = Field("", max_length=200)
    password: str = Field(min_length=8, max_length=256)
    role: Role = Role.AGENT
    mobile: Mobile | None = None
    department: str = Field("", max_length=100)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    password: str | None = Field(None, min_length=8, max_length=256)
    role: Role | None = None
    is_active: bool | None = None
    mobile: Mobile | None = None
    department: str | None = Field(None, max_length=100)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str
    role: Role
    is_active: bool
    mobile: str | None
    department: str
    created_at: datetime
    last_login_at: datetime | None


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.ADMIN


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret. Shown once; store it now.")
