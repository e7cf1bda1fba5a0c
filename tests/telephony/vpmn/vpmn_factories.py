"""VPMN test data built through the real services."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from comms.auth.principal import Principal
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.vpmn import service
from telephony.vpmn.models import Cdr, Disposition, Member
from telephony.vpmn.schemas import CdrIn, MemberIn, PlanIn, TariffIn


async def setup_vpmn(hub: Hub, tenant: TenantCtx) -> dict[str, Member]:
    """Plan 4 digits / prefixes 6 and 8, three members, a 6 s tariff with 50 % in-network off."""
    actor = Principal.system(tenant.id)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        await service.set_plan(s, actor, PlanIn(short_length=4, prefixes=["6", "8"]))
        await service.set_tariff(
            s,
            actor,
            TariffIn(
                in_network_rate=10,
                on_net_mobile_rate=15,
                off_net_rate=30,
                increment_seconds=6,
                minimum_charge=2,
                in_network_discount_pct=50,
                on_net_prefixes=["+86139"],
            ),
        )
        zhang = await service.create_member(
            s,
            actor,
            MemberIn(
                name="张伟",
                department="Sales",
                short_number="6001",
                mobile="13912345678",
                desk_endpoint="8001",
            ),
        )
        li = await service.create_member(
            s,
            actor,
            MemberIn(
                name="李娜",
                department="Sales",
                short_number="6002",
                mobile="+8613800001111",
                strategy="simultaneous",  # type: ignore[arg-type]
            ),
        )
        wang = await service.create_member(
            s,
            actor,
            MemberIn(name="王芳", department="Support", short_number="8003", desk_endpoint="8003"),
        )
    return {"zhang": zhang, "li": li, "wang": wang}


async def add_cdr(
    hub: Hub,
    tenant: TenantCtx,
    ref: str,
    caller: str,
    callee: str,
    start: datetime,
    talk: int | None,
    **extra: Any,
) -> Cdr:
    """A finished call: answered after 5 s and ``talk`` seconds long, or unanswered (None)."""
    answered = start + timedelta(seconds=5) if talk is not None else None
    ended = (answered + timedelta(seconds=talk)) if answered and talk is not None else start
    data = CdrIn(
        call_ref=ref,
        caller=caller,
        callee=callee,
        started_at=start,
        answered_at=answered,
        ended_at=ended + timedelta(seconds=0 if talk is not None else 20),
        disposition=Disposition.ANSWERED if talk is not None else Disposition.NO_ANSWER,
        **extra,
    )
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        return await service.record_cdr(s, tenant.id, data)
