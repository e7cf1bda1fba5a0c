"""IVR segment conditions and internal lookups on a live ARI call, asked for the DID's tenant."""

from __future__ import annotations

import copy

from calls_testkit import eventually
from ivr_query_fakes import FLOW, VIP, Asked

from comms.auth.principal import Principal
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.ari.simulator import AriSimulator
from telephony.ivr import service as ivr
from telephony.stasis.app import StasisApp

DID = "+861058009999"


async def publish(hub: Hub, tenant: TenantCtx, query: str = "erp.order_status") -> None:
    doc = copy.deepcopy(FLOW)
    doc["nodes"]["look"]["query"] = query
    actor = Principal.system(tenant.id)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        flow = await ivr.create_flow(s, actor, "orders", doc)
        await ivr.publish(s, actor, flow.id)
        await ivr.create_entry(s, actor, DID, flow.id)


def played(sim: AriSimulator, channel: str) -> list[str]:
    return [r.query["media"] for r in sim.requests_for(nickname="play", channelId=channel)]


async def until_played(sim: AriSimulator, channel: str, media: str) -> None:
    await eventually(sim, lambda: media in played(sim, channel))


async def test_a_vip_hears_the_greeting_and_the_order_status_is_looked_up(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx, asked: Asked
) -> None:
    await publish(hub, tenant)
    caller = sim.inbound_call(caller_number=VIP, exten=DID)
    await until_played(sim, caller, "sound:enter-order")
    sim.send_dtmf(caller, "1234")
    await until_played(sim, caller, "sound:order-found")
    await eventually(sim, lambda: caller not in sim.channels)
    assert played(sim, caller) == ["sound:vip-welcome", "sound:enter-order", "sound:order-found"]
    assert asked.log == [
        ("crm.in_segment", tenant.id, {"segment": "vip", "phone": VIP}),
        ("erp.order_status", tenant.id, {"number": "1234", "caller": VIP, "phone": VIP}),
    ]


async def test_an_unknown_order_and_an_ordinary_caller_take_the_other_branches(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await publish(hub, tenant)
    caller = sim.inbound_call(caller_number="+8613900000000", exten=DID)
    await until_played(sim, caller, "sound:enter-order")
    sim.send_dtmf(caller, "9999")
    await until_played(sim, caller, "sound:order-unknown")
    assert "sound:vip-welcome" not in played(sim, caller)


async def test_a_query_no_package_answers_takes_on_error_and_the_call_goes_on(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await publish(hub, tenant, query="erp.no_such_question")
    caller = sim.inbound_call(caller_number=VIP, exten=DID)
    await until_played(sim, caller, "sound:enter-order")
    sim.send_dtmf(caller, "1234")
    await until_played(sim, caller, "sound:order-unknown")
    await eventually(sim, lambda: caller not in sim.channels)
    assert "hangup" in sim.operations_on(caller)
