"""Batch queueing (campaigns) keeps every rule of queue_message: quota, recipient cap and
duplicate window counted across the batch, threads, and one status + queued event each."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import select

from comms.db.base import utcnow
from comms.db.tenancy import scoped_to
from comms.errors import InvalidInput
from comms.hub import Hub
from comms.messages.bulk import Queued, SmsItem, queue_sms_batch
from comms.messages.exceptions import QuotaExceeded, Suppressed
from comms.messages.models import Conversation, Message
from comms.messages.sweep import sweep
from hubtest import TenantCtx
from messages_testkit import events, post_sms, settle, statuses

A, B, C, D = "+8613800000001", "+8613800000002", "+8613800000003", "+8613800000004"


async def configure(client: httpx.AsyncClient, t: TenantCtx, **rules: object) -> None:
    r = await client.put(
        "/api/v1/messaging/settings", headers=t.auth, json={"sms_signature": "【汇通】", **rules}
    )
    assert r.status_code == 200, r.text


async def queue(
    hub: Hub, t: TenantCtx, items: list[SmsItem], *, claim: bool = False
) -> list[object]:
    async with hub.db.session() as s:
        scoped_to(s, t.id)
        out: list[object] = list(await queue_sms_batch(s, hub.settings, items, claim=claim))
        await s.commit()
    return out


async def test_batch_counts_quota_cap_and_duplicates_across_its_own_items(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await configure(client, tenant, sms_daily_quota=5, sms_recipient_daily_cap=2)
    await post_sms(client, tenant, to=A, body="earlier")  # one of A's two, one of the five
    out = await queue(
        hub,
        tenant,
        [
            SmsItem(A, "hi {{name}}", {"name": "甲"}),
            SmsItem(A, "again {{name}}", {"name": "甲"}),  # A's third today: capped
            SmsItem(B, "same"),
            SmsItem(B, "same"),  # same text to B within the window: duplicate
            SmsItem(C, "hi {{missing}}"),  # bad variable: refused, not counted
            SmsItem(C, "ok"),
            SmsItem(D, "one"),
            SmsItem(D, "two"),  # sixth of a quota of five
        ],
    )
    kinds = [o.reason if isinstance(o, Suppressed) else type(o).__name__ for o in out]
    assert kinds == [
        "Queued",
        "recipient_cap",
        "Queued",
        "duplicate",
        "InvalidInput",
        "Queued",
        "Queued",
        "QuotaExceeded",
    ]
    assert isinstance(out[4], InvalidInput) and out[4].field == "body"
    assert isinstance(out[7], QuotaExceeded)


async def test_batch_messages_are_threaded_signed_published_and_sent(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await configure(client, tenant)
    first = await post_sms(client, tenant, to=A, body="before")
    out = await queue(hub, tenant, [SmsItem(A, "x {{n}}", {"n": 1}), SmsItem(B, "y")])
    assert all(isinstance(o, Queued) for o in out)
    ids = [str(o.id) for o in out if isinstance(o, Queued)]
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        msgs = {str(m.id): m for m in await s.scalars(select(Message))}
        convs = {c.address: c for c in await s.scalars(select(Conversation))}
    assert msgs[ids[0]].body == "【汇通】x 1" and msgs[ids[0]].segments == 1
    assert str(msgs[ids[0]].conversation_id) == first["conversation_id"]
    assert convs[A].message_count == 2 and convs[B].message_count == 1
    assert {str(p["message_id"]) for p in await events(hub, "comms.message.queued")} >= set(ids)
    await settle(hub)
    for mid in ids:
        assert await statuses(hub, mid) == ["queued", "sending", "sent"]


async def test_a_new_number_twice_in_a_batch_starts_its_thread_at_two_messages(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await configure(client, tenant)
    out = await queue(hub, tenant, [SmsItem(B, "one"), SmsItem(A, "a"), SmsItem(B, "two")])
    assert all(isinstance(o, Queued) for o in out)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        convs = {c.address: c for c in await s.scalars(select(Conversation))}
    assert (convs[A].message_count, convs[B].message_count) == (1, 2)


async def test_two_batches_meeting_a_new_number_at_once_share_one_thread(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await configure(client, tenant)

    async def first_message(text: str, hold: asyncio.Event | None) -> None:
        async with hub.db.session() as s:
            scoped_to(s, tenant.id)
            [out] = await queue_sms_batch(s, hub.settings, [SmsItem(C, text)])
            assert isinstance(out, Queued)
            if hold is not None:
                await hold.wait()  # both have read "no thread for C" before either commits
            await s.commit()

    hold = asyncio.Event()
    first = asyncio.create_task(first_message("one", hold))
    await asyncio.sleep(0.2)
    # On PostgreSQL the second INSERT waits on the first's row, then skips it and counts
    # into that thread; on SQLite the writers queue whole transactions.
    second = asyncio.create_task(first_message("two", None))
    await asyncio.sleep(0.2)
    hold.set()
    await asyncio.gather(first, second)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        convs = list(await s.scalars(select(Conversation)))
        threads = set(await s.scalars(select(Message.conversation_id)))
    assert [(c.address, c.message_count) for c in convs] == [(C, 2)]
    assert threads == {convs[0].id}


async def test_batch_is_tenant_scoped(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    await configure(client, tenant)
    await configure(client, other_tenant, sms_recipient_daily_cap=1)
    await queue(hub, tenant, [SmsItem(A, "mine")])
    # The other tenant's cap does not count this tenant's message to A.
    (out,) = await queue(hub, other_tenant, [SmsItem(A, "theirs")])
    assert isinstance(out, Queued)
    async with hub.db.session() as s:
        scoped_to(s, other_tenant.id)
        convs = list(await s.scalars(select(Conversation)))
    assert [(c.address, c.message_count) for c in convs] == [(A, 1)]


async def test_claimed_batch_publishes_queued_and_sending_and_a_lost_claim_is_resumed(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await configure(client, tenant)
    # Claimed in the batch, but the process "dies" before its sender ran (nothing scheduled).
    (out,) = await queue(hub, tenant, [SmsItem(A, "claimed")], claim=True)
    assert isinstance(out, Queued)
    mid = str(out.id)
    assert await statuses(hub, mid) == ["queued", "sending"]
    assert await events(hub, "comms.message.queued") == []  # no per-message work event
    later = utcnow() + timedelta(seconds=hub.settings.messages_stale_after + 1)
    assert (await sweep(hub.db, hub.settings, now=later)).resumed == 1
    await settle(hub)
    assert await statuses(hub, mid) == ["queued", "sending", "queued", "sending", "sent"]
