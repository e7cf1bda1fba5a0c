from __future__ import annotations

from fastapi import APIRouter

from comms.deps import AdminDep, SessionDep, ViewerDep
from comms.tenants import service
from comms.tenants.schemas import TenantOut, TenantUpdate

router = APIRouter(prefix="/api/v1", tags=["tenant"])


@router.get("/tenant", response_model=TenantOut)
async def get_tenant(actor: ViewerDep, s: SessionDep) -> object:
    return await service.get_tenant(s, actor.tenant_id)


@router.patch("/tenant", response_model=TenantOut)
async def update_tenant(body: TenantUpdate, actor: AdminDep, s: SessionDep) -> object:
    return await service.update_tenant(s, actor, body)
