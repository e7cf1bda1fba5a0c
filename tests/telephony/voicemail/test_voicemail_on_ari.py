"""A missed call ends as a voicemail: greeting, recording, the WAV mailed to a real SMTP server."""

from __future__ import annotations

import io
import mailbox
import wave
from pathlib import Path

import httpx
from sqlalchemy import select
from voicemail_testkit import (
    CUSTOMER,
    ZHANG_DESK,
    ZHANG_MOBILE,
    free_port,
    setup_zhang,
    start_smtp,
    stop,
    until,
)

from comms.channels.email.smtp import SmtpConfig, SmtpTransport
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from comms.messages.models import Channel, Message
from hubtest import TenantCtx
from messages_testkit import events, settle
from telephony.ari.sim_state import EndpointBehaviour
from telephony.ari.simulator import AriSimulator
from telephony.calls.models import Call
from telephony.stasis.app import StasisApp


async def mailbox_for_zhang(
    client: httpx.AsyncClient, tenant: TenantCtx, member_id: str, **extra: object
) -> dict[str, object]:
    r = await client.put(
        f"/api/v1/voicemail/mailboxes/{member_id}",
        headers=tenant.auth,
        json={"pin": "2468", "email": "zhang@acme.example.cn", **extra},
    )
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


async def test_missed_call_is_recorded_and_mailed_with_the_wav_to_a_real_smtp_server(
    hub: Hub,
    client: httpx.AsyncClient,
    tenant: TenantCtx,
    sim: AriSimulator,
    stasis: StasisApp,
    tmp_path: Path,
) -> None:
    port, maildir = free_port(), tmp_path / "maildir"
    smtp = start_smtp(port, maildir)
    try:
        hub.services["mail.transport"] = SmtpTransport(
            SmtpConfig.from_url(f"smtp://127.0.0.1:{port}")
        )
        zhang = await setup_zhang(hub, tenant.id)
        await mailbox_for_zhang(client, tenant, str(zhang.id), sms_notice=True)
        # 20 ms of real time per ARI second: the message below lasts about 5 s.
        sim.time_scale = 0.02
        sim.endpoints[ZHANG_DESK] = EndpointBehaviour(outcome="noanswer", after=0.02)
        sim.endpoints[ZHANG_MOBILE] = EndpointBehaviour(outcome="busy", after=0.02)
        caller = sim.inbound_call(
            caller_number=CUSTOMER, exten="6001", args=[f"tenant={tenant.id}"]
        )
        await until(lambda: _has(sim, caller, "record"))
        record = sim.requests_for(nickname="record", channelId=caller)[0]
        assert record.query["format"] == "wav" and record.query["terminateOn"] == "#"
        # Greeting first (after the ringback stopped), then the beep and the recording.
        ops = sim.operations_on(caller)
        assert ops.index("answer") < ops.index("play") < ops.index("record")
        assert sim.requests_for(nickname="play", channelId=caller)[-1].query["media"] == (
            "sound:vm-nobodyavail"
        )
        await _sleep_ari_seconds(sim, 5)
        sim.send_dtmf(caller, "#")
        await until(lambda: _gone(sim, caller))

        r = await client.get("/api/v1/voicemail/messages", headers=tenant.auth)
        [msg] = r.json()
        assert (msg["caller"], msg["callee"]) == (CUSTOMER, "6001")
        assert msg["duration_seconds"] >= 5 and msg["recording"] == record.query["name"]
        url = f"/api/v1/voicemail/messages/{msg['id']}/audio"
        audio = await client.get(url, headers=tenant.auth)
        assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
        with wave.open(io.BytesIO(audio.content)) as w:
            assert w.getnframes() // w.getframerate() == msg["duration_seconds"]

        async with hub.db.session() as s:
            scoped_to(s, tenant.id)
            [call] = (await s.scalars(select(Call))).all()
            assert call.disposition == "busy"  # the mobile, last to be tried, was busy
            assert msg["call_id"] == str(call.id)

        [recorded] = await events(hub, "telephony.voicemail.recorded")
        assert recorded["voicemail_id"] == msg["id"]
        assert recorded["mailbox_member_id"] == str(zhang.id)
        assert recorded["caller"] == CUSTOMER and recorded["recording"] == msg["recording"]

        await settle(hub)
        [mail] = list(mailbox.Maildir(maildir, create=False))
        assert mail["To"] == "zhang@acme.example.cn"
        assert CUSTOMER in mail["Subject"]
        text = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
        body = text.get_payload(decode=True).decode()
        assert CUSTOMER in body and f"{msg['duration_seconds']} s" in body
        wav = next(p for p in mail.walk() if p.get_content_type() == "audio/wav")
        assert wav.get_filename().endswith(".wav")
        assert wav.get_payload(decode=True) == audio.content

        async with hub.db.session() as s:
            scoped_to(s, tenant.id)
            [sms] = (await s.scalars(select(Message).where(Message.channel == Channel.SMS))).all()
            assert sms.recipient == "+8613912345678" and CUSTOMER in sms.body
    finally:
        stop(smtp)


async def test_member_without_a_mailbox_is_hung_up_on_as_before(
    hub: Hub, tenant: TenantCtx, sim: AriSimulator, stasis: StasisApp
) -> None:
    await setup_zhang(hub, tenant.id)
    sim.endpoints[ZHANG_DESK] = EndpointBehaviour(outcome="busy", after=0.02)
    sim.endpoints[ZHANG_MOBILE] = EndpointBehaviour(outcome="busy", after=0.02)
    caller = sim.inbound_call(caller_number=CUSTOMER, exten="6001", args=[f"tenant={tenant.id}"])
    await until(lambda: _gone(sim, caller))
    assert "answer" not in sim.operations_on(caller)
    assert sim.requests_for(nickname="record") == []


async def test_caller_hanging_up_during_the_greeting_leaves_no_message(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, sim: AriSimulator, stasis: StasisApp
) -> None:
    zhang = await setup_zhang(hub, tenant.id)
    await mailbox_for_zhang(client, tenant, str(zhang.id))
    sim.media_durations["sound:vm-nobodyavail"] = 30.0
    sim.endpoints[ZHANG_DESK] = EndpointBehaviour(outcome="busy", after=0.02)
    sim.endpoints[ZHANG_MOBILE] = EndpointBehaviour(outcome="busy", after=0.02)
    caller = sim.inbound_call(caller_number=CUSTOMER, exten="6001", args=[f"tenant={tenant.id}"])
    await until(lambda: _has(sim, caller, "play"))
    sim.remote_hangup(caller)
    await until(lambda: _gone(sim, caller))
    r = await client.get("/api/v1/voicemail/messages", headers=tenant.auth)
    assert r.json() == [] and sim.requests_for(nickname="record") == []


async def _has(sim: AriSimulator, channel: str, op: str) -> bool:
    return op in sim.operations_on(channel)


async def _gone(sim: AriSimulator, channel: str) -> bool:
    return channel not in sim.channels


async def _sleep_ari_seconds(sim: AriSimulator, seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds * sim.time_scale + 0.01)
