"""Office SMS campaigns: signature rules, scheduling, chunked idempotent expansion, counts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from comms.bus.models import Delivery, OutboxEvent
from comms.campaigns import service
from comms.campaigns.events import CampaignChunk
from comms.campaigns.models import CampaignRecipient, RecipientStatus
from comms.campaigns.service import release_due
from comms.db.base import utcnow
from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
from comms.jobs import repeat
from hubtest import RecordingDispatcher, TenantCtx, undispatched
from messages_testkit import CountingProvider, settle, use_provider

SIGNATURE = "【某某公司】"


async def sign(client: httpx.AsyncClient, t: TenantCtx) -> None:
    r = await client.put(
        "/api/v1/messaging/settings",
        headers=t.auth,
        json={"sms_signature": SIGNATURE, "inbound_sms_numbers": ["1069000"]},
    )
    assert r.status_code == 200, r.text


def phone(i: int) -> str:
    return f"+86138{i:08d}"


async def post_campaign(
    client: httpx.AsyncClient, t: TenantCtx, expect: int = 202, **body: Any
) -> dict[str, Any]:
    body.setdefault("name", "c")
    r = await client.post("/api/v1/sms/campaigns", headers=t.auth, json=body)
    assert r.status_code == expect, r.text
    data: dict[str, Any] = r.json()
    return data


async def get_campaign(client: httpx.AsyncClient, t: TenantCtx, cid: str) -> dict[str, Any]:
    r = await client.get(f"/api/v1/sms/campaigns/{cid}", headers=t.auth)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def run_chunk_deliveries(hub: Hub) -> int:
    """Relay, but run only the campaign's chunk deliveries: the 2,500 sends are not this
    test's subject (the send path has its own tests) and would dominate its time."""
    dispatcher = hub.dispatcher
    assert isinstance(dispatcher, RecordingDispatcher)
    runs = 0
    for _ in range(100):
        await hub.relay.run_once()
        ids = dispatcher.take()
        if not ids:
            if await undispatched(hub):
                continue  # a pass of events no subscriber's filter wanted
            return runs
        async with hub.db.session() as s:
            unscoped(s)
            mine = list(
                await s.scalars(
                    select(Delivery.id).where(
                        Delivery.id.in_(ids), Delivery.subscriber == "comms.campaigns.dispatch"
                    )
                )
            )
        if mine:
            await hub.run_deliveries(mine)
            runs += 1
    raise AssertionError("campaign chunks did not settle")


