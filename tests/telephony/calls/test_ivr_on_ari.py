"""IVR flows on a DID, run by the Stasis app against the ARI simulator, branch by branch."""

from __future__ import annotations

import copy
from typing import Any

from calls_testkit import ZHANG_DESK, calls_of, eventually, ops, setup_members, wait_db

from comms.auth.principal import Principal
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.ari.simulator import AriSimulator
from telephony.ivr import service as ivr
from telephony.stasis.app import StasisApp

FLOW: dict[str, Any] = {
    "start": "menu",
    "nodes": {
        "menu": {
            "type": "menu",
            "prompt": "sound:main-menu",
            "options": {"1": "zhang", "2": "order", "3": "vm"},
            "timeout": 2.0,
            "retries": 1,
            "invalid_prompt": "sound:invalid",
            "on_timeout": "bye",
        },
        "zhang": {"type": "route", "target": {"kind": "short_number", "value": "6001"}},
        "order": {
            "type": "gather",
            "prompt": "sound:enter-order",
            "digits": 4,
            "timeout": 0.5,
            "variable": "order_no",
            "next": "thanks",
        },
        "thanks": {"type": "play", "media": "sound:thanks", "next": "bye"},
        "vm": {"type": "voicemail", "mailbox": "6001", "prompt": "sound:leave-message"},
        "bye": {"type": "hangup"},
    },
}


async def publish_flow(hub: Hub, tenant: TenantCtx, menu_timeout: float | None = None) -> None:
    await setup_members(hub, tenant.id)
    doc = copy.deepcopy(FLOW)
    if menu_timeout is not None:
        doc["nodes"]["menu"]["timeout"] = menu_timeout
    actor = Principal.system(tenant.id)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        flow = await ivr.create_flow(s, actor, "main", doc)
        await ivr.publish(s, actor, flow.id)
        await ivr.create_entry(s, actor, "+861058001234", flow.id)


def dial_did(sim: AriSimulator) -> str:
    # The trunk delivers the DID in national form; the tenant is found from the number.
    return sim.inbound_call(caller_number="+8613700000000", exten="01058001234")


def played(sim: AriSimulator, channel: str) -> list[str]:
    return [r.query["media"] for r in sim.requests_for(nickname="play", channelId=channel)]


async def prompt(sim: AriSimulator, channel: str, media: str) -> None:
    await eventually(sim, lambda: media in played(sim, channel))


async def test_option_one_routes_to_the_member_who_answers(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await publish_flow(hub, tenant)
    caller = dial_did(sim)
    await prompt(sim, caller, "sound:main-menu")
    sim.send_dtmf(caller, "1")
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "answered")
    [call] = await calls_of(hub, tenant.id)
    assert (call.callee, call.caller) == ("6001", "+8613700000000")
    assert any(c.endpoint == ZHANG_DESK for c in sim.channels.values())
    assert ops(sim, caller)[0] == "answer"  # the IVR answered before prompting


async def test_gathered_digits_then_thanks_then_goodbye(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await publish_flow(hub, tenant)
    caller = dial_did(sim)
    await prompt(sim, caller, "sound:main-menu")
    sim.send_dtmf(caller, "2")
    await prompt(sim, caller, "sound:enter-order")
    sim.send_dtmf(caller, "1234")
    await eventually(sim, lambda: caller not in sim.channels)
    await eventually(sim, lambda: caller in stasis.ivr.finished)
    assert played(sim, caller) == ["sound:main-menu", "sound:enter-order", "sound:thanks"]
    assert stasis.ivr.finished[caller] == ["menu", "order", "thanks", "bye"]


async def test_silence_retries_once_then_hangs_up(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await publish_flow(hub, tenant, menu_timeout=0.05)
    caller = dial_did(sim)
    await eventually(sim, lambda: caller not in sim.channels)
    await eventually(sim, lambda: caller in stasis.ivr.finished)
    assert played(sim, caller) == ["sound:main-menu", "sound:main-menu"]
    assert stasis.ivr.finished[caller] == ["menu", "menu", "bye"]


async def test_wrong_key_hears_the_invalid_prompt(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await publish_flow(hub, tenant)
    caller = dial_did(sim)
    await prompt(sim, caller, "sound:main-menu")
    sim.send_dtmf(caller, "9")
    await eventually(sim, lambda: len(played(sim, caller)) >= 3)
    assert played(sim, caller)[:3] == ["sound:main-menu", "sound:invalid", "sound:main-menu"]
    sim.remote_hangup(caller)
    await eventually(sim, lambda: caller in stasis.ivr.finished)


async def test_voicemail_records_until_hash(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await publish_flow(hub, tenant)
    caller = dial_did(sim)
    await prompt(sim, caller, "sound:main-menu")
    sim.send_dtmf(caller, "3")
    await eventually(sim, lambda: bool(sim.requests_for(nickname="record", channelId=caller)))
    await eventually(sim, lambda: bool(sim.live_recordings))
    sim.send_dtmf(caller, "#")
    await eventually(sim, lambda: caller not in sim.channels)
    record = sim.requests_for(nickname="record", channelId=caller)[0]
    assert record.query["name"].startswith("voicemail/6001/")
    assert record.query["terminateOn"] == "#"


async def test_caller_hanging_up_mid_menu_ends_the_session(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await publish_flow(hub, tenant)
    sim.media_durations["sound:main-menu"] = 5.0
    caller = dial_did(sim)
    await prompt(sim, caller, "sound:main-menu")
    sim.remote_hangup(caller)
    await eventually(sim, lambda: caller in stasis.ivr.finished)
    assert stasis.ivr.finished[caller] == ["menu"] and not stasis.ivr.sessions
