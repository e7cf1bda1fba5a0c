"""Company use cases: the same profile rules as contacts (crm.contacts.profile), no HTTP."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.errors import NotFound
from crm.contacts import profile
from crm.contacts.models import Company, Contact
from crm.contacts.schemas import CompanyIn, CompanyPatch


async def create_company(s: AsyncSession, body: CompanyIn) -> Company:
    """Validate and add a company (flushed, not committed)."""
    c = Company(
        name=body.name, phones=profile.phones(body.phones), emails=profile.emails(body.emails)
    )
    profile.fill(c, body)
    s.add(c)
    await s.flush()
    return c


async def get_company(s: AsyncSession, company_id: uuid.UUID) -> Company:
    c = await s.get(Company, company_id)
    if c is None:
        raise NotFound("company not found")
    return c


async def update_company(s: AsyncSession, company_id: uuid.UUID, body: CompanyPatch) -> Company:
    """Apply the given fields; phone/email lists are replaced whole."""
    c = await get_company(s, company_id)
    phones, emails = profile.given_phones(body), profile.given_emails(body)
    if body.name is not None:
        c.name = body.name
    if phones is not None:
        c.phones = phones
    if emails is not None:
        c.emails = emails
    profile.patch(c, body)
    await s.flush()
    return c


async def list_companies(s: AsyncSession, *, limit: int = 500) -> list[Company]:
    return list(await s.scalars(select(Company).order_by(Company.name, Company.id).limit(limit)))


async def company_contacts(s: AsyncSession, company_id: uuid.UUID, *, limit: int) -> list[Contact]:
    """The company's contacts by name; a 404 for no such company (or another tenant's)."""
    await get_company(s, company_id)
    q = select(Contact).where(Contact.company_id == company_id)
    return list(await s.scalars(q.order_by(Contact.name, Contact.id).limit(limit)))
