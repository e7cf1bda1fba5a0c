"""Isolation cases for crm routes (collected by tests/test_route_isolation.py)."""

from __future__ import annotations

import uuid

import httpx

from comms.hub import Hub
from hubtest import TenantCtx
from isolation import Case


async def make_contact(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    n = uuid.uuid4().int % 10**8  # each call its own number and address (they are unique)
    r = await client.post(
        "/api/v1/crm/contacts",
        headers=owner.auth,
        json={"name": "Isolated", "phones": [f"137{n:08d}"], "emails": [f"iso{n}@owner.cn"]},
    )
    assert r.status_code == 201, r.text
    return {"contact_id": r.json()["id"]}


async def make_ticket(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    contact = await make_contact(hub, client, owner)
    r = await client.post(
        "/api/v1/crm/tickets",
        headers=owner.auth,
        json={"subject": "isolated ticket", "contact_id": contact["contact_id"]},
    )
    assert r.status_code == 201, r.text
    return {"ticket_id": r.json()["id"]}


async def make_sla_policy(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    r = await client.post(
        "/api/v1/crm/sla-policies",
        headers=owner.auth,
        json={"name": "isolated", "hours": {"0": ["09:00", "18:00"]}},
    )
    assert r.status_code == 201, r.text
    return {"policy_id": r.json()["id"]}


async def make_company(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    n = uuid.uuid4().int % 10**8  # company numbers and addresses are unique too
    r = await client.post(
        "/api/v1/crm/companies",
        headers=owner.auth,
        json={"name": "Isolated Co", "phones": [f"010{n:08d}"], "emails": [f"co{n}@owner.cn"]},
    )
    assert r.status_code == 201, r.text
    company_id = r.json()["id"]
    r = await client.post(
        "/api/v1/crm/contacts",
        headers=owner.auth,
        json={"name": "Isolated employee", "company_id": company_id},
    )
    assert r.status_code == 201, r.text
    return {"company_id": company_id}


CASES: dict[str, Case] = {
    "/api/v1/crm/companies/{company_id}": Case(
        make_company, {"PATCH": {"name": "hijacked", "phones": ["13800138000"]}}
    ),
    "/api/v1/crm/companies/{company_id}/contacts": Case(make_company),
    "/api/v1/crm/contacts/{contact_id}": Case(make_contact, {"PATCH": {"name": "hijacked"}}),
    "/api/v1/crm/contacts/{contact_id}/merge": Case(
        make_contact, {"POST": {"duplicate_id": str(uuid.uuid4())}}
    ),
    "/api/v1/crm/contacts/{contact_id}/timeline": Case(make_contact),
    "/api/v1/crm/tickets/{ticket_id}": Case(
        make_ticket, {"PATCH": {"subject": "hijacked", "status": "closed"}}
    ),
    "/api/v1/crm/tickets/{ticket_id}/timeline": Case(make_ticket),
    "/api/v1/crm/sla-policies/{policy_id}": Case(
        make_sla_policy, {"PATCH": {"name": "hijacked", "is_default": True}}
    ),
    "/api/v1/crm/tickets/{ticket_id}/replies": Case(
        make_ticket, {"POST": {"body": "hijacked", "channel": "email"}}
    ),
}
