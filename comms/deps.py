"""Route dependencies: the hub, the caller, a tenant-scoped session, role checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from comms.auth import service as auth
from comms.auth.models import Role
from comms.auth.principal import Principal
from comms.db.tenancy import scoped_to
from comms.errors import Unauthenticated
from comms.hub import Hub

_bearer = HTTPBearer(auto_error=False, description="A console JWT or an API key")


def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


HubDep = Annotated[Hub, Depends(get_hub)]


async def get_principal(
    hub: HubDep,
    cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if cred is None or cred.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    async with hub.db.session() as s:
        try:
            return await auth.authenticate(s, hub.credentials, cred.credentials)
        except Unauthenticated as exc:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, exc.message, headers={"WWW-Authenticate": "Bearer"}
            ) from None


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_session(hub: HubDep, principal: PrincipalDep) -> AsyncIterator[AsyncSession]:
    """A session that can only see and write the caller's tenant."""
    async with hub.db.session() as s:
        scoped_to(s, principal.tenant_id)
        yield s


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def require(role: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    async def check(principal: PrincipalDep) -> Principal:
        if not principal.role.allows(role):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires the {role.value} role")
        return principal

    return check


AdminDep = Annotated[Principal, Depends(require(Role.ADMIN))]
SupervisorDep = Annotated[Principal, Depends(require(Role.SUPERVISOR))]
AgentDep = Annotated[Principal, Depends(require(Role.AGENT))]
ViewerDep = Annotated[Principal, Depends(require(Role.VIEWER))]
