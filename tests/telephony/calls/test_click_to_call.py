"""Click-to-call (POST /api/v1/calls): agent first, then the customer, driven through ARI."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from calls_testkit import (
    LI_DESK,
    OUTSIDER,
    ZHANG_DESK,
    calls_of,
    cdrs_of,
    eventually,
    legs_of,
    moves_of,
    ops,
    setup_members,
    topics_of,
    wait_db,
)
from sqlalchemy import select, update

from comms.auth.models import Role
from comms.auth.principal import Principal
from comms.auth.schemas import UserCreate
from comms.auth.service import create_user
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.ari.sim_state import EndpointBehaviour
from telephony.ari.simulator import AriSimulator
from telephony.calls import service as calls
from telephony.calls.click_stasis import agent_channel_id
from telephony.calls.models import Call
from telephony.calls.schemas import ClickToCallIn
from telephony.stasis.app import StasisApp
from telephony.vpmn import service as vpmn

RING = EndpointBehaviour(outcome="ring")
CUSTOMER = "PJSIP/+8613700000000@carrier"


async def member_id(hub: Hub, tenant: TenantCtx, short_number: str) -> str:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        return next(str(m.id) for m in await vpmn.list_members(s) if m.short_number == short_number)


async def click(client: httpx.AsyncClient, tenant: TenantCtx, **body: str) -> dict[str, str]:
    r = await client.post("/api/v1/calls", headers=tenant.auth, json=body)
    assert r.status_code == 202, r.text
    return dict(r.json())


def leg_on(sim: AriSimulator, endpoint: str) -> str | None:
    return next((c.id for c in sim.channels.values() if c.endpoint == endpoint), None)


async def ringing_on(sim: AriSimulator, endpoint: str) -> str:
    await eventually(sim, lambda: leg_on(sim, endpoint) is not None)
    leg = leg_on(sim, endpoint)
    assert leg is not None
    await eventually(sim, lambda: sim.channels[leg].state == "Ringing")
    return leg


async def zhang_calls_outsider(
    hub: Hub, sim: AriSimulator, client: httpx.AsyncClient, tenant: TenantCtx
) -> tuple[uuid.UUID, str, str]:
    """张伟 clicks to call the outsider; both answer. Returns (call, agent leg, customer leg)."""
    sim.endpoints[ZHANG_DESK] = RING
    sim.endpoints[CUSTOMER] = RING
    call = await click(client, tenant, member_id=await member_id(hub, tenant, "6001"), to=OUTSIDER)
    agent = await ringing_on(sim, ZHANG_DESK)
    sim.remote_answer(agent)
    customer = await ringing_on(sim, CUSTOMER)
    sim.remote_answer(customer)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "answered")
    return uuid.UUID(call["id"]), agent, customer


async def test_agent_answers_hears_ringing_then_is_bridged_to_the_customer(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    sim.endpoints[ZHANG_DESK] = RING
    sim.endpoints[CUSTOMER] = RING
    body = await click(
        client, tenant, member_id=await member_id(hub, tenant, "6001"), to="13700000000"
    )
    assert (body["state"], body["direction"], body["callee"]) == ("new", "outbound", OUTSIDER)
    agent = await ringing_on(sim, ZHANG_DESK)
    assert agent == agent_channel_id(uuid.UUID(body["id"]))
    [originate] = sim.requests_for(nickname="originate")
    assert originate.query["appArgs"] == "c2c" and originate.query["callerId"] == OUTSIDER
    assert leg_on(sim, CUSTOMER) is None  # the customer waits until the agent picks up
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "connecting")

    sim.remote_answer(agent)
    customer = await ringing_on(sim, CUSTOMER)
    [dial] = sim.requests_for(nickname="dial", channelId=customer)
    assert dial.query["caller"] == agent
    plays = sim.requests_for(nickname="play", channelId=agent)
    assert plays and plays[0].query["media"] == "tone:ring"  # the agent hears ringing
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "ringing")

    sim.remote_answer(customer)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "answered")
    await eventually(sim, lambda: any(len(b.channels) == 2 for b in sim.bridges.values()))
    bridge = next(iter(sim.bridges.values()))
    assert set(bridge.channels) == {agent, customer}
    # The short tone loops while the customer rings: the playback stopped is the last one.
    plays = sim.requests_for(nickname="play", channelId=agent)
    stopped = [r.path_params["playbackId"] for r in sim.requests_for(nickname="stop")]
    assert stopped == [plays[-1].query["playbackId"]]

    sim.remote_hangup(customer)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "ended")
    await eventually(sim, lambda: agent not in sim.channels and not sim.bridges)
    [call] = await calls_of(hub, tenant.id)
    assert (call.disposition, call.end_reason, call.in_network) == (
        "answered",
        "customer hung up",
        False,
    )
    assert (call.caller, call.agent) == ("6001", ZHANG_DESK)
    assert await moves_of(hub, tenant.id, call.id) == [
        "new>connecting",
        "connecting>ringing",
        "ringing>answered",
        "answered>ended",
    ]
    legs = await legs_of(hub, tenant.id, call.id)
    assert [(leg.role, leg.endpoint, leg.state) for leg in legs] == [
        ("caller", ZHANG_DESK, "gone"),
        ("callee", CUSTOMER, "gone"),
    ]
    assert legs[0].answered_at is not None and legs[0].answered_at <= legs[1].answered_at
    [cdr] = await cdrs_of(hub, tenant.id)
    # Member-placed: billed to 张伟 at the off-net rate (30 fen/min).
    assert (cdr.call_ref, cdr.disposition, cdr.billed_member, cdr.tariff_class) == (
        str(call.id),
        "answered",
        "张伟",
        "off_net",
    )
    assert cdr.rate == 30 and cdr.caller_member_id is not None
    assert await topics_of(hub, tenant.id) == [
        "telephony.call.ringing",
        "telephony.call.answered",
        "telephony.call.ended",
    ]
    assert stasis.active_calls == 0


async def test_agent_not_answering_ends_the_call_without_dialling_the_customer(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    sim.endpoints[ZHANG_DESK] = EndpointBehaviour(outcome="noanswer", after=0.02)
    await click(client, tenant, endpoint="zhang-desk", to=OUTSIDER)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "ended")
    [call] = await calls_of(hub, tenant.id)
    assert (call.disposition, call.end_reason, call.member_id is not None) == (
        "no_answer",
        "agent no answer",
        True,
    )
    assert sim.requests_for(nickname="create") == []
    [cdr] = await cdrs_of(hub, tenant.id)
    assert (cdr.disposition, cdr.charge, cdr.billed_member) == ("no_answer", 0, "张伟")
    assert await topics_of(hub, tenant.id) == ["telephony.call.missed", "telephony.call.ended"]
    assert await moves_of(hub, tenant.id, call.id) == ["new>connecting", "connecting>ended"]


async def test_agent_busy_ends_the_call_busy(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    sim.endpoints[ZHANG_DESK] = EndpointBehaviour(outcome="busy")
    await click(client, tenant, member_id=await member_id(hub, tenant, "6001"), to=OUTSIDER)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "ended")
    [call] = await calls_of(hub, tenant.id)
    assert (call.disposition, call.end_reason) == ("busy", "agent busy")
    assert sim.requests_for(nickname="create") == []


async def test_customer_busy_hangs_up_the_agent(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    sim.endpoints[ZHANG_DESK] = EndpointBehaviour(outcome="answer", after=0.01)
    sim.endpoints[CUSTOMER] = EndpointBehaviour(outcome="busy")
    await click(client, tenant, member_id=await member_id(hub, tenant, "6001"), to=OUTSIDER)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "ended")
    [call] = await calls_of(hub, tenant.id)
    agent = agent_channel_id(call.id)
    await eventually(sim, lambda: agent not in sim.channels)
    assert (call.disposition, call.end_reason) == ("busy", "customer busy")
    assert ops(sim, agent)[-1] == "hangup"
    legs = await legs_of(hub, tenant.id, call.id)
    assert legs[1].cause == 17
    assert await topics_of(hub, tenant.id) == [
        "telephony.call.ringing",
        "telephony.call.missed",
        "telephony.call.ended",
    ]


async def test_customer_not_answering_times_out_and_ends_no_answer(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    sim.endpoints[ZHANG_DESK] = EndpointBehaviour(outcome="answer", after=0.01)
    sim.endpoints[CUSTOMER] = RING
    sim.time_scale = 0.001  # the 45 s customer ring timeout passes in 45 ms
    await click(client, tenant, member_id=await member_id(hub, tenant, "6001"), to=OUTSIDER)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "ended")
    [call] = await calls_of(hub, tenant.id)
    assert (call.disposition, call.end_reason) == ("no_answer", "customer no answer")
    [dial] = sim.requests_for(nickname="dial")
    assert dial.query["timeout"] == "45"
    await eventually(sim, lambda: not sim.channels)


async def test_agent_hanging_up_while_the_customer_rings_cancels_the_call(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    sim.endpoints[ZHANG_DESK] = RING
    sim.endpoints[CUSTOMER] = RING
    await click(client, tenant, member_id=await member_id(hub, tenant, "6001"), to=OUTSIDER)
    agent = await ringing_on(sim, ZHANG_DESK)
    sim.remote_answer(agent)
    customer = await ringing_on(sim, CUSTOMER)
    sim.remote_hangup(agent)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "ended")
    await eventually(sim, lambda: customer not in sim.channels)
    [call] = await calls_of(hub, tenant.id)
    assert (call.disposition, call.end_reason) == ("cancelled", "agent hung up while ringing")
    assert [r.query.get("reason") for r in sim.requests_for(nickname="hangup")] == ["normal"]
    assert "telephony.call.missed" in await topics_of(hub, tenant.id)


async def test_customer_rejecting_while_it_rings_ends_the_call(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    sim.endpoints[ZHANG_DESK] = RING
    sim.endpoints[CUSTOMER] = RING
    await click(client, tenant, member_id=await member_id(hub, tenant, "6001"), to=OUTSIDER)
    agent = await ringing_on(sim, ZHANG_DESK)
    sim.remote_answer(agent)
    customer = await ringing_on(sim, CUSTOMER)
    sim.remote_hangup(customer, cause=21)  # call rejected
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "ended")
    await eventually(sim, lambda: agent not in sim.channels)
    [call] = await calls_of(hub, tenant.id)
    assert (call.disposition, call.end_reason) == ("no_answer", "customer no answer")


async def test_agent_hanging_up_the_bridged_call_hangs_up_the_customer(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    call_id, agent, customer = await zhang_calls_outsider(hub, sim, client, tenant)
    await eventually(sim, lambda: bool(sim.bridges))
    sim.remote_hangup(agent)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "ended")
    await eventually(sim, lambda: customer not in sim.channels and not sim.bridges)
    [call] = await calls_of(hub, tenant.id)
    assert (call.id, call.disposition, call.end_reason) == (call_id, "answered", "agent hung up")


async def test_calling_a_member_is_rated_in_network(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    sim.endpoints[ZHANG_DESK] = EndpointBehaviour(outcome="answer", after=0.01)
    # 李娜 (6002): a click-to-call dials her first phone, the desk (answers by default).
    await click(client, tenant, member_id=await member_id(hub, tenant, "6001"), to="6002")
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "answered")
    [call] = await calls_of(hub, tenant.id)
    assert (call.callee, call.in_network) == ("6002", True)
    assert leg_on(sim, LI_DESK) is not None
    sim.remote_hangup(agent_channel_id(call.id))
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "ended")
    [cdr] = await cdrs_of(hub, tenant.id)
    assert (cdr.in_network, cdr.tariff_class, cdr.billed_member, cdr.rate) == (
        True,
        "in_network",
        "张伟",
        10,
    )
    assert cdr.callee_member_id is not None


async def test_a_user_is_rung_on_their_member_phone_or_their_mobile(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    actor = Principal.system(tenant.id)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        zhang = await create_user(
            s,
            hub.credentials,
            actor,
            UserCreate(
                email="zhang@acme.cn",
                password="password-123",
                role=Role.AGENT,
                mobile="+8613912345678",
            ),
        )
        temp = await create_user(
            s,
            hub.credentials,
            actor,
            UserCreate(
                email="temp@acme.cn",
                password="password-123",
                role=Role.AGENT,
                mobile="+8613600000000",
            ),
        )
        zhang_id, temp_id = str(zhang.id), str(temp.id)
    first = await click(client, tenant, user_id=zhang_id, to=OUTSIDER)
    second = await click(client, tenant, user_id=temp_id, to=OUTSIDER)
    assert (first["agent"], first["caller"], first["member_id"] is not None) == (
        ZHANG_DESK,
        "6001",
        True,
    )
    assert (second["agent"], second["member_id"]) == ("PJSIP/+8613600000000@carrier", None)


async def test_bad_requests_name_the_field(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    await setup_members(hub, other_tenant.id)
    theirs = await member_id(hub, other_tenant, "6001")
    mine = await member_id(hub, tenant, "6001")
    cases = [
        ({"to": OUTSIDER}, "member_id"),
        ({"to": OUTSIDER, "member_id": mine, "endpoint": "PJSIP/x"}, "member_id"),
        ({"to": OUTSIDER, "member_id": theirs}, "member_id"),  # another tenant's member
        ({"to": OUTSIDER, "user_id": str(uuid.uuid4())}, "user_id"),
        ({"to": "6999", "member_id": mine}, "to"),  # a short number nobody has
        ({"to": "hello", "member_id": mine}, "to"),
    ]
    for body, field in cases:
        r = await client.post("/api/v1/calls", headers=tenant.auth, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["field"] == field, (body, r.json())
    assert await calls_of(hub, tenant.id) == []
    r = await client.post(
        "/api/v1/api-keys", headers=tenant.auth, json={"name": "wall", "role": "viewer"}
    )
    viewer = {"Authorization": f"Bearer {r.json()['key']}"}
    r = await client.post("/api/v1/calls", headers=viewer, json={"to": OUTSIDER, "member_id": mine})
    assert r.status_code == 403


async def test_a_request_is_placed_once_and_a_stale_one_fails_unplaced(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    await stasis.click.close()  # place by hand, not by the poller
    actor = Principal.system(tenant.id)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        mine = await member_id(hub, tenant, "6001")
        fresh = await calls.request_click_to_call(
            s, actor, ClickToCallIn(to=OUTSIDER, member_id=uuid.UUID(mine))
        )
        stale = await calls.request_click_to_call(
            s, actor, ClickToCallIn(to=OUTSIDER, endpoint="PJSIP/li-desk")
        )
        await s.execute(
            update(Call)
            .where(Call.id == stale.id)
            .values(started_at=stale.started_at - timedelta(seconds=calls.CLICK_TO_CALL_TTL + 5))
        )
        await s.commit()
    sim.endpoints[ZHANG_DESK] = RING
    assert await stasis.click.place_pending() == 1
    assert await stasis.click.place_pending() == 0  # already claimed: not rung twice
    assert len(sim.requests_for(nickname="originate")) == 1
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        rows = {c.id: c for c in await s.scalars(select(Call))}
    assert rows[fresh.id].state == "connecting"
    assert (rows[stale.id].state, rows[stale.id].end_reason) == ("ended", "not placed in time")
    assert [c.call_ref for c in await cdrs_of(hub, tenant.id)] == [str(stale.id)]


async def test_a_customer_hanging_up_during_a_websocket_drop_ends_the_call_on_reconnect(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    _, agent, customer = await zhang_calls_outsider(hub, sim, client, tenant)
    reconciled = stasis.reconciled
    await sim.drop_connections()
    sim.remote_hangup(customer)  # Asterisk drops these events: nobody is listening
    assert sim.dropped
    await eventually(sim, lambda: stasis.reconciled > reconciled)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "ended")
    await eventually(sim, lambda: agent not in sim.channels and not sim.bridges)
    [call] = await calls_of(hub, tenant.id)
    assert (call.disposition, call.end_reason) == ("answered", "customer hung up")
    assert stasis.active_calls == 0


async def test_a_member_removed_before_the_agent_answers_fails_the_call_cleanly(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    sim.endpoints[ZHANG_DESK] = RING
    li = await member_id(hub, tenant, "6002")
    await click(client, tenant, member_id=await member_id(hub, tenant, "6001"), to="6002")
    agent = await ringing_on(sim, ZHANG_DESK)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        await vpmn.delete_member(s, Principal.system(tenant.id), uuid.UUID(li))
    sim.remote_answer(agent)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "ended")
    await eventually(sim, lambda: agent not in sim.channels)
    [call] = await calls_of(hub, tenant.id)
    assert (call.disposition, call.end_reason) == ("failed", "customer number no longer reachable")
    assert sim.requests_for(nickname="create") == []
