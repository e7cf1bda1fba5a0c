"""Tenant isolation in the data layer: scoping by construction, not by remembered filters."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from comms.auth.models import Role, User
from comms.db.tenancy import TenantScopeError, scoped_to, unscoped
from comms.hub import Hub
from hubtest import TenantCtx


async def test_unscoped_session_refuses_to_query_tenant_data(hub: Hub, tenant: TenantCtx) -> None:
    async with hub.db.session() as s:
        with pytest.raises(TenantScopeError):
            await s.scalars(select(User))


async def test_scoped_query_returns_only_the_sessions_tenant(
    hub: Hub, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        emails = set(await s.scalars(select(User.email)))
    assert emails == {tenant.admin_email}


async def test_get_by_id_of_another_tenants_row_finds_nothing(
    hub: Hub, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    async with hub.db.session() as s:
        unscoped(s)
        foreign = await s.scalar(select(User.id).where(User.email == other_tenant.admin_email))
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        assert await s.get(User, foreign) is None


async def test_bulk_update_cannot_reach_another_tenant(
    hub: Hub, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        await s.execute(update(User).values(name="renamed"))
        await s.commit()
    async with hub.db.session() as s:
        unscoped(s)
        names = {e: n for e, n in (await s.execute(select(User.email, User.name))).all()}
    assert names[tenant.admin_email] == "renamed"
    assert names[other_tenant.admin_email] != "renamed"


async def test_row_created_for_another_tenant_is_refused(
    hub: Hub, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        s.add(User(tenant_id=other_tenant.id, email="x@y.cn", password_hash="x", role=Role.AGENT))
        with pytest.raises(TenantScopeError):
            await s.flush()


async def test_new_row_is_stamped_with_the_sessions_tenant(hub: Hub, tenant: TenantCtx) -> None:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        user = User(email="stamped@acme.cn", password_hash="x", role=Role.AGENT)
        s.add(user)
        await s.flush()
        assert user.tenant_id == tenant.id
