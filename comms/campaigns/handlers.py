"""Bus subscribers of the campaigns slice: send chunks, and read inbound SMS for opt-outs
and replies (subscribed to `comms.message.inbound`, so inbound.py needs no hook)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from comms.bus import Event, HandlerContext, SubscriberSet
from comms.campaigns import service
from comms.campaigns.events import CampaignChunk
from comms.campaigns.models import Campaign, CampaignRecipient, SmsOptOut
from comms.messages.events import MessageInbound
from comms.messages.models import Channel, Message
from comms.messages.sender import Sender

SENDER = "messaging.sender"  # carries the hub Settings the send rules read
OPT_OUT_KEYWORDS = frozenset({"T", "TD", "退订", "STOP", "UNSUBSCRIBE"})

subs = SubscriberSet("comms.campaigns")


@subs.on(CampaignChunk, name="dispatch")
async def dispatch(ctx: HandlerContext, event: Event[CampaignChunk]) -> None:
    """One chunk per delivery: the work is resumable and each row is queued once."""
    sender: Sender = ctx.services[SENDER]
    await service.dispatch_chunk(ctx.session, sender.settings, event.payload, sender=sender)


def opt_out_keyword(text: str) -> str | None:
    """The keyword an inbound text is (case and surrounding blanks ignored), else None."""
    word = text.strip().strip("。.!！").strip().upper()
    return word if word in OPT_OUT_KEYWORDS else None


@subs.on(MessageInbound, name="inbound")
async def on_inbound(ctx: HandlerContext, event: Event[MessageInbound]) -> None:
    """Record opt-outs and link the reply to the campaign it answers; idempotent."""
    s = ctx.session
    if event.payload.channel is not Channel.SMS:
        return
    msg = await s.get(Message, event.payload.message_id)
    if msg is None or not msg.sender:
        return
    keyword = opt_out_keyword(msg.body)
    if keyword is not None:
        seen = await s.scalar(select(SmsOptOut.id).where(SmsOptOut.phone == msg.sender))
        if seen is None:
            s.add(SmsOptOut(phone=msg.sender, keyword=keyword, message_id=msg.id))
    at = msg.received_at or msg.created_at
    # A reply answers the latest campaign SMS to that number within HUITONG_SMS_REPLY_WINDOW.
    sender: Sender = ctx.services[SENDER]
    window = timedelta(seconds=sender.settings.sms_reply_window)
    rec = await s.scalar(
        select(CampaignRecipient)
        .where(
            CampaignRecipient.phone == msg.sender,
            CampaignRecipient.message_id.is_not(None),
            CampaignRecipient.queued_at >= at - window,
            CampaignRecipient.queued_at <= at,
        )
        .order_by(CampaignRecipient.queued_at.desc(), CampaignRecipient.id.desc())
        .limit(1)
    )
    if rec is None:
        return
    camp = await s.get(Campaign, rec.campaign_id)
    code = msg.body.strip()
    rec.replied_at, rec.reply_message_id = at, msg.id
    if camp is not None and code in (camp.reply_options or {}):
        rec.reply_option = code  # the latest valid answer counts
