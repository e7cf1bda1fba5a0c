"""Bus subscribers of the messages slice: claim a queued message for the sender."""

from __future__ import annotations

from functools import partial

from comms.bus import Event, HandlerContext, SubscriberSet
from comms.db.base import utcnow
from comms.messages.events import MessageQueued
from comms.messages.lifecycle import change_status
from comms.messages.models import Message
from comms.messages.sender import Sender, on_commit
from comms.messages.state import MessageStatus

SENDER = "messaging.sender"

subs = SubscriberSet("comms.messages")


@subs.on(MessageQueued, name="send", urgent=True)
async def claim_and_send(ctx: HandlerContext, event: Event[MessageQueued]) -> None:
    """queued -> sending here; the provider is called only after this commits (sender.py)."""
    s = ctx.session
    msg = await s.get(Message, event.payload.message_id, with_for_update=True)
    # A repeated or outdated event (already claimed, sent, or waiting for a retry) is a no-op.
    if msg is None or msg.status is not MessageStatus.QUEUED or msg.next_attempt_at is not None:
        return
    msg.attempts += 1
    msg.claimed_at = utcnow()
    change_status(s, msg, MessageStatus.SENDING)
    sender: Sender = ctx.services[SENDER]
    on_commit(s, partial(sender.schedule, msg.id, msg.tenant_id, msg.attempts))
