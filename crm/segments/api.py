"""Routes for segments: parse, call, serialise."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from comms.audit import service as audit
from comms.deps import AgentDep, SessionDep, SupervisorDep, ViewerDep
from crm.segments import service
from crm.segments.models import Segment
from crm.segments.schemas import (
    MemberPage,
    PreviewOut,
    SegmentFilter,
    SegmentIn,
    SegmentOut,
    SegmentPatch,
)

router = APIRouter(prefix="/api/v1/crm/segments", tags=["crm"])

PREVIEW_SAMPLE = 20


@router.post("", status_code=201, response_model=SegmentOut, responses={409: {}})
async def create_segment(body: SegmentIn, who: SupervisorDep, s: SessionDep) -> SegmentOut:
    seg = await service.create_segment(s, body)
    audit.record(s, who, "crm.segment.created", "crm_segment", seg.id, {"name": seg.name})
    out = await service.to_out(s, seg)
    await s.commit()
    return out


@router.get("", response_model=list[SegmentOut])
async def list_segments(_: ViewerDep, s: SessionDep) -> list[SegmentOut]:
    rows = await s.scalars(select(Segment).order_by(Segment.name).limit(500))
    return [await service.to_out(s, seg) for seg in rows]


@router.post("/preview", response_model=PreviewOut)
async def preview(body: SegmentFilter, _: AgentDep, s: SessionDep) -> PreviewOut:
    """How many contacts a filter selects, and the first few, before saving it."""
    f = await service.check_filter(s, body)
    sample, _next = await service.members(s, f, limit=PREVIEW_SAMPLE)
    return PreviewOut(count=await service.count(s, f), sample=sample)


@router.get("/{segment_id}", response_model=SegmentOut)
async def get_segment(segment_id: uuid.UUID, _: ViewerDep, s: SessionDep) -> SegmentOut:
    return await service.to_out(s, await service.get_segment(s, segment_id))


@router.patch("/{segment_id}", response_model=SegmentOut, responses={409: {}})
async def patch_segment(
    segment_id: uuid.UUID, body: SegmentPatch, who: SupervisorDep, s: SessionDep
) -> SegmentOut:
    seg = await service.update_segment(s, await service.get_segment(s, segment_id), body)
    changes = body.model_dump(mode="json", exclude_unset=True)
    audit.record(s, who, "crm.segment.updated", "crm_segment", seg.id, changes)
    out = await service.to_out(s, seg)
    await s.commit()
    return out


@router.delete("/{segment_id}", status_code=204)
async def delete_segment(segment_id: uuid.UUID, who: SupervisorDep, s: SessionDep) -> Response:
    seg = await service.get_segment(s, segment_id)
    audit.record(s, who, "crm.segment.deleted", "crm_segment", seg.id, {"name": seg.name})
    await s.delete(seg)
    await s.commit()
    return Response(status_code=204)


@router.get("/{segment_id}/members", response_model=MemberPage)
async def segment_members(
    segment_id: uuid.UUID,
    _: ViewerDep,
    s: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> MemberPage:
    f = service.filter_of(await service.get_segment(s, segment_id))
    items, nxt = await service.members(s, f, limit=limit, cursor=cursor)
    return MemberPage(count=await service.count(s, f), items=items, next_cursor=nxt)
