"""Tenant scoping by construction.

A session carries the tenant it acts for in `session.info`. Every ORM SELECT, UPDATE and
DELETE touching a `TenantScoped` entity gets `tenant_id = :tenant` added by a listener, and
every flushed row is stamped with (and checked against) that tenant. A session that carries no
tenant refuses to touch tenant-owned entities unless it was explicitly marked `unscoped`
(operator and bus-internal work), so forgetting the scope fails loudly instead of leaking.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from comms.db.base import TenantScoped

TENANT_KEY = "tenant_id"
UNSCOPED_KEY = "unscoped"


class TenantScopeError(RuntimeError):
    """Tenant-owned data was touched without a tenant scope, or across tenants."""


def scoped_to(session: Any, tenant_id: uuid.UUID) -> None:
    """Bind a session (sync or async) to one tenant."""
    session.info[TENANT_KEY] = tenant_id
    session.info.pop(UNSCOPED_KEY, None)


def unscoped(session: Any) -> None:
    """Mark a session as operator-level: it sees every tenant's rows."""
    session.info.pop(TENANT_KEY, None)
    session.info[UNSCOPED_KEY] = True


def current_tenant(session: Any) -> uuid.UUID | None:
    tid: uuid.UUID | None = session.info.get(TENANT_KEY)
    return tid


def _touches_tenant_data(state: ORMExecuteState) -> bool:
    return any(issubclass(m.class_, TenantScoped) for m in state.all_mappers)


@event.listens_for(Session, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # loads hanging off an already scoped parent row
    info = state.session.info
    if info.get(UNSCOPED_KEY):
        return
    tenant_id = info.get(TENANT_KEY)
    if tenant_id is None:
        if _touches_tenant_data(state):
            raise TenantScopeError("query on tenant-owned data from a session with no tenant")
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
        )
    )


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, flush_context: Any, instances: Any) -> None:
    info = session.info
    tenant_id = info.get(TENANT_KEY)
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if obj.tenant_id is None:
            if tenant_id is None:
                raise TenantScopeError(f"{type(obj).__name__} created with no tenant")
            obj.tenant_id = tenant_id
        elif tenant_id is not None and obj.tenant_id != tenant_id:
            raise TenantScopeError(f"{type(obj).__name__} created for another tenant")
    if tenant_id is None:
        return
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, TenantScoped) and obj.tenant_id != tenant_id:
            raise TenantScopeError(f"{type(obj).__name__} of another tenant changed")
