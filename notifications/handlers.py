"""Bus subscribers: events of other packages become notices; message statuses drive the
SMS-to-email fallback; the sweep's due events release, escalate and send digests."""

from __future__ import annotations

from typing import Any

from comms.bus import Event, HandlerContext, SubscriberSet
from comms.db.base import utcnow
from comms.messages.events import MessageStatusChanged
from comms.messages.models import Direction
from comms.messages.sender import Sender
from comms.settings import Settings
from notifications import dispatch
from notifications.events import DigestDue, NoticeDue
from notifications.notify import Incoming, notify_events
from notifications.rules import NOTIFIABLE

SENDER = "messaging.sender"  # carries the hub Settings that queue_message reads

subs = SubscriberSet("notifications")


def _settings(ctx: HandlerContext) -> Settings:
    sender: Sender = ctx.services[SENDER]
    return sender.settings


async def on_notifiable(ctx: HandlerContext, events: list[Event[Any]]) -> None:
    """Apply the tenant's rules to a batch of events set-wise (idempotent: one notice per
    event, rule and target)."""
    incoming = [Incoming(e.topic, e.id, e.payload.model_dump(mode="json")) for e in events]
    sender: Sender = ctx.services[SENDER]
    await notify_events(ctx.session, sender.settings, incoming, utcnow(), sender)


# One subscription per notifiable pattern (names must differ; the handler is shared).
for _pattern in NOTIFIABLE:
    subs.on_batch(_pattern, name="event:" + _pattern, urgent=True)(on_notifiable)


# Only outbound outcomes move a notice: the relay makes no delivery for an event without one
# (campaign batches of queued/sending, inbound). The handler picks the outcomes out.
@subs.on(
    MessageStatusChanged,
    name="message_status",
    when={"directions": {Direction.OUTBOUND}, "statuses": dispatch.OUTCOMES},
)
async def on_message_status(ctx: HandlerContext, event: Event[MessageStatusChanged]) -> None:
    outbound = [c for c in event.payload.changes if c.direction is Direction.OUTBOUND]
    await dispatch.on_message_statuses(ctx.session, _settings(ctx), outbound, utcnow())


@subs.on(NoticeDue, name="notice_due")
async def on_notice_due(ctx: HandlerContext, event: Event[NoticeDue]) -> None:
    p, now = event.payload, utcnow()
    if p.action == "release":
        await dispatch.release(ctx.session, _settings(ctx), p.notification_id, now)
    else:
        await dispatch.escalate(
            ctx.session, _settings(ctx), p.notification_id, p.channel_index, now
        )


@subs.on(DigestDue, name="digest_due")
async def on_digest_due(ctx: HandlerContext, event: Event[DigestDue]) -> None:
    p = event.payload
    await dispatch.send_digest(ctx.session, _settings(ctx), p.user_id, p.channel, utcnow())
