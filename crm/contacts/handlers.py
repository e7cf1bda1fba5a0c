"""Bus subscribers that write messages and orders of known contacts onto their timeline."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from comms.bus import Event, HandlerContext, SubscriberSet
from comms.messages.addresses import try_phone
from comms.messages.events import MessageInbound, MessageStatusChanged
from comms.messages.models import Direction, Message
from comms.messages.state import MessageStatus
from crm.contacts import service
from crm.contacts.models import Contact, ContactEmail, ContactPhone, TimelineEntry

subs = SubscriberSet("crm.contacts")


def _summary(msg: Message) -> str:
    return (msg.subject or msg.body or "")[:200]


@subs.on(MessageInbound, name="timeline_inbound")
async def inbound_to_timeline(ctx: HandlerContext, event: Event[MessageInbound]) -> None:
    """An inbound SMS/email from a known contact joins their timeline; strangers are skipped."""
    p = event.payload
    contact = await service.find_contact_by_address(ctx.session, p.sender)
    msg = await ctx.session.get(Message, p.message_id)
    if contact is None or msg is None:
        return
    await service.add_timeline_entry(
        ctx.session,
        contact.id,
        kind=p.channel.value,
        ref=f"message:{p.message_id}",
        at=p.received_at,
        direction=Direction.INBOUND.value,
        status="received",
        summary=_summary(msg),
    )


# The relay skips events with no outbound change in these statuses (the transient queued/
# sending steps, inbound messages): an outbound message joins the timeline once it has left
# (sent) or failed, then follows its receipt.
TIMELINE_STATUSES = {
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.UNDELIVERED,
    MessageStatus.FAILED,
}


@subs.on(
    MessageStatusChanged,
    name="timeline_status",
    when={"directions": {Direction.OUTBOUND}, "statuses": TIMELINE_STATUSES},
)
async def outbound_to_timeline(ctx: HandlerContext, event: Event[MessageStatusChanged]) -> None:
    """Outbound messages to a known contact appear once and follow their delivery status.

    An event carries up to hundreds of changes (a campaign batch): one query finds which
    recipients are contacts (usually few or none), one more reads those messages."""
    latest = {
        c.message_id: c
        for c in event.payload.changes
        if c.direction is Direction.OUTBOUND and c.status in TIMELINE_STATUSES
    }
    if not latest:
        return
    s = ctx.session
    # Who each message went to: from the event (no query), or from the row for events
    # written before changes carried it.
    to = {mid: c.counterpart for mid, c in latest.items() if c.counterpart}
    unknown = [mid for mid in latest if mid not in to]
    if unknown:
        rows = await s.execute(select(Message.id, Message.recipient).where(Message.id.in_(unknown)))
        to.update({mid: recipient for mid, recipient in rows})
    contacts = await service.contacts_by_addresses(s, set(to.values()))
    known = [mid for mid, address in to.items() if address in contacts]
    if not known:
        return  # a campaign to strangers: nothing more to read
    found = await s.execute(
        select(Message.id, Message.created_at, Message.subject, Message.body).where(
            Message.id.in_(known)
        )
    )
    for mid, created_at, subject, body in found:
        change = latest[mid]
        await service.add_timeline_entry(
            s,
            contacts[to[mid]],
            kind=change.channel.value,
            ref=f"message:{mid}",
            at=created_at,
            direction=Direction.OUTBOUND.value,
            status=change.status.value,
            summary=(subject or body or "")[:200],
        )


# erp's order topics, subscribed by name (crm imports nothing from erp). An order moves
# confirmed -> shipped -> delivered, or ends cancelled; events may arrive out of order, so a
# status never replaces a later one.
ORDER_PROGRESS = {"confirmed": 0, "shipped": 1, "delivered": 2, "cancelled": 3}
ORDER_TOPICS = tuple(f"erp.order.{verb}" for verb in ORDER_PROGRESS)


async def _customer_id(ctx: HandlerContext, p: Any) -> uuid.UUID | None:
    """The order's contact: by id if it is one of this tenant's, else by phone, else email.
    Ids only (as `service.find_contact_by_*` match them): the handler needs no contact row."""
    s = ctx.session
    cid = getattr(p, "contact_id", None)
    if cid is not None:
        found = await s.scalar(select(Contact.id).where(Contact.id == uuid.UUID(str(cid))))
        if found is not None:
            return found
    phone, email = getattr(p, "contact_phone", None), getattr(p, "contact_email", None)
    if phone:
        e164 = try_phone(phone)
        return await s.scalar(select(ContactPhone.contact_id).where(ContactPhone.e164 == e164))
    if email:
        addr = email.strip().lower()
        return await s.scalar(select(ContactEmail.contact_id).where(ContactEmail.address == addr))
    return None


async def order_to_timeline(ctx: HandlerContext, event: Event[Any]) -> None:
    """One timeline entry per order, refreshed as the order moves on; strangers skipped."""
    p, verb = event.payload, event.topic.rsplit(".", 1)[1]
    number = getattr(p, "number", None)
    key = number or getattr(p, "order_id", None)
    if key is None:
        return
    contact_id = await _customer_id(ctx, p)
    if contact_id is None:
        return
    ref = f"order:{key}"
    summary = (getattr(p, "summary", None) or f"order {key} {verb}")[:500]
    entry = await ctx.session.scalar(select(TimelineEntry).where(TimelineEntry.ref == ref))
    if entry is None:
        ctx.session.add(
            TimelineEntry(
                contact_id=contact_id,
                kind="order",
                ref=ref,
                at=event.created_at,
                status=verb,
                summary=summary,
            )
        )
    elif ORDER_PROGRESS[verb] >= ORDER_PROGRESS.get(entry.status or "", -1):
        entry.status, entry.summary, entry.at = verb, summary, event.created_at


for _topic in ORDER_TOPICS:
    subs.on(_topic, name=f"timeline_{_topic.replace('.', '_')}")(order_to_timeline)
