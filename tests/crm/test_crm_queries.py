"""crm's answers to other packages: the screen pop's contact by phone, scoped to the tenant."""

from __future__ import annotations

import httpx

from comms.db.tenancy import scoped_to
from comms.hub import Hub
from crm_testkit import make_contact
from hubtest import TenantCtx


async def test_contact_by_phone_names_company_and_latest_tickets(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    co = await client.post("/api/v1/crm/companies", headers=tenant.auth, json={"name": "Acme"})
    assert co.status_code == 201, co.text
    c = await make_contact(client, tenant, phones=["13800138000"], company_id=co.json()["id"])
    for subject in ("no dial tone", "bill too high"):
        r = await client.post(
            "/api/v1/crm/tickets",
            headers=tenant.auth,
            json={"subject": subject, "contact_id": c["id"]},
        )
        assert r.status_code == 201, r.text
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        pop = await hub.queries.ask(s, "crm.contact_by_phone", {"phone": "138 0013 8000"})
    assert pop["name"] == "Li Lei" and pop["company"] == "Acme"
    assert [t["subject"] for t in pop["recent_tickets"]] == ["bill too high", "no dial tone"]


async def test_another_tenants_caller_is_unknown(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    await make_contact(client, other_tenant, phones=["13800138000"])
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        assert await hub.queries.ask(s, "crm.contact_by_phone", {"phone": "+8613800138000"}) is None


async def test_a_switchboard_number_pops_its_company_with_its_contacts_tickets(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    body = {"name": "Acme", "phones": ["010 6552 9988"], "tags": ["key account"]}
    co = await client.post("/api/v1/crm/companies", headers=tenant.auth, json=body)
    assert co.status_code == 201, co.text
    staff = await make_contact(client, tenant, phones=["13800138000"], company_id=co.json()["id"])
    loner = await make_contact(client, tenant, "Wang Fang", phones=["13900139000"])
    for subject, who in (("router down", staff), ("not theirs", loner)):
        r = await client.post(
            "/api/v1/crm/tickets",
            headers=tenant.auth,
            json={"subject": subject, "contact_id": who["id"]},
        )
        assert r.status_code == 201, r.text
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        pop = await hub.queries.ask(s, "crm.contact_by_phone", {"phone": "+861065529988"})
        person = await hub.queries.ask(s, "crm.contact_by_phone", {"phone": "13800138000"})
        scoped_to(s, other_tenant.id)
        theirs = await hub.queries.ask(s, "crm.contact_by_phone", {"phone": "+861065529988"})
    assert (pop["kind"], pop["id"], pop["company_id"]) == ("company", None, co.json()["id"])
    assert (pop["name"], pop["phones"], pop["tags"]) == ("Acme", ["+861065529988"], ["key account"])
    assert [t["subject"] for t in pop["recent_tickets"]] == ["router down"]
    # The person's own number still pops the person, naming the company.
    assert (person["kind"], person["id"], person["company"]) == ("contact", staff["id"], "Acme")
    assert theirs is None
