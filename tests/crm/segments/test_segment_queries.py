"""crm.in_segment and crm.segment_members: what IVR conditions and SMS campaigns ask."""

from __future__ import annotations

from typing import Any

import httpx

from comms.db.tenancy import scoped_to
from comms.hub import Hub
from crm_testkit import make_contact
from hubtest import TenantCtx


async def ask(hub: Hub, t: TenantCtx, name: str, args: dict[str, str]) -> Any:
    async with hub.db.session() as s:
        scoped_to(s, t.id)
        return await hub.queries.ask(s, name, args)


async def save(client: httpx.AsyncClient, t: TenantCtx, name: str, f: dict[str, Any]) -> None:
    r = await client.post("/api/v1/crm/segments", headers=t.auth, json={"name": name, "filter": f})
    assert r.status_code == 201, r.text


async def test_in_segment_finds_the_caller_by_any_form_of_the_number(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await make_contact(client, tenant, "VIP", phones=["13800138000", "010 6552 9988"], tags=["vip"])
    await make_contact(client, tenant, "Plain", phones=["13900139000"])
    await save(client, tenant, "VIP 客户", {"tags_any": ["vip"]})
    for phone in ("+8613800138000", "138 0013 8000", "+861065529988"):
        assert await ask(hub, tenant, "crm.in_segment", {"segment": "VIP 客户", "phone": phone})
    assert not await ask(
        hub, tenant, "crm.in_segment", {"segment": "VIP 客户", "phone": "13900139000"}
    )
    assert not await ask(
        hub, tenant, "crm.in_segment", {"segment": "VIP 客户", "phone": "13700137000"}
    )
    assert not await ask(hub, tenant, "crm.in_segment", {"segment": "nope", "phone": "13800138000"})


async def test_in_segment_with_a_prefix_filter_checks_the_prefix_on_any_number(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await make_contact(client, tenant, "Two", phones=["010 6552 9988", "13800138000"])
    await make_contact(client, tenant, "Desk", phones=["010 6552 9977"])
    await save(client, tenant, "mobile 138", {"phone_prefix": "138", "tags_any": []})
    for caller, member in (("+861065529988", True), ("+861065529977", False)):
        args = {"segment": "mobile 138", "phone": caller}
        assert await ask(hub, tenant, "crm.in_segment", args) is member, caller


async def test_segment_members_lists_name_phone_and_email_of_each(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    a = await make_contact(
        client,
        tenant,
        "Amy",
        phones=["13800138000", "13800138001"],
        emails=["amy@x.cn"],
        tags=["t"],
    )
    b = await make_contact(client, tenant, "Ben", emails=["ben@x.cn"], tags=["t"])
    await make_contact(client, tenant, "Cat", phones=["13900139000"])
    await save(client, tenant, "tagged", {"tags_all": ["t"]})
    got = await ask(hub, tenant, "crm.segment_members", {"segment": "tagged"})
    assert got == [
        {"contact_id": a["id"], "name": "Amy", "phone": "+8613800138000", "email": "amy@x.cn"},
        {"contact_id": b["id"], "name": "Ben", "phone": None, "email": "ben@x.cn"},
    ]
    assert await ask(hub, tenant, "crm.segment_members", {"segment": "missing"}) == []


async def test_another_tenants_segment_and_contacts_are_invisible(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    await make_contact(client, other_tenant, "Theirs", phones=["13800138000"], tags=["vip"])
    await save(client, other_tenant, "vip", {"tags_any": ["vip"]})
    assert not await ask(hub, tenant, "crm.in_segment", {"segment": "vip", "phone": "13800138000"})
    assert await ask(hub, tenant, "crm.segment_members", {"segment": "vip"}) == []
    await save(client, tenant, "vip", {})  # same name here: still none of theirs
    assert not await ask(hub, tenant, "crm.in_segment", {"segment": "vip", "phone": "13800138000"})
    assert await ask(hub, tenant, "crm.segment_members", {"segment": "vip"}) == []
