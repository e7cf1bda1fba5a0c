"""Members call their voicemail number: PIN by DTMF, then replay (5), next (6), delete (7)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import httpx
from sqlalchemy import select
from voicemail_testkit import CUSTOMER, setup_zhang, until

from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.ari.simulator import AriSimulator
from telephony.stasis.app import StasisApp
from telephony.voicemail import service
from telephony.voicemail.models import VoicemailMessage

ZHANG_MOBILE = "+8613912345678"


async def leave(hub: Hub, tenant: TenantCtx, member_id: uuid.UUID, name: str) -> None:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        box = await service.get_mailbox(s, member_id)
        await service.store_message(
            s,
            hub.settings,
            mailbox=box,
            call_id=None,
            caller=CUSTOMER,
            callee="6001",
            recording=name,
            audio=b"RIFF....WAVE",
            duration_seconds=1,
        )
    await asyncio.sleep(0.002)  # distinct recorded_at: oldest plays first


def media(sim: AriSimulator, channel: str) -> list[str]:
    return [r.query["media"] for r in sim.requests_for(nickname="play", channelId=channel)]


def played(sim: AriSimulator, channel: str, n: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(media(sim, channel)) >= n

    return check


async def test_member_listens_replays_deletes_and_skips_after_a_wrong_pin(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, sim: AriSimulator, stasis: StasisApp
) -> None:
    zhang = await setup_zhang(hub, tenant.id)
    await client.put(
        f"/api/v1/voicemail/mailboxes/{zhang.id}", headers=tenant.auth, json={"pin": "2468"}
    )
    for name in ("vm-first", "vm-second"):
        sim.add_stored_recording(name)
        await leave(hub, tenant, zhang.id, name)
    ch = sim.inbound_call(caller_number=ZHANG_MOBILE, exten="*98", args=[f"tenant={tenant.id}"])
    await until(played(sim, ch, 1))
    assert media(sim, ch) == ["sound:vm-password"]
    sim.send_dtmf(ch, "1111#")
    await until(played(sim, ch, 2))
    assert media(sim, ch)[1] == "sound:vm-incorrect,sound:vm-password"
    sim.send_dtmf(ch, "2468#")
    await until(played(sim, ch, 4))
    assert media(sim, ch)[2] == "sound:vm-youhave,number:2,sound:vm-messages"
    assert media(sim, ch)[3] == "recording:vm-first,sound:vm-msginstruct"
    sim.send_dtmf(ch, "5")  # replay
    await until(played(sim, ch, 5))
    assert media(sim, ch)[4] == "recording:vm-first,sound:vm-msginstruct"
    sim.send_dtmf(ch, "7")  # delete, then the next one plays
    await until(played(sim, ch, 6))
    assert media(sim, ch)[5] == "recording:vm-second,sound:vm-msginstruct"
    assert "vm-first" not in sim.stored_recordings
    sim.send_dtmf(ch, "6")  # next: there is none
    await until(lambda: _gone(sim, ch))
    assert media(sim, ch)[-1] == "sound:vm-nomore,sound:vm-goodbye"
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        rows = list(await s.scalars(select(VoicemailMessage)))
    assert [(m.recording, m.heard) for m in rows] == [("vm-second", True)]


async def test_a_caller_who_is_not_a_member_hears_no_mailbox_and_is_hung_up(
    hub: Hub, tenant: TenantCtx, sim: AriSimulator, stasis: StasisApp
) -> None:
    await setup_zhang(hub, tenant.id)
    ch = sim.inbound_call(caller_number=CUSTOMER, exten="*98", args=[f"tenant={tenant.id}"])
    await until(lambda: _gone(sim, ch))
    assert media(sim, ch) == ["sound:vm-incorrect-mailbox,sound:vm-goodbye"]


async def _gone(sim: AriSimulator, channel: str) -> bool:
    return channel not in sim.channels


async def test_key_9_records_a_new_greeting_that_later_callers_hear(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, sim: AriSimulator, stasis: StasisApp
) -> None:
    zhang = await setup_zhang(hub, tenant.id)
    box_out = await client.put(
        f"/api/v1/voicemail/mailboxes/{zhang.id}", headers=tenant.auth, json={"pin": "2468"}
    )
    sim.media_durations["sound:vm-goodbye"] = 30.0  # the member presses 9 before it ends
    ch = sim.inbound_call(caller_number=ZHANG_MOBILE, exten="*98", args=[f"tenant={tenant.id}"])
    await until(played(sim, ch, 1))
    sim.send_dtmf(ch, "2468#")
    await until(played(sim, ch, 2))  # "you have 0 messages", then goodbye
    sim.send_dtmf(ch, "9")
    name = f"greeting-{uuid.UUID(box_out.json()['id']).hex}"

    async def recording() -> bool:
        return bool(sim.requests_for(nickname="record", channelId=ch))

    await until(recording)
    [rec] = sim.requests_for(nickname="record", channelId=ch)
    assert (rec.query["name"], rec.query["terminateOn"]) == (name, "#")
    sim.send_dtmf(ch, "#")  # ends the recording, as Asterisk does
    await until(played(sim, ch, 3))
    assert media(sim, ch)[2] == "sound:vm-msgsaved"

    r = await client.get(f"/api/v1/voicemail/mailboxes/{zhang.id}", headers=tenant.auth)
    assert (r.json()["greeting"], r.json()["greeting_recording"]) == ("recorded", name)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        box = await service.get_mailbox(s, zhang.id)
        assert service.greeting_media(box) == f"recording:{name}"  # what callers now hear
