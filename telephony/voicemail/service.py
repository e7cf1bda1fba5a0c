"""Voicemail use cases: mailboxes, storing a left message and telling the member about it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from comms.audit import service as audit
from comms.auth.models import Role, User
from comms.auth.principal import Principal
from comms.bus import publish
from comms.db.base import utcnow
from comms.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from comms.messages import service as messages
from comms.messages.addresses import normalise_email
from comms.messages.models import Channel
from comms.messages.schemas import AttachmentIn, MessageCreate
from comms.settings import Settings
from telephony.calls.models import Call
from telephony.voicemail.events import VoicemailRecorded
from telephony.voicemail.models import Greeting, Mailbox, VoicemailMessage
from telephony.voicemail.schemas import MailboxIn
from telephony.vpmn import service as vpmn
from telephony.vpmn.models import Member

log = logging.getLogger(__name__)
DEFAULT_GREETING = "sound:vm-nobodyavail"
PIN_ROUNDS = 50_000
NOTICE_TZ = ZoneInfo("Asia/Shanghai")

# ------------------------------------------------------------------ PINs


def hash_pin(pin: str) -> str:
    salt = os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, PIN_ROUNDS)
    return f"{base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_pin(stored: str, pin: str) -> bool:
    salt_b64, _, digest_b64 = stored.partition("$")
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), base64.b64decode(salt_b64), PIN_ROUNDS)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


# ------------------------------------------------------------------ mailboxes


async def put_mailbox(
    session: AsyncSession, actor: Principal, member_id: uuid.UUID, data: MailboxIn
) -> Mailbox:
    """Create or replace a member's mailbox."""
    member = await vpmn.get_member(session, member_id)  # 404 for other tenants' members
    if data.greeting is Greeting.RECORDED and not data.greeting_recording:
        raise InvalidInput(
            "greeting_recording: required when greeting is 'recorded'", field="greeting_recording"
        )
    email = normalise_email(data.email, "email") if data.email else None
    if data.sms_notice and not member.mobile:
        raise InvalidInput("sms_notice: the member has no mobile number", field="sms_notice")
    box = await session.scalar(select(Mailbox).where(Mailbox.member_id == member.id))
    if box is None:
        box = Mailbox(tenant_id=member.tenant_id, member_id=member.id)
        session.add(box)
    box.pin_hash = hash_pin(data.pin)
    box.greeting = data.greeting
    box.greeting_recording = data.greeting_recording
    box.email = email
    box.sms_notice = data.sms_notice
    box.retention_days = data.retention_days
    await session.flush()
    audit.record(
        session,
        actor,
        "voicemail.mailbox.put",
        "voicemail_mailbox",
        box.id,
        data.model_dump(mode="json", exclude={"pin"}),
    )
    await session.commit()
    return box


async def get_mailbox(session: AsyncSession, member_id: uuid.UUID) -> Mailbox:
    box = await session.scalar(select(Mailbox).where(Mailbox.member_id == member_id))
    if box is None:
        raise NotFound("mailbox not found")
    return box


async def set_greeting_audio(
    session: AsyncSession, actor: Principal, member_id: uuid.UUID, audio: bytes
) -> Mailbox:
    """An uploaded greeting (8 kHz mono WAV) that deployment copies into the sounds folder."""
    box = await get_mailbox(session, member_id)
    if audio[:4] != b"RIFF" or audio[8:12] != b"WAVE":
        raise InvalidInput("audio: not a WAV file", field="audio")
    box.greeting_audio = audio
    box.greeting = Greeting.UPLOADED
    audit.record(session, actor, "voicemail.greeting.upload", "voicemail_mailbox", box.id)
    await session.commit()
    return box


def greeting_media(box: Mailbox) -> str:
    """What ARI plays before the beep."""
    if box.greeting is Greeting.RECORDED and box.greeting_recording:
        return f"recording:{box.greeting_recording}"
    if box.greeting is Greeting.UPLOADED:
        return f"sound:huitong/voicemail/{box.id}"
    return DEFAULT_GREETING


async def mailbox_for_call(session: AsyncSession, call_id: uuid.UUID) -> Mailbox | None:
    """The mailbox of the member a (missed) call was for, if they have one."""
    call = await session.get(Call, call_id)
    if call is None or call.member_id is None:
        return None
    return await session.scalar(select(Mailbox).where(Mailbox.member_id == call.member_id))


# ------------------------------------------------------------------ messages


