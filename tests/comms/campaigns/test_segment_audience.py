"""Campaigns to a CRM segment: members come from the `crm.segment_members` query (comms
imports no crm), and without a package answering it the API names the `segment` field."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest
from campaigns_testkit import counts, setup_tenant
from sqlalchemy import select

from comms.campaigns.models import CampaignRecipient
from comms.campaigns.segments import SEGMENT_MEMBERS
from comms.db.tenancy import current_tenant, scoped_to
from comms.hub import Hub
from comms.modules import Module
from comms.settings import Settings
from hubtest import RecordingDispatcher, TenantCtx, all_modules
from messages_testkit import settle

SEGMENTS: dict[str, list[dict[str, Any]]] = {
    "vip": [
        {"contact_id": "c1", "name": "王伟", "phone": "+8613800138000", "email": None},
        {"contact_id": "c2", "name": "李娜", "phone": None, "email": "li@example.cn"},
        {"contact_id": "c3", "name": "张敏", "phone": "13800138001", "email": None},
        {"contact_id": "c1", "name": "王伟", "phone": "+8613800138000", "email": None},
    ],
    "nobody-reachable": [{"contact_id": "c2", "name": "李娜", "phone": None, "email": None}],
}
asked: list[tuple[uuid.UUID | None, str]] = []


async def segment_members(session: Any, args: Mapping[str, str]) -> list[dict[str, Any]]:
    asked.append((current_tenant(session), args["segment"]))
    return SEGMENTS.get(args["segment"], [])


fake_crm = Module(name="fake_crm", queries={SEGMENT_MEMBERS: segment_members})


@pytest.fixture
def crm_installed() -> bool:
    return True


@pytest.fixture
async def hub(settings: Settings, crm_installed: bool) -> AsyncIterator[Hub]:
    # Leave out any real package answering the query (crm, once merged): this test owns it.
    modules = [m for m in all_modules() if SEGMENT_MEMBERS not in m.queries]
    if crm_installed:
        modules.append(fake_crm)
    h = Hub(settings, modules, dispatcher=RecordingDispatcher())
    asked.clear()
    yield h
    await h.stop()


async def post(client: httpx.AsyncClient, t: TenantCtx, **body: Any) -> httpx.Response:
    return await client.post(
        "/api/v1/sms/campaigns", headers=t.auth, json={"name": "会员日", **body}
    )


async def test_segment_members_with_a_phone_become_recipients_once(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_tenant(client, tenant)
    r = await post(client, tenant, body="{{name}}您好，会员日全场九折", segment="vip")
    assert r.status_code == 202, r.text
    assert r.json()["segment"] == "vip"
    assert asked == [(tenant.id, "vip")]  # asked with a session scoped to the tenant
    await settle(hub)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        rows = list(await s.scalars(select(CampaignRecipient).order_by(CampaignRecipient.phone)))
    assert [(r.phone, r.name, (r.variables or {}).get("contact_id")) for r in rows] == [
        ("+8613800138000", "王伟", "c1"),
        ("+8613800138001", "张敏", "c3"),
    ]
    got = await counts(client, tenant, r.json()["id"])
    assert (got["recipients"], got["sent"]) == (2, 2)


async def test_a_segment_without_reachable_members_or_with_unknown_variables_is_a_422(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_tenant(client, tenant)
    r = await post(client, tenant, body="hi", segment="nobody-reachable")
    assert (r.status_code, r.json()["field"]) == (422, "segment")
    r = await post(client, tenant, body="{{points}} 积分", segment="vip")
    assert (r.status_code, r.json()["field"]) == (422, "body")
    r = await post(client, tenant, body="hi", segment="vip", recipients=[{"phone": "13800138000"}])
    assert (r.status_code, r.json()["field"]) == (422, "recipients")


@pytest.mark.parametrize("crm_installed", [False])
async def test_without_a_package_answering_segment_members_the_422_names_segment(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_tenant(client, tenant)
    r = await post(client, tenant, body="hi", segment="vip")
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "segment"
    assert SEGMENT_MEMBERS in r.json()["detail"]
    listed = await client.get("/api/v1/sms/campaigns", headers=tenant.auth)
    assert listed.json() == []
