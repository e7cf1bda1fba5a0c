"""Use cases for tenants: creation with a first admin (operator-level), reading, settings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from comms.audit import service as audit
from comms.auth import service as auth
from comms.auth.models import ApiKey, Role, User
from comms.auth.principal import Principal
from comms.auth.schemas import ApiKeyCreate
from comms.bus.publish import publish
from comms.db.tenancy import scoped_to, unscoped
from comms.errors import Conflict, NotFound
from comms.tenants.events import TenantCreated
from comms.tenants.models import Tenant
from comms.tenants.schemas import TenantUpdate


@dataclass(frozen=True)
class NewTenant:
    tenant: Tenant
    admin: User
    api_key: ApiKey
    api_key_secret: str


async def create_tenant(
    session: AsyncSession,
    creds: auth.Credentials,
    name: str,
    admin_email: str,
    admin_password: str,
) -> NewTenant:
    """Create an enterprise, its first admin and an admin API key, in one transaction."""
    unscoped(session)
    name = name.strip()
    email = auth.normalise_email(admin_email)
    if await session.scalar(select(Tenant.id).where(Tenant.name == name)):
        raise Conflict(f"a tenant named {name!r} already exists", field="tenant")
    if await session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(f"a user with email {email!r} already exists", field="admin_email")
    tenant = Tenant(name=name)
    session.add(tenant)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict(f"a tenant named {name!r} already exists", field="tenant") from None
    scoped_to(session, tenant.id)
    admin = User(
        email=email,
        name="admin",
        role=Role.ADMIN,
        password_hash=creds.passwords.hash(admin_password),
    )
    session.add(admin)
    await session.flush()
    actor = Principal(tenant_id=tenant.id, role=Role.ADMIN, user_id=admin.id)
    audit.record(session, actor, "tenant.create", "tenant", tenant.id, {"name": name})
    publish(session, TenantCreated.topic, TenantCreated(tenant_id=tenant.id, name=name))
    # create_api_key commits the whole transaction: tenant, admin, key, audit and event.
    key, secret = await auth.create_api_key(
        session, actor, ApiKeyCreate(name="initial admin key", role=Role.ADMIN)
    )
    return NewTenant(tenant, admin, key, secret)


async def get_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("tenant not found")
    return tenant


async def update_tenant(session: AsyncSession, actor: Principal, data: TenantUpdate) -> Tenant:
    tenant = await get_tenant(session, actor.tenant_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "name" in changes and changes["name"] != tenant.name:
        taken = await session.scalar(select(Tenant.id).where(Tenant.name == changes["name"]))
        if taken:
            raise Conflict("another tenant has this name", field="name")
    for field, value in changes.items():
        setattr(tenant, field, value)
    audit.record(session, actor, "tenant.update", "tenant", tenant.id, changes)
    await session.commit()
    return tenant
