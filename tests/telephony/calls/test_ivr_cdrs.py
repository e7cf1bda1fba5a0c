"""Calls that stay in the IVR (hung up in a menu, ended by the flow) still leave a CDR."""

from __future__ import annotations

import asyncio
from typing import Any

from calls_testkit import cdrs_of, eventually, publish_ivr, setup_members, wait_db

from comms.hub import Hub
from hubtest import TenantCtx
from telephony.ari.simulator import AriSimulator
from telephony.stasis.app import StasisApp

DID = "+861058007777"
CALLER = "+8613700000000"
FLOW: dict[str, Any] = {
    "start": "menu",
    "nodes": {
        "menu": {
            "type": "menu",
            "prompt": "sound:main-menu",
            "options": {"1": "zhang", "9": "bye"},
            "timeout": 5,
            "on_timeout": "bye",
        },
        "zhang": {"type": "route", "target": {"kind": "short_number", "value": "6001"}},
        "bye": {"type": "hangup"},
    },
}


def played(sim: AriSimulator, channel: str) -> list[str]:
    return [r.query["media"] for r in sim.requests_for(nickname="play", channelId=channel)]


async def in_menu(hub: Hub, sim: AriSimulator, tenant: TenantCtx) -> str:
    await setup_members(hub, tenant.id)
    await publish_ivr(hub, tenant.id, FLOW, DID)
    caller = sim.inbound_call(caller_number=CALLER, exten=DID)
    await eventually(sim, lambda: "sound:main-menu" in played(sim, caller))
    return caller


async def one_cdr(hub: Hub, tenant: TenantCtx) -> Any:
    async with asyncio.timeout(5):
        while not (found := await cdrs_of(hub, tenant.id)):
            await asyncio.sleep(0.01)
    [cdr] = found
    return cdr


async def test_hanging_up_in_the_menu_is_an_abandoned_call_with_a_cdr(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    caller = await in_menu(hub, sim, tenant)
    sim.remote_hangup(caller)
    cdr = await one_cdr(hub, tenant)
    assert (cdr.call_ref, cdr.caller, cdr.callee) == (f"ivr:{caller}", CALLER, DID)
    assert (cdr.disposition, cdr.charge, cdr.billed_member) == ("abandoned", 0, "")
    assert cdr.answered_at is None and cdr.started_at <= cdr.ended_at


async def test_a_flow_that_hangs_up_itself_leaves_an_answered_cdr(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    caller = await in_menu(hub, sim, tenant)
    sim.send_dtmf(caller, "9")
    await eventually(sim, lambda: caller not in sim.channels)
    cdr = await one_cdr(hub, tenant)
    assert (cdr.call_ref, cdr.disposition) == (f"ivr:{caller}", "answered")
    assert cdr.answered_at is not None and cdr.started_at <= cdr.answered_at <= cdr.ended_at


async def test_a_call_routed_to_a_member_has_only_the_member_calls_cdr(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    caller = await in_menu(hub, sim, tenant)
    sim.send_dtmf(caller, "1")  # 张伟's desk answers by default
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "answered")
    sim.remote_hangup(caller)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "ended")
    cdr = await one_cdr(hub, tenant)
    assert cdr.call_ref != f"ivr:{caller}" and cdr.disposition == "answered"
    await stasis.close()  # every IVR task has finished: no late second CDR
    assert len(await cdrs_of(hub, tenant.id)) == 1
