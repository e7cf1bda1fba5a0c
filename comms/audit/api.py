from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query

from comms.audit import service
from comms.audit.schemas import AuditEntryOut
from comms.deps import AdminDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit", response_model=list[AuditEntryOut])
async def list_audit(
    _: AdminDep,
    s: SessionDep,
    limit: int = Query(50, ge=1, le=500),
    before: datetime | None = Query(None, description="Entries strictly older than this"),
    entity_type: str | None = None,
    action: str | None = None,
) -> object:
    return await service.list_entries(
        s, limit=limit, before=before, entity_type=entity_type, action=action
    )
