"""Company use cases: the contacts' profile rules (crm.contacts.profile), numbers and addresses
indexed per tenant, and the lookup falling back from contacts to companies; no HTTP."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.errors import Conflict, NotFound
from comms.messages.addresses import try_phone
from crm.contacts import profile, service
from crm.contacts.models import Company, CompanyEmail, CompanyPhone, Contact
from crm.contacts.schemas import CompanyIn, CompanyPatch


async def _check_free(
    s: AsyncSession, phones: list[str], emails: list[str], owner: uuid.UUID | None
) -> None:
    """A number or address belongs to one company per tenant: a clash is a 409 naming
    `phones[i]`/`emails[i]` (i in the normalised list, as the response shows it)."""
    for name, values, value, owned in (
        ("phones", phones, CompanyPhone.e164, CompanyPhone.company_id),
        ("emails", emails, CompanyEmail.address, CompanyEmail.company_id),
    ):
        i = await profile.first_taken(s, value, owned, values, owner)
        if i is not None:
            field = f"{name}[{i}]"
            raise Conflict(f"{field}: {values[i]} belongs to another company", field=field)


def _set_lists(c: Company, phones: list[str] | None, emails: list[str] | None) -> None:
    if phones is not None:
        c.phones = profile.reindexed(c.phones, phones, lambda p: p.e164, _phone)
    if emails is not None:
        c.emails = profile.reindexed(c.emails, emails, lambda e: e.address, _email)


def _phone(e164: str) -> CompanyPhone:
    return CompanyPhone(e164=e164)


def _email(address: str) -> CompanyEmail:
    return CompanyEmail(address=address)


async def create_company(s: AsyncSession, body: CompanyIn) -> Company:
    """Validate, index and add a company (flushed, not committed)."""
    phones, emails = profile.phones(body.phones), profile.emails(body.emails)
    await _check_free(s, phones, emails, None)
    c = Company(
        name=body.name, phones=[_phone(p) for p in phones], emails=[_email(e) for e in emails]
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
    """Apply the given fields; phone/email lists are replaced whole and re-indexed."""
    c = await get_company(s, company_id)
    phones, emails = profile.given_phones(body), profile.given_emails(body)
    await _check_free(s, phones or [], emails or [], c.id)
    if body.name is not None:
        c.name = body.name
    _set_lists(c, phones, emails)
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


async def find_company_by_phone(s: AsyncSession, phone: str) -> Company | None:
    """Public: the company owning `phone` written any way (+86…, 010…, spaces), or None."""
    e164 = try_phone(phone)
    cid = await s.scalar(select(CompanyPhone.company_id).where(CompanyPhone.e164 == e164))
    return None if cid is None else await s.get(Company, cid)


async def find_company_by_email(s: AsyncSession, email: str) -> Company | None:
    """Public: the company owning `email`, case-insensitively, or None."""
    addr = email.strip().lower()
    cid = await s.scalar(select(CompanyEmail.company_id).where(CompanyEmail.address == addr))
    return None if cid is None else await s.get(Company, cid)


async def lookup(
    s: AsyncSession, *, phone: str | None, email: str | None
) -> tuple[list[Contact], list[Company]]:
    """Screen pop: per key, the contact owning it, or else the company owning it (a person's
    own number says more than their switchboard's); each found once."""
    contacts: dict[uuid.UUID, Contact] = {}
    found: dict[uuid.UUID, Company] = {}
    for key, by_contact, by_company in (
        (phone, service.find_contact_by_phone, find_company_by_phone),
        (email, service.find_contact_by_email, find_company_by_email),
    ):
        if not key:
            continue
        contact = await by_contact(s, key)
        if contact is not None:
            contacts[contact.id] = contact
        elif (company := await by_company(s, key)) is not None:
            found[company.id] = company
    return list(contacts.values()), list(found.values())
