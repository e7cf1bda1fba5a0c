"""Call routes: click-to-call, recent calls, and one call with its legs and state history."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from comms.deps import AgentDep, SessionDep, ViewerDep
from telephony.calls import service
from telephony.calls.schemas import CallDetail, CallOut, ClickToCallIn, LegOut, TransitionOut

router = APIRouter(prefix="/api/v1", tags=["calls"])


@router.post("/calls", response_model=CallOut, status_code=status.HTTP_202_ACCEPTED)
async def click_to_call(body: ClickToCallIn, actor: AgentDep, s: SessionDep) -> object:
    """Ring the agent's phone; once they answer, the customer is dialled and bridged (202)."""
    return await service.request_click_to_call(s, actor, body)


@router.get("/calls", response_model=list[CallOut])
async def list_calls(
    actor: ViewerDep, s: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> object:
    return await service.list_calls(s, limit)


@router.get("/calls/{call_id}", response_model=CallDetail)
async def get_call(call_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> object:
    call = await service.get_call(s, call_id)
    legs = await service.legs_of(s, call_id)
    transitions = await service.transitions_of(s, call_id)
    return CallDetail(
        **CallOut.model_validate(call).model_dump(),
        legs=[LegOut.model_validate(leg) for leg in legs],
        transitions=[TransitionOut.model_validate(t) for t in transitions],
    )