async def store_message(
    session: AsyncSession,
    settings: Settings,
    *,
    mailbox: Mailbox,
    call_id: uuid.UUID | None,
    caller: str,
    callee: str,
    recording: str,
    audio: bytes,
    duration_seconds: int,
    recorded_at: datetime | None = None,
) -> VoicemailMessage:
    """Keep the message, queue the email (and SMS notice) and publish, in one transaction.

    A repeated recording name returns the stored message: the Stasis app may retry after a
    crash between Asterisk finishing the file and our commit.
    """
    existing = await session.scalar(
        select(VoicemailMessage).where(VoicemailMessage.recording == recording)
    )
    if existing is not None:
        return existing
    at = recorded_at or utcnow()
    msg = VoicemailMessage(
        tenant_id=mailbox.tenant_id,
        mailbox_id=mailbox.id,
        call_id=call_id,
        caller=caller,
        callee=callee,
        recorded_at=at,
        duration_seconds=duration_seconds,
        recording=recording,
        audio=audio,
        expires_at=at + timedelta(days=mailbox.retention_days),
    )
    session.add(msg)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"recording {recording} already stored", field="recording") from exc
    member = await session.get(Member, mailbox.member_id)
    local = at.astimezone(NOTICE_TZ).strftime("%Y-%m-%d %H:%M")
    who = caller or "unknown caller"
    text = f"New voicemail from {who} at {local}, {duration_seconds} s."
    if mailbox.email:
        await messages.queue_message(
            session,
            settings,
            MessageCreate(
                channel=Channel.EMAIL,
                to=mailbox.email,
                subject=f"Voicemail from {who} ({duration_seconds} s)",
                body=(
                    f"{text}\nCaller: {who}\nCalled: {callee}\nTime: {local} (Asia/Shanghai)\n"
                    f"Duration: {duration_seconds} s\nThe recording is attached."
                ),
                attachments=[
                    AttachmentIn(
                        filename=f"voicemail-{at:%Y%m%d-%H%M%S}.wav",
                        content_type=msg.content_type,
                        content_base64=base64.b64encode(audio),
                    )
                ],
            ),
            commit=False,
        )
    if mailbox.sms_notice and member is not None and member.mobile:
        await messages.queue_message(
            session,
            settings,
            MessageCreate(channel=Channel.SMS, to=member.mobile, body=text),
            commit=False,
        )
    publish(
        session,
        VoicemailRecorded.topic,
        VoicemailRecorded(
            voicemail_id=msg.id,
            call_id=call_id,
            mailbox_member_id=mailbox.member_id,
            caller=caller,
            callee=callee,
            recorded_at=at,
            duration_seconds=duration_seconds,
            recording=recording,
        ),
    )
    await session.commit()
    return msg


async def list_messages(
    session: AsyncSession, actor: Principal, member_id: uuid.UUID | None = None
) -> list[VoicemailMessage]:
    """Supervisors and admins read every mailbox; anyone else only their own (403 otherwise)."""
    q = select(VoicemailMessage).order_by(VoicemailMessage.recorded_at.desc())
    if not actor.role.allows(Role.SUPERVISOR):
        own = await member_of_user(session, actor.user_id) if actor.user_id else None
        if own is None:
            if member_id is not None:
                raise PermissionDenied("a voicemail box can be read by its member or a supervisor")
            return []
        if member_id is not None and member_id != own.id:
            raise PermissionDenied("a voicemail box can be read by its member or a supervisor")
        member_id = own.id
    if member_id is not None:
        box = await get_mailbox(session, member_id)
        q = q.where(VoicemailMessage.mailbox_id == box.id)
    return list(await session.scalars(q))


async def get_message(
    session: AsyncSession, message_id: uuid.UUID, actor: Principal | None = None
) -> VoicemailMessage:
    """One message; with an `actor`, only for a supervisor/admin or the mailbox's member."""
    msg = await session.get(VoicemailMessage, message_id)
    if msg is None:
        raise NotFound("voicemail message not found")
    if actor is not None and not actor.role.allows(Role.SUPERVISOR):
        await _check_owner(session, actor, msg, "read")
    return msg


async def _check_owner(
    session: AsyncSession, actor: Principal, msg: VoicemailMessage, what: str
) -> None:
    member = await member_of_user(session, actor.user_id) if actor.user_id else None
    box = await session.get(Mailbox, msg.mailbox_id)
    if member is None or box is None or box.member_id != member.id:
        raise PermissionDenied(f"only the mailbox's member or a supervisor may {what} a message")


async def message_audio(
    session: AsyncSession, message_id: uuid.UUID, actor: Principal | None = None
) -> tuple[bytes, str]:
    msg = await get_message(session, message_id, actor)
    audio = await session.scalar(
        select(VoicemailMessage.audio).where(VoicemailMessage.id == msg.id)
    )
    return audio or b"", msg.content_type


async def mark_heard(
    session: AsyncSession,
    message_id: uuid.UUID,
    heard: bool = True,
    actor: Principal | None = None,
) -> VoicemailMessage:
    msg = await get_message(session, message_id, actor)
    msg.heard = heard
    await session.commit()
    return msg


async def member_of_user(session: AsyncSession, user_id: uuid.UUID) -> Member | None:
    """The VPMN member a signed-in user is: users and members share the mobile number
    (both E.164, unique per tenant); there is no other link between the two."""
    user = await session.get(User, user_id)
    if user is None or not user.mobile:
        return None
    return await session.scalar(select(Member).where(Member.mobile == user.mobile))


async def my_mailbox(
    session: AsyncSession, actor: Principal
) -> tuple[Member | None, Mailbox | None]:
    """The caller's own member record and mailbox (None when there is none)."""
    member = await member_of_user(session, actor.user_id) if actor.user_id else None
    if member is None:
        return None, None
    box = await session.scalar(select(Mailbox).where(Mailbox.member_id == member.id))
    return member, box


async def delete_message(session: AsyncSession, actor: Principal, message_id: uuid.UUID) -> str:
    """Delete one message (an admin, or the mailbox's own member); returns its ARI
    recording name (the caller may delete it there)."""
    msg = await get_message(session, message_id)
    if not actor.role.allows(Role.ADMIN):
        await _check_owner(session, actor, msg, "delete")
    recording = msg.recording
    await session.delete(msg)
    audit.record(session, actor, "voicemail.message.delete", "voicemail_message", message_id)
    await session.commit()
    return recording


async def purge_expired(session: AsyncSession, now: datetime | None = None) -> int:
    """Retention: delete every message past its mailbox's retention (all tenants' sessions)."""
    cutoff = now or utcnow()
    result = await session.execute(
        delete(VoicemailMessage).where(VoicemailMessage.expires_at <= cutoff)
    )
    await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
