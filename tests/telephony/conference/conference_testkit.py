"""Conference test data built through the real services, and waits on the database."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from comms.auth.principal import Principal
from comms.bus.models import OutboxEvent
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from telephony.conference import service
from telephony.conference.models import Participant, Room
from telephony.conference.schemas import RoomIn
from telephony.vpmn import service as vpmn
from telephony.vpmn.models import Cdr
from telephony.vpmn.schemas import MemberIn, PlanIn, TariffIn

ZHANG_DESK = "PJSIP/zhang-desk"
ZHANG_MOBILE = "PJSIP/+8613912345678@carrier"
LI_DESK = "PJSIP/li-desk"
LI_MOBILE = "PJSIP/+8613800001111@carrier"
WANG_DESK = "PJSIP/wang-desk"
OUTSIDER = "+8613700000000"


async def setup_members(hub: Hub, tenant_id: uuid.UUID) -> None:
    """Plan 4 digits (6/8); 张伟 6001 desk+mobile, 李娜 6002 desk+mobile, 王芳 8003 desk."""
    actor = Principal.system(tenant_id)
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        await vpmn.set_plan(s, actor, PlanIn(short_length=4, prefixes=["6", "8"]))
        await vpmn.set_tariff(
            s, actor, TariffIn(in_network_rate=10, on_net_mobile_rate=15, off_net_rate=30)
        )
        for data in (
            MemberIn(
                name="张伟",
                short_number="6001",
                mobile="+8613912345678",
                desk_endpoint=ZHANG_DESK,
            ),
            MemberIn(
                name="李娜", short_number="6002", mobile="+8613800001111", desk_endpoint=LI_DESK
            ),
            MemberIn(name="王芳", short_number="8003", desk_endpoint=WANG_DESK),
        ):
            await vpmn.create_member(s, actor, data)


async def make_room(hub: Hub, tenant_id: uuid.UUID, **extra: object) -> Room:
    data = {
        "name": "Sales weekly",
        "number": "6100",
        "did": "+862161234567",
        "participant_pin": "1234",
        "moderator_pin": "9999",
        **extra,
    }
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        return await service.create_room(s, Principal.system(tenant_id), RoomIn(**data))  # type: ignore[arg-type]


async def people(hub: Hub, tenant_id: uuid.UUID) -> dict[str, Participant]:
    """Participants by number (the latest row per number)."""
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        rows = await s.scalars(select(Participant).order_by(Participant.created_at))
        return {p.number: p for p in rows}


async def cdrs(hub: Hub, tenant_id: uuid.UUID) -> list[Cdr]:
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        return list(await s.scalars(select(Cdr).order_by(Cdr.started_at)))


async def topics(hub: Hub, tenant_id: uuid.UUID, prefix: str) -> list[dict[str, object]]:
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        rows = await s.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
        return [{"topic": r.topic, **r.payload} for r in rows if r.topic.startswith(prefix)]


async def until(check: Callable[[], Awaitable[bool] | bool], timeout: float = 15) -> None:
    """Poll ``check`` (plain or async) until it holds."""
    async with asyncio.timeout(timeout):
        while True:
            result = check()
            if await result if inspect.isawaitable(result) else result:
                return
            await asyncio.sleep(0.01)
