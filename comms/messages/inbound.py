"""The sink adapters report to: receipts, inbound SMS and inbound mail become records."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus.publish import publish
from comms.channels.email.transport import Attachment
from comms.channels.sms.provider import DeliveryReceipt, InboundPart, InboundSms
from comms.db.base import utcnow
from comms.db.engine import Database
from comms.db.tenancy import scoped_to, unscoped
from comms.messages import inbound_parts
from comms.messages.addresses import try_phone
from comms.messages.conversations import conversation_for
from comms.messages.events import MessageInbound
from comms.messages.lifecycle import StatusBatch, publish_status
from comms.messages.models import (
    Channel,
    Conversation,
    Direction,
    InboundAddress,
    Message,
    MessageAttachment,
    UnroutedInbound,
)
from comms.messages.receipts import apply_orphans, apply_receipts
from comms.messages.state import MessageStatus

log = logging.getLogger(__name__)
RECEIPT_BATCH = 500  # receipts per transaction
RECEIPT_LINGER = 0.005  # seconds a batch waits for more receipts before it is committed
RECEIPT_FLUSHERS = 2  # receipt transactions in flight per process


@dataclass(frozen=True)
class InboundEmail:
    """A received mail, parsed by the SMTP receiver."""

    sender: str
    recipient: str
    subject: str
    text: str
    html: str | None
    message_id: str | None
    in_reply_to: str | None
    references: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


async def tenant_for(session: AsyncSession, channel: Channel, address: str) -> uuid.UUID | None:
    """Whose inbound address this is: exact mail domain, or longest SMS number prefix
    (Chinese service codes carry a per-customer extension after the tenant's code)."""
    unscoped(session)
    q = select(InboundAddress.tenant_id).where(InboundAddress.channel == channel)
    if channel is Channel.EMAIL:
        q = q.where(InboundAddress.address == address.lower())
    else:
        q = q.where(literal(address).like(InboundAddress.address + "%")).order_by(
            func.length(InboundAddress.address).desc()
        )
    tid: uuid.UUID | None = await session.scalar(q.limit(1))
    return tid


async def _keep_unrouted(session: AsyncSession, sms: InboundSms) -> None:
    """Keep an SMS to a number no tenant owns (a misconfigured or new number): operators
    see it in the log with the running count, and can route it once the number is set up."""
    unscoped(session)
    pid = sms.provider_message_ids[0] if sms.provider_message_ids else None
    if pid is not None:
        seen = await session.scalar(
            select(UnroutedInbound.id).where(
                UnroutedInbound.provider == sms.provider,
                UnroutedInbound.provider_message_id == pid,
            )
        )
        if seen is not None:
            return  # the carrier repeated itself
    session.add(
        UnroutedInbound(
            provider=sms.provider,
            provider_message_id=pid,
            sender=try_phone(sms.sender),
            recipient=sms.recipient,
            body=sms.text,
            received_at=sms.received_at,
        )
    )
    await session.commit()
    kept = await unrouted_count(session)
    log.warning(
        "inbound SMS to %s matches no tenant; kept as unrouted (%d kept in all)",
        sms.recipient,
        kept,
    )


async def unrouted_count(session: AsyncSession) -> int:
    """How many inbound SMS wait for a tenant to own their number (all tenants)."""
    unscoped(session)
    return int(await session.scalar(select(func.count()).select_from(UnroutedInbound)) or 0)


class MessagingSink:
    """What SMS adapters and the SMTP receiver report to; each report is one transaction."""

    def __init__(self, db: Callable[[], Database]) -> None:
        self.db = db
        self._receipts: list[tuple[DeliveryReceipt, asyncio.Future[None]]] = []
        self._flushers: set[asyncio.Task[None]] = set()

    async def on_receipt(self, receipt: DeliveryReceipt) -> None:
        """Returns once the receipt is committed (the adapter acknowledges it only then).

        Receipts arriving together (an SMPP bind handles several deliver_sm at once) are
        committed together: one transaction per batch instead of one per receipt."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._receipts.append((receipt, waiter))
        # Two receipt transactions may be in flight per process: one commits while the next
        # batch is read and written (receipts touch disjoint parts and messages).
        if len(self._flushers) < RECEIPT_FLUSHERS:
            task = asyncio.create_task(self._flush_receipts(), name="receipts")
            self._flushers.add(task)
            task.add_done_callback(self._flushers.discard)
        await waiter

    async def _flush_receipts(self) -> None:
        # Let the receipts of this moment gather first: the cost of a receipt transaction is
        # mostly per batch (six statements, one event), so a few ms buys much larger ones.
        await asyncio.sleep(RECEIPT_LINGER)
        while self._receipts:
            batch = self._receipts[:RECEIPT_BATCH]
            del self._receipts[:RECEIPT_BATCH]
            try:
                await self._apply_receipts([r for r, _ in batch])
                results: list[BaseException | None] = [None] * len(batch)
            except Exception:
                # One bad receipt must not fail its neighbours: apply them one by one.
                results = []
                for r, _ in batch:
                    try:
                        await self._apply_receipts([r])
                        results.append(None)
                    except Exception as exc:
                        results.append(exc)
            for (_, waiter), failure in zip(batch, results, strict=True):
                if waiter.done():
                    continue
                if failure is None:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(failure)

    async def _apply_receipts(self, receipts: list[DeliveryReceipt]) -> None:
        async with self.db().session() as s:
            unscoped(s)
            batch = StatusBatch()
            early = await apply_receipts(s, receipts, batch)
            await batch.publish(s)
            await s.commit()
            # The record may have committed meanwhile, having looked for early receipts
            # before these were visible: look again now (the sweep is the backstop).
            applied = 0
            if early:
                applied = await apply_orphans(s, pids=[r.provider_message_id for r in early])
            if applied:
                await s.commit()

    async def on_inbound(self, message: InboundSms) -> None:
        await self.receive_sms(message)

    async def on_inbound_part(self, part: InboundPart) -> None:
        """Commit the part (the adapter acknowledges it then); store the message if whole.

        The part and the assembly are two transactions: the last two parts of a message may
        arrive at once, and each transaction would miss the other's uncommitted part."""
        async with self.db().session() as s:
            unscoped(s)
            await inbound_parts.keep(s, part)
            await s.commit()
        key = inbound_parts.key_of(part)
        async with self.db().session() as s:
            unscoped(s)
            if await inbound_parts.is_whole(s, key):
                taken = await inbound_parts.take(s, key)
                if taken is not None:
                    await self._receive(s, taken[0])

    async def deliver_overdue(self, now: datetime | None = None) -> int:
        """Store the multipart messages whose missing parts waited too long, with gaps, and
        any whole one a crash left between its last part and its assembly; how many."""
        now = now or utcnow()
        done = 0
        async with self.db().session() as s:
            unscoped(s)
            keys = await inbound_parts.due(s, now)
            await s.rollback()
        for key in keys:
            async with self.db().session() as s:
                unscoped(s)
                taken = await inbound_parts.take(s, key)
                if taken is None:
                    continue  # assembled meanwhile
                sms, whole = taken
                if not whole:
                    log.warning("multipart SMS from %s incomplete; stored what arrived", key[1])
                await self._receive(s, sms)
                done += 1
        return done

    async def receive_sms(self, sms: InboundSms) -> uuid.UUID | None:
        """Store an inbound SMS for the tenant its recipient number routes to; its id."""
        async with self.db().session() as s:
            return await self._receive(s, sms)

    async def _receive(self, s: AsyncSession, sms: InboundSms) -> uuid.UUID | None:
        """Store `sms` in `s`'s transaction and commit it."""
        tenant_id = await tenant_for(s, Channel.SMS, sms.recipient)
        if tenant_id is None:
            await _keep_unrouted(s, sms)
            return None
        scoped_to(s, tenant_id)
        pid = sms.provider_message_ids[0] if sms.provider_message_ids else None
        if pid is not None:
            seen = await s.scalar(
                select(Message.id).where(
                    Message.direction == Direction.INBOUND,
                    Message.provider == sms.provider,
                    Message.provider_message_id == pid,
                )
            )
            if seen is not None:
                return seen  # the carrier or Twilio repeated itself
        sender = try_phone(sms.sender)
        conv = await conversation_for(s, Channel.SMS, sender, sms.received_at)
        msg = _inbound(conv, Channel.SMS, sender, sms.recipient, sms.text, sms.received_at)
        msg.provider, msg.provider_message_id = sms.provider, pid
        return await _save(s, msg)

    async def on_email(self, mail: InboundEmail, tenant_id: uuid.UUID) -> uuid.UUID:
        """Store a mail for one tenant, threaded by In-Reply-To/References, else by sender."""
        async with self.db().session() as s:
            scoped_to(s, tenant_id)
            if mail.message_id:
                seen = await s.scalar(
                    select(Message.id).where(
                        Message.direction == Direction.INBOUND,
                        Message.rfc_message_id == mail.message_id,
                    )
                )
                if seen is not None:
                    return seen  # a sending MTA retried after losing our 250
            now = utcnow()
            refs = [r for r in [mail.in_reply_to, *mail.references] if r]
            conv = None
            if refs:
                conv = await s.scalar(
                    select(Conversation)
                    .join(Message, Message.conversation_id == Conversation.id)
                    .where(Message.rfc_message_id.in_(refs))
                    .order_by(Message.created_at.desc())
                    .limit(1)
                )
            if conv is None:
                conv = await conversation_for(s, Channel.EMAIL, mail.sender.lower(), now)
            else:
                conv.message_count += 1
                conv.last_message_at = now
            msg = _inbound(conv, Channel.EMAIL, mail.sender.lower(), mail.recipient, mail.text, now)
            msg.subject, msg.html = mail.subject, mail.html
            msg.rfc_message_id, msg.in_reply_to = mail.message_id, mail.in_reply_to
            msg.provider = "smtp-in"
            for a in mail.attachments:
                s.add(
                    MessageAttachment(
                        message_id=msg.id,
                        filename=a.filename,
                        content_type=a.content_type,
                        data=a.data,
                    )
                )
            return await _save(s, msg)


def _inbound(
    conv: Conversation, channel: Channel, sender: str, recipient: str, body: str, at: datetime
) -> Message:
    return Message(
        id=uuid.uuid4(),
        conversation_id=conv.id,
        channel=channel,
        direction=Direction.INBOUND,
        status=MessageStatus.RECEIVED,
        sender=sender,
        recipient=recipient,
        body=body,
        created_at=at,
        received_at=at,
    )


async def _save(s: AsyncSession, msg: Message) -> uuid.UUID:
    s.add(msg)
    await s.flush()
    publish_status(s, msg, None)
    publish(
        s,
        MessageInbound.topic,
        MessageInbound(
            message_id=msg.id,
            conversation_id=msg.conversation_id,
            channel=msg.channel,
            sender=msg.sender or "",
            recipient=msg.recipient,
            received_at=msg.created_at,
        ),
    )
    await s.commit()
    return msg.id
