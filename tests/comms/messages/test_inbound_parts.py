"""Multipart inbound SMS: parts are kept in the database until the message is whole, so an
acknowledged part survives a restart, and the message is stored exactly once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from comms.bus.models import OutboxEvent
from comms.channels.sms.encoding import encode_ucs2
from comms.channels.sms.provider import InboundPart
from comms.channels.sms.smpp_inbound import GAP
from comms.db.base import utcnow
from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
from comms.messages import inbound_parts
from comms.messages.inbound import MessagingSink
from comms.messages.models import InboundSmsPart, Message
from hubtest import TenantCtx

NUMBER = "10690077"
FROM = "+8613800138000"
TEXT = ["您好，", "我想预约", "明天的会议室。"]


def part(seq: int, *, ref: int = 0x42, total: int = 3, wait: float = 300.0) -> InboundPart:
    return InboundPart(
        provider="smpp",
        sender=FROM,
        recipient=NUMBER,
        reference=ref,
        total=total,
        seq=seq,
        payload=encode_ucs2(TEXT[seq - 1]),
        data_coding=8,
        received_at=utcnow(),
        wait=wait,
    )


async def route(client: httpx.AsyncClient, tenant: TenantCtx) -> None:
    r = await client.put(
        "/api/v1/messaging/settings", headers=tenant.auth, json={"inbound_sms_numbers": [NUMBER]}
    )
    assert r.status_code == 200, r.text


async def inbound_bodies(hub: Hub, tenant: TenantCtx) -> list[str]:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        return list(await s.scalars(select(Message.body).order_by(Message.created_at)))


async def parts_left(hub: Hub) -> int:
    async with hub.db.session() as s:
        unscoped(s)
        return int(await s.scalar(select(func.count()).select_from(InboundSmsPart)) or 0)


async def inbound_events(hub: Hub) -> int:
    async with hub.db.session() as s:
        unscoped(s)
        q = select(func.count()).where(OutboxEvent.topic == "comms.message.inbound")
        return int(await s.scalar(q) or 0)


async def test_parts_in_any_order_and_repeated_make_one_message_when_the_last_arrives(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await route(client, tenant)
    sink: MessagingSink = hub.services["messaging.sink"]
    await sink.on_inbound_part(part(3))
    await sink.on_inbound_part(part(1))
    await sink.on_inbound_part(part(1))  # the SMSC re-sent a part whose resp it missed
    assert await inbound_bodies(hub, tenant) == []
    assert await parts_left(hub) == 2
    await sink.on_inbound_part(part(2))
    assert await inbound_bodies(hub, tenant) == ["".join(TEXT)]
    assert await parts_left(hub) == 0
    assert await inbound_events(hub) == 1


async def test_a_part_kept_before_a_restart_is_joined_by_the_rest_after_it(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await route(client, tenant)
    before: MessagingSink = hub.services["messaging.sink"]
    await before.on_inbound_part(part(1))
    after = MessagingSink(lambda: hub.db)  # a new process's sink: nothing in memory
    await after.on_inbound_part(part(2))
    await after.on_inbound_part(part(3))
    assert await inbound_bodies(hub, tenant) == ["".join(TEXT)]


async def test_an_incomplete_message_is_stored_with_gaps_once_its_wait_is_over(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await route(client, tenant)
    sink: MessagingSink = hub.services["messaging.sink"]
    await sink.on_inbound_part(part(1, wait=60))
    await sink.on_inbound_part(part(3, wait=60))
    assert await sink.deliver_overdue() == 0  # still waiting for part 2
    assert await sink.deliver_overdue(utcnow() + timedelta(seconds=61)) == 1
    assert await inbound_bodies(hub, tenant) == [f"{TEXT[0]}{GAP}{TEXT[2]}"]
    assert await parts_left(hub) == 0
    assert await sink.deliver_overdue(utcnow() + timedelta(seconds=61)) == 0


async def test_a_whole_message_left_by_a_crash_before_assembly_is_stored_by_the_sweep(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await route(client, tenant)
    async with hub.db.session() as s:  # every part committed, the process died before taking
        unscoped(s)
        for seq in (1, 2, 3):
            await inbound_parts.keep(s, part(seq))
        await s.commit()
    sink: MessagingSink = hub.services["messaging.sink"]
    assert await sink.deliver_overdue() == 1  # at once, not after the wait
    assert await inbound_bodies(hub, tenant) == ["".join(TEXT)]


async def test_last_parts_arriving_together_store_the_message_exactly_once(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await route(client, tenant)
    sink: MessagingSink = hub.services["messaging.sink"]
    for ref in range(5):
        await sink.on_inbound_part(part(1, ref=ref))
        await asyncio.gather(
            sink.on_inbound_part(part(2, ref=ref)), sink.on_inbound_part(part(3, ref=ref))
        )
    await sink.deliver_overdue()  # a group both transactions missed is the sweep's
    assert await inbound_bodies(hub, tenant) == ["".join(TEXT)] * 5
    assert await inbound_events(hub) == 5
    assert await parts_left(hub) == 0


async def test_parts_to_a_number_no_tenant_owns_are_kept_as_unrouted_once_whole(
    hub: Hub,
) -> None:
    sink: MessagingSink = hub.services["messaging.sink"]
    for seq in (1, 2, 3):
        await sink.on_inbound_part(part(seq))
    assert await parts_left(hub) == 0
    async with hub.db.session() as s:
        unscoped(s)
        assert await s.scalar(select(Message.id)) is None
