"""One-click meetings driven end to end through the ARI simulator."""

from __future__ import annotations

import httpx
from conference_testkit import (
    LI_DESK,
    LI_MOBILE,
    WANG_DESK,
    ZHANG_DESK,
    cdrs,
    make_room,
    people,
    setup_members,
    topics,
    until,
)
from sqlalchemy import select

from comms.db.tenancy import scoped_to
from comms.hub import Hub
from comms.messages.models import Channel, Message
from hubtest import TenantCtx
from telephony.ari import AriClient
from telephony.ari.sim_state import EndpointBehaviour
from telephony.ari.simulator import AriSimulator
from telephony.stasis.app import StasisApp

BUSY = EndpointBehaviour(outcome="busy", after=0.02)
NO_ANSWER = EndpointBehaviour(outcome="noanswer", after=0.02)
ANSWER = EndpointBehaviour(outcome="answer", after=0.02)


def on(sim: AriSimulator, endpoint: str) -> str | None:
    return next((c.id for c in sim.channels.values() if c.endpoint == endpoint), None)


async def test_meeting_calls_three_members_retries_and_bridges_who_answers(
    hub: Hub,
    client: httpx.AsyncClient,
    tenant: TenantCtx,
    sim: AriSimulator,
    stasis: StasisApp,
    api_ari: AriClient,
) -> None:
    await setup_members(hub, tenant.id)
    room = await make_room(hub, tenant.id)
    sim.endpoints[LI_DESK] = BUSY
    sim.endpoints["PJSIP/+8613800001111@carrier"] = BUSY
    sim.endpoint_scripts[WANG_DESK] = [NO_ANSWER, ANSWER]  # answers the second call
    r = await client.post(
        "/api/v1/conferences",
        headers=tenant.auth,
        json={
            "members": ["6001", "6002", "8003"],
            "organiser": "6001",
            "subject": "Sales sync",
            "room_id": str(room.id),
            "sms_notice": "Sales sync starts now.",
        },
    )
    assert r.status_code == 201, r.text
    conf = r.json()
    url = f"/api/v1/conferences/{conf['id']}/participants"

    async def settled() -> bool:
        states = {
            p["number"]: p["state"] for p in (await client.get(url, headers=tenant.auth)).json()
        }
        return states == {"6001": "joined", "6002": "failed", "8003": "joined"}

    await until(settled)
    parts = {p["number"]: p for p in (await client.get(url, headers=tenant.auth)).json()}
    assert parts["6001"]["role"] == "moderator" and parts["8003"]["role"] == "participant"
    assert parts["8003"]["attempt"] == 2 and parts["6002"]["attempt"] == 2
    # Both answerers hear the intro on their own leg, then sit in the one mixing bridge.
    [bridge] = sim.bridges.values()
    zhang, wang = on(sim, ZHANG_DESK), on(sim, WANG_DESK)
    assert bridge.bridge_type == "mixing" and set(bridge.channels) == {zhang, wang}
    for leg in (zhang, wang):
        assert leg is not None
        intro = sim.requests_for(nickname="play", channelId=leg)[0]
        assert intro.query["media"] == "sound:conf-placeintoconf"
    # 李娜: desk then mobile, twice, all busy; each attempt is a rated in-network CDR.
    dialled = [r.query["endpoint"] for r in sim.requests_for(nickname="originate")]
    assert dialled.count(LI_DESK) == 2 and dialled.count(LI_MOBILE) == 2
    assert dialled.count(WANG_DESK) == 2 and dialled.count(ZHANG_DESK) == 1
    records = await cdrs(hub, tenant.id)
    li = [c for c in records if c.callee == "6002"]
    assert [c.disposition for c in li] == ["busy"] * 4
    assert all(c.caller == "6001" and c.in_network for c in li)
    failed = await topics(hub, tenant.id, "telephony.conference.participant_failed")
    assert [(e["number"], e["reason"]) for e in failed] == [("6002", "busy")]
    joined = await topics(hub, tenant.id, "telephony.conference.participant_joined")
    assert sorted(str(e["number"]) for e in joined) == ["6001", "8003"]
    # The office SMS with the dial-in details went to every member with a mobile.
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        sms = list(await s.scalars(select(Message).where(Message.channel == Channel.SMS)))
    assert sorted(m.recipient for m in sms) == ["+8613800001111", "+8613912345678"]
    assert all("Dial-in: 6100 / +862161234567, PIN 1234." in m.body for m in sms)

    # Moderator mutes everyone: the participant's leg is muted inbound, the moderator is not.
    r = await client.post(
        f"/api/v1/conferences/{conf['id']}/mute", headers=tenant.auth, json={"muted": True}
    )
    assert r.status_code == 200, r.text
    assert [p["number"] for p in r.json()] == ["8003"]
    assert sim.channels[wang].muted == "in" and not sim.channels[zhang].muted
    muted = await topics(hub, tenant.id, "telephony.conference.participant_muted")
    assert [(e["number"], e["muted"]) for e in muted] == [("8003", True)]

    # End: everyone is hung up, the bridge is gone, both talk legs are on the CDR.
    r = await client.post(f"/api/v1/conferences/{conf['id']}/end", headers=tenant.auth)
    assert r.status_code == 200 and r.json()["state"] == "ended"
    await until(lambda: _empty(sim))
    await until(lambda: _left(hub, tenant.id))
    answered = [c for c in await cdrs(hub, tenant.id) if c.disposition == "answered"]
    assert sorted(c.callee for c in answered) == ["6001", "8003"]
    assert all(c.in_network and c.caller == "6001" for c in answered)
    [ended] = await topics(hub, tenant.id, "telephony.conference.ended")
    assert ended["conference_id"] == conf["id"]


async def _empty(sim: AriSimulator) -> bool:
    return not sim.channels and not sim.bridges


async def _left(hub: Hub, tenant_id: object) -> bool:
    found = await people(hub, tenant_id)  # type: ignore[arg-type]
    return {p.state for n, p in found.items() if n != "6002"} == {"left"}


async def test_meeting_rejects_a_number_that_cannot_be_called_naming_the_field(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, api_ari: AriClient
) -> None:
    await setup_members(hub, tenant.id)
    r = await client.post(
        "/api/v1/conferences", headers=tenant.auth, json={"members": ["6001", "6999"]}
    )
    assert r.status_code == 422 and "members[1]" in r.text
    r = await client.get(
        "/api/v1/conferences/00000000-0000-0000-0000-000000000000", headers=tenant.auth
    )
    assert r.status_code == 404
