"""Isolation cases for the voicemail routes (collected by tests/test_route_isolation.py)."""

from __future__ import annotations

import itertools
import uuid

import httpx

from comms.auth.principal import Principal
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from isolation import Case
from telephony.voicemail import service
from telephony.voicemail.schemas import MailboxIn
from telephony.vpmn import service as vpmn
from telephony.vpmn.schemas import MemberIn

NUMBERS = itertools.count(100)
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "


async def make_mailbox(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    actor = Principal.system(owner.id)
    async with hub.db.session() as s:
        scoped_to(s, owner.id)
        n = next(NUMBERS)
        data = MemberIn(name="张伟", short_number=f"6{n:03d}", desk_endpoint=f"PJSIP/d{n}")
        member = await vpmn.create_member(s, actor, data)
        await service.put_mailbox(s, actor, member.id, MailboxIn(pin="2468"))
    return {"member_id": str(member.id)}


async def make_message(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    member_id = (await make_mailbox(hub, client, owner))["member_id"]
    async with hub.db.session() as s:
        scoped_to(s, owner.id)
        box = await service.get_mailbox(s, uuid.UUID(member_id))
        msg = await service.store_message(
            s,
            hub.settings,
            mailbox=box,
            call_id=None,
            caller="+8613700000000",
            callee="6001",
            recording=f"vm-iso-{uuid.uuid4().hex}",
            audio=WAV,
            duration_seconds=3,
        )
    return {"message_id": str(msg.id)}


CASES: dict[str, Case] = {
    "/api/v1/voicemail/mailboxes/{member_id}": Case(
        make_mailbox, bodies={"PUT": {"pin": "1111", "email": "hijacked@example.com"}}
    ),
    "/api/v1/voicemail/mailboxes/{member_id}/greeting": Case(make_mailbox),
    "/api/v1/voicemail/messages/{message_id}": Case(make_message),
    "/api/v1/voicemail/messages/{message_id}/audio": Case(make_message),
    "/api/v1/voicemail/messages/{message_id}/heard": Case(
        make_message, bodies={"POST": {"heard": True}}
    ),
}
