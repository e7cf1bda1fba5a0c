"""IVR routes: flows (draft, validate, publish) and entry numbers."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from comms.deps import AdminDep, SessionDep, ViewerDep
from telephony.ivr import service
from telephony.ivr.models import Flow, VersionStatus
from telephony.ivr.schemas import (
    DraftIn,
    EntryIn,
    EntryOut,
    FlowIn,
    FlowOut,
    ProblemOut,
    ValidationOut,
    VersionOut,
)
from telephony.ivr.validate import Problem

router = APIRouter(prefix="/api/v1/ivr", tags=["ivr"])


async def _flow_out(s: AsyncSession, flow: Flow) -> FlowOut:
    draft = await service.version_with(s, flow.id, VersionStatus.DRAFT)
    published = await service.version_with(s, flow.id, VersionStatus.PUBLISHED)
    return FlowOut(
        id=flow.id,
        name=flow.name,
        created_at=flow.created_at,
        draft=VersionOut.model_validate(draft) if draft else None,
        published=VersionOut.model_validate(published) if published else None,
    )


def _problems(problems: list[Problem]) -> list[ProblemOut]:
    return [ProblemOut(node=p.node, code=p.code, message=p.message) for p in problems]


@router.post("/flows", response_model=FlowOut, status_code=status.HTTP_201_CREATED)
async def create_flow(body: FlowIn, actor: AdminDep, s: SessionDep) -> object:
    flow = await service.create_flow(s, actor, body.name, body.document)
    return await _flow_out(s, flow)


@router.get("/flows", response_model=list[FlowOut])
async def list_flows(actor: ViewerDep, s: SessionDep) -> object:
    return [await _flow_out(s, f) for f in await service.list_flows(s)]


@router.get("/flows/{flow_id}", response_model=FlowOut)
async def get_flow(flow_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> object:
    return await _flow_out(s, await service.get_flow(s, flow_id))


@router.put("/flows/{flow_id}/draft", response_model=VersionOut)
async def save_draft(flow_id: uuid.UUID, body: DraftIn, actor: AdminDep, s: SessionDep) -> object:
    return await service.save_draft(s, actor, flow_id, body.document)


@router.post("/flows/{flow_id}/validate", response_model=ValidationOut)
async def validate_draft(flow_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> object:
    problems = await service.check_draft(s, flow_id)
    return ValidationOut(valid=not problems, problems=_problems(problems))


@router.post("/flows/{flow_id}/publish", response_model=VersionOut)
async def publish(flow_id: uuid.UUID, actor: AdminDep, s: SessionDep) -> object:
    try:
        return await service.publish(s, actor, flow_id)
    except service.FlowInvalid as exc:
        body = ValidationOut(valid=False, problems=_problems(exc.problems)).model_dump()
        return JSONResponse({"detail": exc.message, **body}, status_code=422)


@router.post("/entries", response_model=EntryOut, status_code=status.HTTP_201_CREATED)
async def create_entry(body: EntryIn, actor: AdminDep, s: SessionDep) -> object:
    return await service.create_entry(s, actor, body.did, body.flow_id)


@router.get("/entries", response_model=list[EntryOut])
async def list_entries(actor: ViewerDep, s: SessionDep) -> object:
    return await service.list_entries(s)


@router.get("/entries/{entry_id}", response_model=EntryOut)
async def get_entry(entry_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> object:
    return await service.get_entry(s, entry_id)


@router.delete("/entries/{entry_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_entry(entry_id: uuid.UUID, actor: AdminDep, s: SessionDep) -> None:
    await service.delete_entry(s, actor, entry_id)
