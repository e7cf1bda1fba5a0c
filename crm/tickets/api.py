"""Routes for tickets and SLA policies: parse, call, serialise."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from comms.audit import service as audit
from comms.deps import AdminDep, AgentDep, HubDep, SessionDep, ViewerDep
from comms.errors import InvalidInput
from comms.messages.exceptions import QuotaExceeded, Suppressed
from crm.tickets import policies, replies, service
from crm.tickets.models import Priority, TicketReply, TicketStatus
from crm.tickets.schemas import (
    ReplyIn,
    ReplyOut,
    ReplyPage,
    SlaPolicyIn,
    SlaPolicyOut,
    SlaPolicyPatch,
    TicketIn,
    TicketOut,
    TicketPage,
    TicketPatch,
)
from crm.tickets.state import IllegalTransition
from crm.tickets.timeline import TicketEvent, ticket_timeline

router = APIRouter(prefix="/api/v1/crm", tags=["crm"])


@router.post("/tickets", status_code=201, response_model=TicketOut)
async def create_ticket(body: TicketIn, who: AgentDep, s: SessionDep) -> object:
    t = await service.create_ticket(s, body)
    audit.record(s, who, "crm.ticket.created", "crm_ticket", t.id, {"subject": t.subject})
    await s.commit()
    return t


@router.get("/tickets", response_model=TicketPage)
async def list_tickets(
    _: ViewerDep,
    s: SessionDep,
    status: Annotated[list[TicketStatus] | None, Query(description="repeat for any of")] = None,
    priority: Annotated[list[Priority] | None, Query(description="repeat for any of")] = None,
    assignee_id: uuid.UUID | None = None,
    team: Annotated[str | None, Query(max_length=120)] = None,
    contact_id: uuid.UUID | None = None,
    unassigned: Annotated[bool, Query(description="only tickets nobody is assigned to")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> TicketPage:
    """Newest first; pass `next_cursor` back as `cursor` for the next page."""
    if unassigned and assignee_id is not None:
        raise InvalidInput("unassigned: cannot be combined with assignee_id", field="unassigned")
    f = service.TicketFilter(
        status or (), priority or (), assignee_id, team, contact_id, unassigned=unassigned
    )
    rows, next_cursor = await service.list_tickets(s, f, limit=limit, cursor=cursor)
    return TicketPage(items=[TicketOut.model_validate(t) for t in rows], next_cursor=next_cursor)


@router.get("/tickets/{ticket_id}", response_model=TicketOut)
async def get_ticket(ticket_id: uuid.UUID, _: ViewerDep, s: SessionDep) -> object:
    return await service.get_ticket(s, ticket_id)


@router.patch("/tickets/{ticket_id}", response_model=TicketOut, responses={409: {}})
async def patch_ticket(
    ticket_id: uuid.UUID, body: TicketPatch, who: AgentDep, s: SessionDep, hub: HubDep
) -> object:
    """A refused status change answers 409 and is still kept in the transition log."""
    t = await service.get_ticket(s, ticket_id)
    try:
        await service.update_ticket(s, t, body, settings=hub.settings)
    except IllegalTransition:
        await s.rollback()
        t = await service.get_ticket(s, ticket_id)
        service.log_refusal(s, t, body)
        await s.commit()
        raise
    changes = body.model_dump(mode="json", exclude_unset=True)
    audit.record(s, who, "crm.ticket.updated", "crm_ticket", t.id, changes)
    await s.commit()
    return t


@router.post(
    "/tickets/{ticket_id}/replies",
    status_code=201,
    response_model=ReplyOut,
    responses={409: {}, 429: {"description": "carrier rule: quota, recipient cap, duplicate"}},
)
async def reply_to_ticket(
    ticket_id: uuid.UUID, body: ReplyIn, who: AgentDep, s: SessionDep, hub: HubDep
) -> object:
    """Send the reply (SMS or email) to the ticket's contact, with attached articles."""
    t = await service.get_ticket(s, ticket_id)
    try:
        reply = await replies.send_reply(s, hub.settings, t, body, who.user_id)
    except (QuotaExceeded, Suppressed) as exc:
        reason = exc.reason if isinstance(exc, Suppressed) else "quota"
        body_ = {"detail": exc.message, "field": exc.field, "reason": reason}
        return JSONResponse(body_, status_code=429)
    audit.record(
        s, who, "crm.ticket.replied", "crm_ticket", t.id, {"message_id": str(reply.message_id)}
    )
    await s.commit()
    return reply


@router.get("/tickets/{ticket_id}/replies", response_model=ReplyPage)
async def list_replies(ticket_id: uuid.UUID, _: ViewerDep, s: SessionDep) -> ReplyPage:
    await service.get_ticket(s, ticket_id)
    rows = await s.scalars(
        select(TicketReply).where(TicketReply.ticket_id == ticket_id).order_by(TicketReply.id)
    )
    return ReplyPage(items=[ReplyOut.model_validate(r) for r in rows])


@router.get("/tickets/{ticket_id}/timeline", response_model=list[TicketEvent])
async def get_ticket_timeline(ticket_id: uuid.UUID, _: ViewerDep, s: SessionDep) -> object:
    """Status changes, messages and replies, voicemails and the survey, oldest first."""
    return await ticket_timeline(s, await service.get_ticket(s, ticket_id))


@router.post("/sla-policies", status_code=201, response_model=SlaPolicyOut)
async def create_sla_policy(body: SlaPolicyIn, who: AdminDep, s: SessionDep) -> object:
    p = await policies.create_policy(s, body)
    audit.record(s, who, "crm.sla_policy.created", "crm_sla_policy", p.id, {"name": p.name})
    await s.commit()
    return p


@router.get("/sla-policies", response_model=list[SlaPolicyOut])
async def list_sla_policies(_: ViewerDep, s: SessionDep) -> object:
    return await policies.list_policies(s)


@router.get("/sla-policies/{policy_id}", response_model=SlaPolicyOut)
async def get_sla_policy(policy_id: uuid.UUID, _: ViewerDep, s: SessionDep) -> object:
    return await policies.get_policy(s, policy_id)


@router.patch("/sla-policies/{policy_id}", response_model=SlaPolicyOut)
async def patch_sla_policy(
    policy_id: uuid.UUID, body: SlaPolicyPatch, who: AdminDep, s: SessionDep
) -> object:
    """Tickets already under the policy keep their deadlines (docs/crm.md)."""
    p = await policies.get_policy(s, policy_id)
    changed = await policies.update_policy(s, p, body)
    if changed:
        audit.record(s, who, "crm.sla_policy.updated", "crm_sla_policy", p.id, {"changed": changed})
    await s.commit()
    return p


@router.delete("/sla-policies/{policy_id}", status_code=204, responses={409: {}})
async def delete_sla_policy(policy_id: uuid.UUID, who: AdminDep, s: SessionDep) -> Response:
    """409 while a ticket that is not closed uses the policy."""
    p = await policies.get_policy(s, policy_id)
    await policies.delete_policy(s, p)
    audit.record(s, who, "crm.sla_policy.deleted", "crm_sla_policy", policy_id, {"name": p.name})
    await s.commit()
    return Response(status_code=204)
