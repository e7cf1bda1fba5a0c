"""Meetings and voicemail on the console: a Stasis app that runs conferences against the
simulator, the API's ARI client, and members/mailboxes built through the services."""

from __future__ import annotations

import asyncio
import io
import uuid
import wave
from collections.abc import AsyncIterator

import pytest

from comms.auth.principal import Principal
from comms.db.tenancy import scoped_to
from comms.errors import NotFound
from comms.hub import Hub
from telephony.ari import AriClient, ReconnectPolicy
from telephony.ari.simulator import AriSimulator
from telephony.conference.api import ARI_SERVICE
from telephony.conference.stasis import ConferenceFlows
from telephony.stasis.app import StasisApp
from telephony.voicemail import service as voicemail
from telephony.voicemail.models import VoicemailMessage
from telephony.voicemail.schemas import MailboxIn
from telephony.vpmn import service as vpmn
from telephony.vpmn.models import Member
from telephony.vpmn.schemas import MemberIn, PlanIn, TariffIn

ZHANG_MOBILE = "+8613912345678"
MEMBERS = (
    MemberIn(name="张伟", short_number="6001", mobile=ZHANG_MOBILE, desk_endpoint="PJSIP/zhang"),
    MemberIn(name="李娜", short_number="6002", desk_endpoint="PJSIP/li-desk"),
    MemberIn(name="王芳", short_number="8003", desk_endpoint="PJSIP/wang-desk"),
)


@pytest.fixture
async def conf_stasis(hub: Hub, sim: AriSimulator) -> AsyncIterator[StasisApp]:
    """The Stasis app with conference flows, and the API's REST client on the simulator."""
    policy = ReconnectPolicy(initial_delay=0.02, max_delay=0.2, stable_after=30.0)
    async with (
        AriClient(sim.base_url, sim.app, reconnect=policy) as ari,
        AriClient(sim.base_url, sim.app) as rest,
    ):
        flows = ConferenceFlows(ari, hub.db, max_attempts=1, retry_delay=0.05)
        app = StasisApp(ari, hub.db, settings=hub.settings, conference=flows)
        await app.start()
        async with asyncio.timeout(5):
            await ari.wait_connected()
        hub.services[ARI_SERVICE] = rest
        yield app
        hub.services.pop(ARI_SERVICE, None)
        await app.close()


async def setup_members(hub: Hub, tenant_id: uuid.UUID) -> dict[str, Member]:
    """Plan 4 digits (6/8); 张伟 6001 (desk + mobile), 李娜 6002, 王芳 8003."""
    actor = Principal.system(tenant_id)
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        await vpmn.set_plan(s, actor, PlanIn(short_length=4, prefixes=["6", "8"]))
        await vpmn.set_tariff(
            s, actor, TariffIn(in_network_rate=10, on_net_mobile_rate=15, off_net_rate=30)
        )
        return {m.short_number: await vpmn.create_member(s, actor, m) for m in MEMBERS}


def wav(seconds: float = 0.5) -> bytes:
    """A real 8 kHz mono 16-bit WAV (silence) that a browser can decode and play."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * int(8000 * seconds))
    return buf.getvalue()


async def leave_message(
    hub: Hub, tenant_id: uuid.UUID, member: Member, caller: str
) -> VoicemailMessage:
    """A mailbox for `member` (made if missing) and one message in it, as the Stasis app
    stores them."""
    actor = Principal.system(tenant_id)
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        try:
            box = await voicemail.get_mailbox(s, member.id)
        except NotFound:
            box = await voicemail.put_mailbox(s, actor, member.id, MailboxIn(pin="2468"))
        return await voicemail.store_message(
            s,
            hub.settings,
            mailbox=box,
            call_id=None,
            caller=caller,
            callee=member.short_number,
            recording=f"vm-{uuid.uuid4().hex}",
            audio=wav(),
            duration_seconds=1,
        )
