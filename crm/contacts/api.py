"""Routes for contacts, companies, phone/email lookup and the timeline: parse, call, serialise."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from comms.audit import service as audit
from comms.deps import AgentDep, SessionDep, SupervisorDep, ViewerDep
from crm.contacts import companies, service
from crm.contacts.models import TimelineEntry
from crm.contacts.schemas import (
    CompanyIn,
    CompanyOut,
    CompanyPatch,
    ContactIn,
    ContactOut,
    ContactPage,
    ContactPatch,
    MergeIn,
    TimelineOut,
    TimelinePage,
)

router = APIRouter(prefix="/api/v1/crm", tags=["crm"])


@router.post("/companies", status_code=201, response_model=CompanyOut)
async def create_company(body: CompanyIn, who: AgentDep, s: SessionDep) -> CompanyOut:
    c = await companies.create_company(s, body)
    out = CompanyOut.model_validate(c)
    audit.record(s, who, "crm.company.created", "crm_company", c.id, {"name": c.name})
    await s.commit()
    return out


@router.get("/companies", response_model=list[CompanyOut])
async def list_companies(_: ViewerDep, s: SessionDep) -> list[CompanyOut]:
    return [CompanyOut.model_validate(c) for c in await companies.list_companies(s)]


@router.get("/companies/{company_id}", response_model=CompanyOut)
async def get_company(company_id: uuid.UUID, _: ViewerDep, s: SessionDep) -> CompanyOut:
    return CompanyOut.model_validate(await companies.get_company(s, company_id))


@router.patch("/companies/{company_id}", response_model=CompanyOut)
async def patch_company(
    company_id: uuid.UUID, body: CompanyPatch, who: AgentDep, s: SessionDep
) -> CompanyOut:
    c = await companies.update_company(s, company_id, body)
    out = CompanyOut.model_validate(c)
    changes = body.model_dump(mode="json", exclude_unset=True)
    audit.record(s, who, "crm.company.updated", "crm_company", c.id, changes)
    await s.commit()
    return out


@router.get("/companies/{company_id}/contacts", response_model=ContactPage)
async def company_contacts(
    company_id: uuid.UUID,
    _: ViewerDep,
    s: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ContactPage:
    rows = await companies.company_contacts(s, company_id, limit=limit)
    return ContactPage(items=[service.to_out(c) for c in rows])


@router.post("/contacts", status_code=201, response_model=ContactOut)
async def create_contact(body: ContactIn, who: AgentDep, s: SessionDep) -> ContactOut:
    c = await service.create_contact(s, body)
    out = service.to_out(c)
    audit.record(s, who, "crm.contact.created", "crm_contact", c.id, {"name": c.name})
    await s.commit()
    return out


@router.get("/contacts", response_model=ContactPage)
async def list_contacts(
    _: ViewerDep,
    s: SessionDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    tag: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> ContactPage:
    """By name, a page at a time; `q` finds a name part (any case), a number (any form or its
    digits) or an address part."""
    rows, nxt = await service.list_contacts(s, q=q, tag=tag, limit=limit, cursor=cursor)
    return ContactPage(items=[service.to_out(c) for c in rows], next_cursor=nxt)


@router.get("/lookup", response_model=ContactPage)
async def lookup(
    _: ViewerDep, s: SessionDep, phone: str | None = None, email: str | None = None
) -> ContactPage:
    """Screen pop: the contact owning a number (any common form) or address, or else the
    company owning it (in `companies`); both [] if none."""
    found, owners = await companies.lookup(s, phone=phone, email=email)
    return ContactPage(
        items=[service.to_out(c) for c in found],
        companies=[CompanyOut.model_validate(c) for c in owners],
    )


@router.get("/contacts/{contact_id}", response_model=ContactOut)
async def get_contact(contact_id: uuid.UUID, _: ViewerDep, s: SessionDep) -> ContactOut:
    return service.to_out(await service.get_contact(s, contact_id))


@router.patch("/contacts/{contact_id}", response_model=ContactOut)
async def patch_contact(
    contact_id: uuid.UUID, body: ContactPatch, who: AgentDep, s: SessionDep
) -> ContactOut:
    c = await service.update_contact(s, contact_id, body)
    out = service.to_out(c)
    changes = body.model_dump(mode="json", exclude_unset=True)
    audit.record(s, who, "crm.contact.updated", "crm_contact", c.id, changes)
    await s.commit()
    return out


@router.post("/contacts/{contact_id}/merge", response_model=ContactOut)
async def merge_contact(
    contact_id: uuid.UUID, body: MergeIn, who: SupervisorDep, s: SessionDep
) -> ContactOut:
    """Fold `duplicate_id` into this contact; the duplicate is gone, its history is here."""
    c = await service.merge_contacts(s, contact_id, body.duplicate_id)
    out = service.to_out(c)
    merged = {"duplicate_id": str(body.duplicate_id)}
    audit.record(s, who, "crm.contact.merged", "crm_contact", c.id, merged)
    await s.commit()
    return out


@router.get("/contacts/{contact_id}/timeline", response_model=TimelinePage)
async def timeline(
    contact_id: uuid.UUID,
    _: ViewerDep,
    s: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> TimelinePage:
    await service.get_contact(s, contact_id)
    rows = await s.scalars(
        select(TimelineEntry)
        .where(TimelineEntry.contact_id == contact_id)
        .order_by(TimelineEntry.at.desc(), TimelineEntry.id.desc())
        .limit(limit)
    )
    return TimelinePage(items=[TimelineOut.model_validate(r) for r in rows])
