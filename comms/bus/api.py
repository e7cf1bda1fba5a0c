from __future__ import annotations

from fastapi import APIRouter, Query

from comms.bus import service
from comms.bus.schemas import DeadLetterOut, DeadLetterPage
from comms.deps import AdminDep, SessionDep

router = APIRouter(prefix="/api/v1/bus", tags=["bus"])


@router.get("/dead-letters", response_model=DeadLetterPage)
async def dead_letters(
    _: AdminDep,
    s: SessionDep,
    limit: int = Query(100, ge=1, le=500),
    cursor: int | None = Query(None, description="next_cursor of the previous page"),
) -> DeadLetterPage:
    rows = await service.list_dead_letters(s, limit=limit, after_id=cursor)
    items = [
        DeadLetterOut(
            id=d.id,
            event_id=e.id,
            topic=e.topic,
            version=e.version,
            tenant_id=e.tenant_id,
            subscriber=d.subscriber,
            status=d.status,
            attempts=d.attempts,
            last_error=d.last_error,
            event_created_at=e.created_at,
            payload=e.payload,
        )
        for d, e in rows
    ]
    return DeadLetterPage(items=items, next_cursor=items[-1].id if len(items) == limit else None)


@router.post("/dead-letters/{delivery_id}/replay", status_code=202)
async def replay(delivery_id: int, actor: AdminDep, s: SessionDep) -> dict[str, object]:
    d = await service.replay(s, actor, delivery_id)
    return {"id": d.id, "status": d.status.value}
