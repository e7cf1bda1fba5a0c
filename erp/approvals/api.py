"""Routes for approval chains, requests and API decisions: parse, call, serialise."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from comms.audit import service as audit
from comms.deps import AdminDep, HubDep, SessionDep, ViewerDep
from comms.errors import Conflict, InvalidInput, PermissionDenied
from erp.approvals import service
from erp.approvals.models import ApprovalKind, DecisionChannel, RequestStatus
from erp.approvals.schemas import (
    ChainIn,
    ChainOut,
    ChainStepOut,
    DecisionIn,
    RequestIn,
    RequestOut,
    RequestPage,
)
from erp.settings import ErpSettings

router = APIRouter(prefix="/api/v1/erp", tags=["erp"])


def _ttl() -> int:
    return ErpSettings().erp_approval_link_ttl


@router.post("/approval-chains", response_model=ChainOut)
async def set_chain(body: ChainIn, who: AdminDep, s: SessionDep) -> ChainOut:
    """Replace the chain for one kind (an empty list of steps removes it)."""
    rows = await service.set_chain(s, body)
    changes = {"steps": body.model_dump(mode="json")["steps"]}
    audit.record(s, who, "erp.approval_chain.set", "erp_approval_chain", body.kind.value, changes)
    await s.commit()
    return ChainOut(kind=body.kind, steps=[ChainStepOut.model_validate(r) for r in rows])


@router.get("/approval-chains", response_model=list[ChainOut])
async def list_chains(_: ViewerDep, s: SessionDep) -> list[ChainOut]:
    found = await service.chains(s)
    return [
        ChainOut(kind=k, steps=[ChainStepOut.model_validate(r) for r in found[k]])
        for k in ApprovalKind
        if k in found
    ]


@router.post("/approvals", status_code=201, response_model=RequestOut)
async def create_request(body: RequestIn, who: ViewerDep, s: SessionDep, hub: HubDep) -> object:
    """The signed-in user asks; the first step's approvers get an SMS and an email."""
    if who.user_id is None:
        raise PermissionDenied("approval requests are made by a signed-in user, not an API key")
    r = await service.create_request(s, hub.settings, who.user_id, body, _ttl())
    audit.record(s, who, "erp.approval.requested", "erp_approval", r.id, {"kind": r.kind.value})
    await s.commit()
    return r


@router.get("/approvals", response_model=RequestPage)
async def list_requests(
    who: ViewerDep,
    s: SessionDep,
    status: RequestStatus | None = None,
    awaiting: Annotated[
        Literal["me"] | None,
        Query(description="`me`: only requests whose current step the caller may decide now"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> RequestPage:
    if awaiting == "me" and who.user_id is None:
        raise InvalidInput("awaiting: an API key awaits no approval; sign in", field="awaiting")
    mine = who if awaiting == "me" else None
    rows, nxt = await service.list_requests(s, status, limit, cursor, awaiting=mine)
    return RequestPage(items=[RequestOut.model_validate(r) for r in rows], next_cursor=nxt)


@router.get("/approvals/{request_id}", response_model=RequestOut)
async def get_request(request_id: uuid.UUID, _: ViewerDep, s: SessionDep) -> object:
    return await service.get_request(s, request_id)


@router.post("/approvals/{request_id}/decision", response_model=RequestOut)
async def decide(
    request_id: uuid.UUID, body: DecisionIn, who: ViewerDep, s: SessionDep, hub: HubDep
) -> object:
    """403 unless the caller is an approver of the current step; 409 once it is decided."""
    r = await service.get_request(s, request_id)
    if who.user_id is None:
        raise PermissionDenied("decisions are made by a signed-in user, not an API key")
    step = service.current_step(r)
    if step is None:
        raise Conflict(f"decision: the request is {r.status.value} already", field="decision")
    await service.decide(
        s, hub.settings, r, step, who.user_id, body.decision, DecisionChannel.API, _ttl(), body.note
    )
    audit.record(
        s, who, "erp.approval.decided", "erp_approval", r.id, {"decision": body.decision.value}
    )
    await s.commit()
    return r
