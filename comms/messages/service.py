"""Queueing outbound messages: validation, carrier rules, idempotency, threading.

`queue_message` is the one door for every outbound message, from the API or in bulk from a
campaign (`commit=False`, then one commit for the batch): a message exists only if it passed
every rule, and it leaves the transaction `queued` together with the event that sends it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from comms.channels.sms.encoding import (
    EmptyMessageError,
    SegmentLimitError,
    SmsInfo,
    check_length,
    with_signature,
)
from comms.db.base import utcnow
from comms.db.tenancy import current_tenant
from comms.errors import Conflict, InvalidInput
from comms.messages.addresses import normalise_email, normalise_phone, render
from comms.messages.conversations import conversation_for
from comms.messages.exceptions import QuotaExceeded, Suppressed
from comms.messages.lifecycle import StatusBatch, change_of, enqueue, publish_status
from comms.messages.models import Channel, Direction, Message, MessageAttachment
from comms.messages.schemas import MessageCreate
from comms.messages.sender import SENDER_KEY, Sender, on_commit
from comms.messages.state import MessageStatus
from comms.messages.tenant_settings import Rules, rules
from comms.settings import Settings
from comms.tenants.models import Tenant

IDEMPOTENCY_FIELD = "Idempotency-Key"


def request_hash(data: MessageCreate) -> str:
    raw = json.dumps(data.model_dump(mode="json", by_alias=True), sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()


async def queue_message(
    session: AsyncSession,
    settings: Settings,
    data: MessageCreate,
    *,
    idempotency_key: str | None = None,
    commit: bool = True,
) -> Message:
    """Validate and queue one outbound message; a known Idempotency-Key returns the first."""
    digest = request_hash(data)
    if idempotency_key:
        first = await _replay(session, idempotency_key, digest)
        if first is not None:
            return first
    msg = await _build(session, settings, data)
    msg.idempotency_key, msg.request_hash = idempotency_key or None, digest
    if not commit:
        return msg
    try:
        await session.commit()
    except IntegrityError:
        # A concurrent request with the same key won the insert: answer with its message.
        await session.rollback()
        if idempotency_key:
            first = await _replay(session, idempotency_key, digest)
            if first is not None:
                return first
        raise
    return msg


async def _replay(session: AsyncSession, key: str, digest: str) -> Message | None:
    first = await session.scalar(select(Message).where(Message.idempotency_key == key))
    if first is not None and first.request_hash != digest:
        raise Conflict(
            "this Idempotency-Key was used with a different request", field=IDEMPOTENCY_FIELD
        )
    return first


async def _build(session: AsyncSession, settings: Settings, data: MessageCreate) -> Message:
    tenant_rules = await rules(session, settings)
    body = render(data.body, data.variables, "body") or ""
    now = utcnow()
    msg = Message(
        id=uuid.uuid4(),
        channel=data.channel,
        direction=Direction.OUTBOUND,
        status=MessageStatus.QUEUED,
        template=data.template,
        variables=data.variables or None,
        created_at=now,
        queued_at=now,
    )
    if data.channel is Channel.SMS:
        await _sms(session, settings, tenant_rules, data, body, msg)
    else:
        await _email(session, tenant_rules, data, body, msg)
    conv = await conversation_for(session, msg.channel, msg.recipient, now)
    msg.conversation_id = conv.id
    session.add(msg)
    for a in data.attachments:
        session.add(
            MessageAttachment(
                message_id=msg.id,
                filename=a.filename,
                content_type=a.content_type,
                data=a.content_base64,
            )
        )
    await session.flush()
    sender: Sender | None = session.info.get(SENDER_KEY)
    if sender is not None and sender.accepting:
        # This process sends: claim now and hand over after the commit, one status event
        # for queued + sending and no work event. A crash before the submission leaves it
        # `sending` without provider id, which the stale sweep queues again.
        batch = StatusBatch()
        batch.add(msg.tenant_id, change_of(msg, None))
        msg.attempts += 1
        msg.claimed_at = now
        batch.change(msg, MessageStatus.SENDING, at=now)
        await batch.publish(session)
        on_commit(session, partial(sender.schedule, msg.id, msg.tenant_id, msg.attempts))
    else:
        publish_status(session, msg, None)
        enqueue(session, msg)
    return msg


async def _sms(
    session: AsyncSession,
    settings: Settings,
    tenant_rules: Rules,
    data: MessageCreate,
    body: str,
    msg: Message,
) -> None:
    for name in ("subject", "html"):
        if getattr(data, name):
            raise InvalidInput(f"{name}: SMS has no {name}", field=name)
    if data.attachments:
        raise InvalidInput("attachments: SMS carries no attachments", field="attachments")
    msg.recipient = normalise_phone(data.to, "to")
    msg.sender = data.sender or None
    if not body.strip():
        raise InvalidInput("body: empty; carriers reject empty messages", field="body")
    # The signature is part of what the carrier bills, so count segments with it.
    text = with_signature(body, tenant_rules.sms_signature or "")
    try:
        info: SmsInfo = check_length(text, settings.sms_max_segments)
    except (SegmentLimitError, EmptyMessageError) as exc:
        raise InvalidInput(f"body: {exc}", field="body") from None
    msg.body, msg.segments, msg.encoding = text, info.segments, info.encoding.value
    await _carrier_rules(session, settings, tenant_rules, msg)


async def _email(
    session: AsyncSession, tenant_rules: Rules, data: MessageCreate, body: str, msg: Message
) -> None:
    msg.recipient = normalise_email(data.to, "to")
    msg.sender = normalise_email(data.sender, "from") if data.sender else tenant_rules.email_from
    msg.subject = render(data.subject, data.variables, "subject") or ""
    msg.html = render(data.html, data.variables, "html")
    if not body.strip() and not (msg.html or "").strip():
        raise InvalidInput("body: empty; give a text body (and optionally html)", field="body")
    msg.body = body
    domain = msg.sender.rpartition("@")[2] or "huitong.local"
    msg.rfc_message_id = f"<{msg.id.hex}@{domain}>"
    # Reply in the thread the customer last wrote in, so their mail client keeps it together.
    msg.in_reply_to = await session.scalar(
        select(Message.rfc_message_id)
        .where(
            Message.channel == Channel.EMAIL,
            Message.direction == Direction.INBOUND,
            Message.sender == msg.recipient,
        )
        .order_by(Message.created_at.desc())
        .limit(1)
    )


async def day_start(session: AsyncSession, now: datetime) -> datetime:
    """Midnight of the tenant's local day: carriers and quotas count in local days."""
    tenant_id = current_tenant(session)
    tenant = await session.get(Tenant, tenant_id) if tenant_id else None
    zone = ZoneInfo(tenant.timezone if tenant else "Asia/Shanghai")
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