async def test_campaign_without_a_tenant_signature_is_refused_naming_it(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    r = await client.post(
        "/api/v1/sms/campaigns",
        headers=tenant.auth,
        json={"name": "c", "body": "hi", "recipients": [{"phone": "13800138000"}]},
    )
    assert r.status_code == 409
    assert r.json()["field"] == "sms_signature"


async def test_unknown_template_variable_is_a_422_naming_the_recipient_field(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await sign(client, tenant)
    r = await client.post(
        "/api/v1/sms/campaigns",
        headers=tenant.auth,
        json={
            "name": "c",
            "body": "{{name}} 请于 {{time}} 到会",
            "recipients": [
                {"phone": "13800138000", "variables": {"time": "9:00"}},
                {"phone": "13800138001", "variables": {}},
            ],
        },
    )
    assert r.status_code == 422
    assert r.json()["field"] == "recipients[1].variables"
    assert "time" in r.json()["detail"]


async def test_sent_text_carries_signature_variables_and_opt_out_line_for_marketing(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider = CountingProvider()
    use_provider(hub, provider)
    await sign(client, tenant)
    notice = await post_campaign(
        client,
        tenant,
        body="{{name}}：{{time}}开会",
        recipients=[{"phone": "13800138000", "name": "张三", "variables": {"time": "9点"}}],
    )
    assert notice["status"] == "queued" and notice["counts"]["recipients"] == 1
    await post_campaign(
        client, tenant, kind="marketing", body="新品上市", recipients=[{"phone": "13800138001"}]
    )
    await settle(hub)
    texts = {sms.text for sms in provider.submitted}
    assert texts == {f"{SIGNATURE}新品上市回T退订", f"{SIGNATURE}张三：9点开会"}
    report = await get_campaign(client, tenant, notice["id"])
    assert report["status"] == "dispatched"
    counts = report["counts"]
    assert (counts["recipients"], counts["sent"], counts["failed"]) == (1, 1, 0)
    assert counts["segments"] == 1 and counts["estimated_cost"] == "0.04"


async def test_scheduled_campaign_waits_for_its_local_time_then_sends(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await sign(client, tenant)
    later = (utcnow() + timedelta(hours=2)).replace(tzinfo=None) + timedelta(hours=8)
    c = await post_campaign(
        client,
        tenant,
        body="周会",
        recipients=[{"phone": "13800138000"}],
        scheduled_at=later.isoformat(),  # Asia/Shanghai wall clock, two hours from now
    )
    assert c["status"] == "scheduled"
    await settle(hub)
    assert await service.release_due(hub.db, now=utcnow() + timedelta(hours=1)) == 0
    assert (await get_campaign(client, tenant, c["id"]))["counts"]["queued"] == 0
    assert await service.release_due(hub.db, now=utcnow() + timedelta(hours=2, minutes=1)) == 1
    assert await repeat(release_due, hub.db, 0) == 0  # already started: the cron command adds none
    await settle(hub)
    report = await get_campaign(client, tenant, c["id"])
    assert report["status"] == "dispatched" and report["counts"]["sent"] == 1


async def test_group_campaign_of_2500_is_expanded_in_chunks_and_redelivery_adds_nothing(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await sign(client, tenant)
    r = await client.post(
        "/api/v1/sms/groups", headers=tenant.auth, json={"name": "全员", "kind": "department"}
    )
    assert r.status_code == 201, r.text
    gid = r.json()["id"]
    members = [{"phone": phone(i), "name": f"员工{i}"} for i in range(2500)]
    r = await client.post(
        f"/api/v1/sms/groups/{gid}/members", headers=tenant.auth, json={"members": members}
    )
    assert r.json()["member_count"] == 2500
    c = await post_campaign(client, tenant, body="{{name}}，明天放假", group_id=gid)
    assert c["counts"]["recipients"] == 2500 and c["counts"]["pending"] == 2500
    assert await run_chunk_deliveries(hub) == 3  # one delivery per 1,000-row chunk
    async with hub.db.session() as s:
        unscoped(s)
        chunks = list(
            await s.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.topic == CampaignChunk.topic)
                .order_by(OutboxEvent.id)
            )
        )
        assert [e.payload["after_id"] > 0 for e in chunks] == [False, True, True]
        # Redelivering every chunk event (a broker repeat, a rerun) queues nothing new.
        scoped_to(s, tenant.id)
        for e in chunks:
            await service.dispatch_chunk(s, hub.settings, CampaignChunk(**e.payload))
        await s.commit()
        queued = await s.scalar(
            select(func.count(func.distinct(CampaignRecipient.message_id))).where(
                CampaignRecipient.status == RecipientStatus.QUEUED
            )
        )
    assert queued == 2500
    report = await get_campaign(client, tenant, c["id"])
    assert report["status"] == "dispatched"
    assert report["counts"]["recipients"] == 2500 and report["counts"]["pending"] == 0


async def test_scheduled_campaign_sends_nothing_if_the_signature_was_removed_meanwhile(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider = CountingProvider()
    use_provider(hub, provider)
    await sign(client, tenant)
    c = await post_campaign(
        client,
        tenant,
        body="周会",
        recipients=[{"phone": "13800138000"}],
        scheduled_at=(utcnow() + timedelta(minutes=5)).isoformat(),
    )
    r = await client.put("/api/v1/messaging/settings", headers=tenant.auth, json={})
    assert r.status_code == 200
    assert await service.release_due(hub.db, now=utcnow() + timedelta(minutes=6)) == 1
    await settle(hub)
    report = await get_campaign(client, tenant, c["id"])
    assert (report["counts"]["skipped"], report["counts"]["sent"]) == (1, 0)
    assert provider.submitted == []
