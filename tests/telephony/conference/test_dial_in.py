"""Dial-in: PIN by DTMF, three tries, waiting for the moderator, locked rooms."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from conference_testkit import OUTSIDER, make_room, people, setup_members, topics, until

from comms.hub import Hub
from hubtest import TenantCtx
from telephony.ari import AriClient, ReconnectPolicy
from telephony.ari.simulator import AriSimulator
from telephony.stasis.app import StasisApp

MODERATOR = "+8613600000000"


def dial(sim: AriSimulator, tenant: TenantCtx, exten: str, caller: str) -> str:
    return sim.inbound_call(caller_number=caller, exten=exten, args=[f"tenant={tenant.id}"])


def media(sim: AriSimulator, channel: str) -> list[str]:
    return [r.query["media"] for r in sim.requests_for(nickname="play", channelId=channel)]


async def test_wrong_then_right_pin_waits_with_music_until_the_moderator_starts_the_room(
    hub: Hub, tenant: TenantCtx, sim: AriSimulator, stasis: StasisApp
) -> None:
    await setup_members(hub, tenant.id)
    await make_room(hub, tenant.id)
    guest = dial(sim, tenant, "6100", OUTSIDER)
    await until(lambda: _played(sim, guest, "sound:conf-getpin"))
    assert sim.channels[guest].state == "Up"
    sim.send_dtmf(guest, "1111#")
    await until(lambda: _played(sim, guest, "sound:conf-invalidpin,sound:conf-getpin"))
    sim.send_dtmf(guest, "1234#")
    await until(lambda: _has(sim, guest, "startMoh"))
    assert media(sim, guest)[-1] == "sound:conf-placeintoconf"
    assert sim.channels[guest].bridge_id is None  # no moderator yet: music, not the room
    found = await people(hub, tenant.id)
    assert (found[OUTSIDER].state, found[OUTSIDER].pin_tries) == ("waiting", 1)

    # The moderator dials the DID: the room starts and the waiting guest is brought in.
    host = dial(sim, tenant, "+862161234567", MODERATOR)
    await until(lambda: _played(sim, host, "sound:conf-getpin"))
    sim.send_dtmf(host, "9999#")
    await until(lambda: _bridged(sim, guest, host))
    assert "stopMoh" in sim.operations_on(guest)
    found = await people(hub, tenant.id)
    assert found[MODERATOR].role == "moderator" and found[OUTSIDER].state == "joined"
    [bridge] = sim.bridges.values()
    tones = sim.requests_for(nickname="play", bridgeId=bridge.id)
    assert tones and tones[0].query["media"] == "tone:beep"  # the join tone

    # Both hang up: the meeting ends by itself and the bridge is destroyed.
    sim.remote_hangup(guest)
    sim.remote_hangup(host)
    await until(lambda: _no_bridges(sim))
    [ended] = await topics(hub, tenant.id, "telephony.conference.ended")
    assert ended["reason"] == "everyone left"


async def test_three_wrong_pins_end_in_a_polite_hangup(
    hub: Hub, tenant: TenantCtx, sim: AriSimulator, stasis: StasisApp
) -> None:
    await setup_members(hub, tenant.id)
    await make_room(hub, tenant.id)
    guest = dial(sim, tenant, "6100", OUTSIDER)
    for n in range(1, 4):
        await until(lambda n=n: len(media(sim, guest)) == n)  # type: ignore[misc]
        sim.send_dtmf(guest, "0000#")
    await until(lambda: _gone(sim, guest))
    assert (
        media(sim, guest)[:3]
        == ["sound:conf-getpin"] + ["sound:conf-invalidpin,sound:conf-getpin"] * 2
    )
    assert media(sim, guest)[-1] == "sound:conf-invalidpin,sound:vm-goodbye"
    assert (await people(hub, tenant.id))[OUTSIDER].state == "failed"
    assert not sim.bridges


async def test_locked_conference_turns_new_callers_away(
    hub: Hub,
    client: httpx.AsyncClient,
    tenant: TenantCtx,
    sim: AriSimulator,
    stasis: StasisApp,
    api_ari: AriClient,
) -> None:
    await setup_members(hub, tenant.id)
    await make_room(hub, tenant.id)
    host = dial(sim, tenant, "6100", MODERATOR)
    await until(lambda: _played(sim, host, "sound:conf-getpin"))
    sim.send_dtmf(host, "9999#")
    await until(lambda: bool(sim.bridges))
    conf_id = str((await people(hub, tenant.id))[MODERATOR].conference_id)
    r = await client.post(
        f"/api/v1/conferences/{conf_id}/lock", headers=tenant.auth, json={"locked": True}
    )
    assert r.status_code == 200 and r.json()["locked"] is True
    late = dial(sim, tenant, "6100", OUTSIDER)
    await until(lambda: _gone(sim, late))
    assert media(sim, late) == ["sound:conf-locked"]


async def _played(sim: AriSimulator, channel: str, what: str, last: bool = False) -> bool:
    played = media(sim, channel)
    if last:
        return bool(played) and played[-1].endswith(what)
    return what in played


async def _has(sim: AriSimulator, channel: str, op: str) -> bool:
    return op in sim.operations_on(channel)


async def _bridged(sim: AriSimulator, *channels: str) -> bool:
    return any(set(channels) <= set(b.channels) for b in sim.bridges.values())


async def _no_bridges(sim: AriSimulator) -> bool:
    return not sim.bridges


async def _gone(sim: AriSimulator, channel: str) -> bool:
    return channel not in sim.channels


async def test_recording_room_records_the_bridge_from_when_the_moderator_starts_it(
    hub: Hub,
    client: httpx.AsyncClient,
    tenant: TenantCtx,
    sim: AriSimulator,
    stasis: StasisApp,
) -> None:
    await setup_members(hub, tenant.id)
    await make_room(hub, tenant.id, record=True)
    host = dial(sim, tenant, "6100", MODERATOR)
    await until(lambda: _played(sim, host, "sound:conf-getpin"))
    sim.send_dtmf(host, "9999#")
    await until(lambda: bool(sim.requests_for(nickname="record")))
    conf_id = str((await people(hub, tenant.id))[MODERATOR].conference_id)
    [record] = sim.requests_for(nickname="record")
    assert record.path_params["bridgeId"] == f"conf-{uuid.UUID(conf_id).hex}"
    got = (await client.get(f"/api/v1/conferences/{conf_id}", headers=tenant.auth)).json()
    assert got["recording"] == record.query["name"]
    sim.remote_hangup(host)
    await until(lambda: record.query["name"] in sim.stored_recordings)


async def test_a_guest_who_hung_up_while_the_app_was_disconnected_is_settled_on_reconnect(
    hub: Hub, tenant: TenantCtx, sim: AriSimulator, stasis: StasisApp
) -> None:
    await setup_members(hub, tenant.id)
    await make_room(hub, tenant.id)
    host = dial(sim, tenant, "6100", MODERATOR)
    await until(lambda: _played(sim, host, "sound:conf-getpin"))
    sim.send_dtmf(host, "9999#")
    guest = dial(sim, tenant, "6100", OUTSIDER)
    await until(lambda: _played(sim, guest, "sound:conf-getpin"))
    sim.send_dtmf(guest, "1234#")
    await until(lambda: _bridged(sim, guest, host))
    await sim.drop_connections()
    sim.remote_hangup(guest)  # Asterisk will never tell us
    assert sim.dropped
    await until(lambda: stasis.reconciled >= 2)
    found = await people(hub, tenant.id)
    assert found[OUTSIDER].state == "left" and found[MODERATOR].state == "joined"
    left = await topics(hub, tenant.id, "telephony.conference.participant_left")
    assert [e["number"] for e in left] == [OUTSIDER]


async def test_a_guest_in_the_room_when_the_app_restarts_is_settled_when_they_hang_up_later(
    hub: Hub, tenant: TenantCtx, sim: AriSimulator
) -> None:
    # The new process learns of the guest's channel at reconcile (no query per hang-up).
    await setup_members(hub, tenant.id)
    await make_room(hub, tenant.id)
    first = await _start_app(hub, sim)
    host = dial(sim, tenant, "6100", MODERATOR)
    await until(lambda: _played(sim, host, "sound:conf-getpin"))
    sim.send_dtmf(host, "9999#")
    guest = dial(sim, tenant, "6100", OUTSIDER)
    await until(lambda: _played(sim, guest, "sound:conf-getpin"))
    sim.send_dtmf(guest, "1234#")
    await until(lambda: _bridged(sim, guest, host))
    await _stop_app(*first)
    second = await _start_app(hub, sim)
    try:
        assert guest in second[1].conference.legs  # adopted while still up
        sim.remote_hangup(guest)
        await until(lambda: _state_is(hub, tenant, OUTSIDER, "left"))
        assert (await people(hub, tenant.id))[MODERATOR].state == "joined"
    finally:
        await _stop_app(*second)


async def _start_app(hub: Hub, sim: AriSimulator) -> tuple[AriClient, StasisApp]:
    ari = AriClient(sim.base_url, sim.app, reconnect=ReconnectPolicy(initial_delay=0.02))
    app = StasisApp(ari, hub.db, settings=hub.settings)
    await app.start()
    async with asyncio.timeout(5):
        await ari.wait_connected()
    return ari, app


async def _stop_app(ari: AriClient, app: StasisApp) -> None:
    await app.close()
    await ari.close()


async def _state_is(hub: Hub, tenant: TenantCtx, number: str, state: str) -> bool:
    return (await people(hub, tenant.id))[number].state == state
