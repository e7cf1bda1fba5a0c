"""Bus subscribers that write messages of known contacts onto their timeline."""

from __future__ import annotations

from comms.bus import Event, HandlerContext, SubscriberSet
from comms.messages.events import MessageInbound, MessageStatusChanged
from comms.messages.models import Direction, Message
from crm.contacts import service

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


@subs.on(MessageStatusChanged, name="timeline_status")
async def outbound_to_timeline(ctx: HandlerContext, event: Event[MessageStatusChanged]) -> None:
    """Outbound messages to a known contact appear once and follow their delivery status."""
    p = event.payload
    if p.direction is not Direction.OUTBOUND:
        return  # inbound ones are written from comms.message.inbound
    msg = await ctx.session.get(Message, p.message_id)
    if msg is None:
        return
    contact = await service.find_contact_by_address(ctx.session, msg.recipient)
    if contact is None:
        return
    await service.add_timeline_entry(
        ctx.session,
        contact.id,
        kind=p.channel.value,
        ref=f"message:{p.message_id}",
        at=msg.created_at,
        direction=Direction.OUTBOUND.value,
        status=p.status.value,
        summary=_summary(msg),
    )
