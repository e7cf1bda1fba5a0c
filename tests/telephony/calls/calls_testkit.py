"""Helpers for call-flow tests: wait for app state, read calls, CDRs and published topics."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from comms.auth.principal import Principal
from comms.bus.models import OutboxEvent
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from telephony.ari import ReconnectPolicy
from telephony.ari.simulator import AriSimulator
from telephony.calls.models import Call, CallLeg, CallTransition
from telephony.ivr import service as ivr
from telephony.vpmn import service as vpmn
from telephony.vpmn.models import Cdr
from telephony.vpmn.resolve import RingStrategy
from telephony.vpmn.schemas import MemberIn, PlanIn, TariffIn

FAST_RECONNECT = ReconnectPolicy(initial_delay=0.02, max_delay=0.2, stable_after=30.0)


async def eventually(sim: AriSimulator, predicate: Callable[[], bool], timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        await sim.wait_until(predicate)


async def wait_db(hub: Hub, tenant_id: uuid.UUID, check: Callable[[list[Call]], bool]) -> None:
    """Poll the tenant's calls until there are some and ``check`` holds on them."""
    async with asyncio.timeout(5):
        while True:
            found = await calls_of(hub, tenant_id)
            if found and check(found):
                return
            await asyncio.sleep(0.01)


async def calls_of(hub: Hub, tenant_id: uuid.UUID) -> list[Call]:
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        return list(await s.scalars(select(Call).order_by(Call.started_at)))


async def legs_of(hub: Hub, tenant_id: uuid.UUID, call_id: uuid.UUID) -> list[CallLeg]:
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        q = select(CallLeg).where(CallLeg.call_id == call_id).order_by(CallLeg.created_at)
        return list(await s.scalars(q))


async def moves_of(hub: Hub, tenant_id: uuid.UUID, call_id: uuid.UUID) -> list[str]:
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        q = select(CallTransition).where(CallTransition.call_id == call_id)
        rows = sorted(await s.scalars(q), key=lambda t: t.at)
        return [f"{t.from_state.value}>{t.to_state.value}" for t in rows]


async def cdrs_of(hub: Hub, tenant_id: uuid.UUID) -> list[Cdr]:
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        return list(await s.scalars(select(Cdr)))


async def topics_of(hub: Hub, tenant_id: uuid.UUID) -> list[str]:
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        rows = await s.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
        return [r.topic for r in rows if r.topic.startswith("telephony.call.")]


def ops(sim: AriSimulator, channel_id: str) -> list[str]:
    return sim.operations_on(channel_id)


async def setup_members(hub: Hub, tenant_id: uuid.UUID) -> None:
    """Plan 4 digits (6/8), 张伟 6001 desk+mobile sequential, 李娜 6002 simultaneous, 8003."""
    actor = Principal.system(tenant_id)
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        await vpmn.set_plan(s, actor, PlanIn(short_length=4, prefixes=["6", "8"]))
        await vpmn.set_tariff(
            s,
            actor,
            TariffIn(in_network_rate=10, on_net_mobile_rate=15, off_net_rate=30),
        )
        for data in (
            MemberIn(
                name="张伟",
                department="Sales",
                short_number="6001",
                mobile="+8613912345678",
                desk_endpoint="PJSIP/zhang-desk",
                desk_timeout=15,
                mobile_timeout=20,
            ),
            MemberIn(
                name="李娜",
                department="Sales",
                short_number="6002",
                mobile="+8613800001111",
                desk_endpoint="PJSIP/li-desk",
                strategy=RingStrategy.SIMULTANEOUS,
            ),
            MemberIn(name="王芳", department="Support", short_number="8003", desk_endpoint="8003"),
        ):
            await vpmn.create_member(s, actor, data)


ZHANG_DESK = "PJSIP/zhang-desk"
ZHANG_MOBILE = "PJSIP/+8613912345678@carrier"
LI_DESK = "PJSIP/li-desk"
LI_MOBILE = "PJSIP/+8613800001111@carrier"
OUTSIDER = "+8613700000000"


async def publish_ivr(hub: Hub, tenant_id: uuid.UUID, document: dict[str, Any], did: str) -> None:
    """Publish ``document`` as a flow and map ``did`` to it."""
    actor = Principal.system(tenant_id)
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        flow = await ivr.create_flow(s, actor, f"flow-{did}", document)
        await ivr.publish(s, actor, flow.id)
        await ivr.create_entry(s, actor, did, flow.id)
