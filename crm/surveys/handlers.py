"""Bus subscriber: a 1-5 SMS reply scores the latest open survey to that number."""

from __future__ import annotations

from comms.bus import Event, HandlerContext, SubscriberSet
from comms.messages.events import MessageInbound
from comms.messages.models import Message
from crm.surveys import service

subs = SubscriberSet("crm.surveys")


@subs.on(MessageInbound, name="survey_reply")
async def survey_reply(ctx: HandlerContext, event: Event[MessageInbound]) -> None:
    """crm.tickets.inbound_to_ticket leaves the same SMS alone (service.is_survey_reply)."""
    p = event.payload
    msg = await ctx.session.get(Message, p.message_id)
    if msg is None:
        return
    await service.record_reply(
        ctx.session,
        message_id=p.message_id,
        channel=p.channel,
        sender=p.sender,
        text=msg.body,
        at=p.received_at,
    )
