"""Use cases for users, sign-in and API keys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from comms.audit import service as audit
from comms.auth.credentials import (
    Passwords,
    Tokens,
    key_matches,
    mint_api_key,
    parse_api_key,
)
from comms.auth.models import ApiKey, Role, User
from comms.auth.principal import Principal
from comms.auth.schemas import ApiKeyCreate, UserCreate, UserUpdate
from comms.db.base import utcnow
from comms.db.tenancy import unscoped
from comms.errors import Conflict, NotFound, Unauthenticated

KEY_TOUCH_INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True)
class Credentials:
    """The hashing and token services, built once from settings by the hub."""

    passwords: Passwords
    tokens: Tokens


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def create_user(
    session: AsyncSession, creds: Credentials, actor: Principal, data: UserCreate
) -> User:
    user = User(
        tenant_id=actor.tenant_id,
        email=normalise_email(data.email),
        name=data.name,
        password_hash=creds.passwords.hash(data.password),
        role=data.role,
        mobile=data.mobile,
        department=data.department,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict("a user with this email already exists", field="email") from None
    audit.record(
        session,
        actor,
        "user.create",
        "user",
        user.id,
        {"email": user.email, "role": user.role.value, "password": data.password},
    )
    await session.commit()
    return user


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    return user


async def list_users(session: AsyncSession) -> list[User]:
    return list(await session.scalars(select(User).order_by(User.created_at, User.id)))


async def update_user(
    session: AsyncSession,
    creds: Credentials,
    actor: Principal,
    user_id: uuid.UUID,
    data: UserUpdate,
) -> User:
    user = await get_user(session, user_id)
    changes = data.model_dump(exclude_unset=True)
    for field in ("name", "role", "is_active", "mobile", "department"):
        if field in changes:
            setattr(user, field, changes[field])
    if "password" in changes:
        user.password_hash = creds.passwords.hash(changes["password"])
    audit.record(
        session,
        actor,
        "user.update",
        "user",
        user.id,
        {k: (v.value if isinstance(v, Role) else v) for k, v in changes.items()},
    )
    await session.commit()
    return user


async def login(session: AsyncSession, creds: Credentials, email: str, password: str) -> str:
    """A console JWT, or Unauthenticated with the same message whatever was wrong."""
    unscoped(session)  # sign-in happens before we know the tenant
    user = await session.scalar(select(User).where(User.email == normalise_email(email)))
    ok = creds.passwords.verify(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        raise Unauthenticated("invalid email or password")
    user.last_login_at = utcnow()
    await session.commit()
    return creds.tokens.issue(user.id, user.tenant_id, user.role)


async def authenticate(session: AsyncSession, creds: Credentials, token: str) -> Principal:
    """Resolve a bearer token (console JWT or API key) to a principal."""
    unscoped(session)
    prefix = parse_api_key(token)
    if prefix is not None:
        key = await session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
        if key is None or key.revoked_at is not None or not key_matches(token, key.key_hash):
            raise Unauthenticated("invalid or revoked API key")
        now = utcnow()
        if key.last_used_at is None or now - key.last_used_at > KEY_TOUCH_INTERVAL:
            key.last_used_at = now
            await session.commit()
        return Principal(tenant_id=key.tenant_id, role=key.role, api_key_id=key.id)
    claims = creds.tokens.read(token)
    if claims is None:
        raise Unauthenticated("invalid or expired token")
    user = await session.get(User, claims.user_id)
    if user is None or not user.is_active or user.tenant_id != claims.tenant_id:
        raise Unauthenticated("invalid or expired token")
    # The role comes from the database, so a demotion takes effect at once.
    return Principal(tenant_id=user.tenant_id, role=user.role, user_id=user.id)


async def create_api_key(
    session: AsyncSession, actor: Principal, data: ApiKeyCreate
) -> tuple[ApiKey, str]:
    """A new key and its secret; the secret is returned here once and never stored."""
    minted = mint_api_key()
    key = ApiKey(
        tenant_id=actor.tenant_id,
        name=data.name,
        prefix=minted.prefix,
        key_hash=minted.digest,
        role=data.role,
        created_by=actor.user_id,
    )
    session.add(key)
    await session.flush()
    audit.record(
        session,
        actor,
        "api_key.create",
        "api_key",
        key.id,
        {"name": key.name, "role": key.role.value},
    )
    await session.commit()
    return key, minted.secret


async def list_api_keys(session: AsyncSession) -> list[ApiKey]:
    return list(await session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))


async def revoke_api_key(session: AsyncSession, actor: Principal, key_id: uuid.UUID) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("API key not found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record(session, actor, "api_key.revoke", "api_key", key.id, {"name": key.name})
        await session.commit()
    return key