async def _carrier_rules(
    session: AsyncSession, settings: Settings, tenant_rules: Rules, msg: Message
) -> None:
    now = msg.created_at
    since = await day_start(session, now)
    sent = (
        select(func.count())
        .select_from(Message)
        .where(
            Message.channel == Channel.SMS,
            Message.direction == Direction.OUTBOUND,
            Message.status != MessageStatus.FAILED,
            Message.created_at >= since,
        )
    )
    if tenant_rules.sms_daily_quota:
        used = int(await session.scalar(sent) or 0)
        if used >= tenant_rules.sms_daily_quota:
            raise QuotaExceeded(
                f"daily SMS quota of {tenant_rules.sms_daily_quota} used up", field="to"
            )
    if tenant_rules.sms_recipient_daily_cap:
        to_them = int(await session.scalar(sent.where(Message.recipient == msg.recipient)) or 0)
        if to_them >= tenant_rules.sms_recipient_daily_cap:
            raise Suppressed(
                f"{msg.recipient} already got {to_them} SMS today (cap "
                f"{tenant_rules.sms_recipient_daily_cap})",
                reason="recipient_cap",
            )
    if settings.sms_duplicate_window > 0:
        window = now - timedelta(seconds=settings.sms_duplicate_window)
        same = await session.scalar(
            select(Message.id)
            .where(
                Message.channel == Channel.SMS,
                Message.direction == Direction.OUTBOUND,
                Message.recipient == msg.recipient,
                Message.body == msg.body,
                Message.status != MessageStatus.FAILED,
                Message.created_at >= window,
            )
            .limit(1)
        )
        if same is not None:
            raise Suppressed(
                f"the same text went to {msg.recipient} less than "
                f"{settings.sms_duplicate_window:g} s ago",
                reason="duplicate",
            )
