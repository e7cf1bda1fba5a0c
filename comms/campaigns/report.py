"""Campaign counts, aggregated from recipient rows and their messages' statuses."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.campaigns.models import Campaign, CampaignRecipient, RecipientStatus
from comms.campaigns.schemas import CampaignCounts, CampaignOut
from comms.errors import NotFound
from comms.messages.models import Message
from comms.messages.state import MessageStatus
from comms.settings import Settings

_SENT = {MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED}
_FAILED = {MessageStatus.FAILED, MessageStatus.UNDELIVERED}


async def get_campaign(session: AsyncSession, campaign_id: uuid.UUID) -> Campaign:
    camp = await session.get(Campaign, campaign_id)
    if camp is None:
        raise NotFound("no such campaign", field="campaign_id")
    return camp


async def counts(
    session: AsyncSession, settings: Settings, campaign_id: uuid.UUID
) -> CampaignCounts:
    """Three GROUP BYs, never the rows: cheap enough for a 100,000-number campaign."""
    out = CampaignCounts()
    of_campaign = CampaignRecipient.campaign_id == campaign_id
    by_status = await session.execute(
        select(CampaignRecipient.status, func.count())
        .where(of_campaign)
        .group_by(CampaignRecipient.status)
    )
    for status, n in by_status.all():
        out.recipients += n
        if status is RecipientStatus.PENDING:
            out.pending = n
        elif status is RecipientStatus.SUPPRESSED:
            out.suppressed = n
        elif status is RecipientStatus.SKIPPED:
            out.skipped = n
    by_message = await session.execute(
        select(Message.status, func.count(), func.coalesce(func.sum(Message.segments), 0))
        .join(CampaignRecipient, CampaignRecipient.message_id == Message.id)
        .where(of_campaign)
        .group_by(Message.status)
    )
    for mstatus, n, segments in by_message.all():
        out.segments += int(segments or 0)
        if mstatus in (MessageStatus.QUEUED, MessageStatus.SENDING):
            out.queued += n
        if mstatus in _SENT:
            out.sent += n
        if mstatus is MessageStatus.DELIVERED:
            out.delivered += n
        if mstatus in _FAILED:
            out.failed += n
    replies = await session.execute(
        select(CampaignRecipient.reply_option, func.count())
        .where(of_campaign, CampaignRecipient.replied_at.is_not(None))
        .group_by(CampaignRecipient.reply_option)
    )
    for option, n in replies.all():
        out.replied += n
        if option is not None:
            out.replies[option] = n
    # An estimate only: HUITONG_SMS_SEGMENT_PRICE times the segments, signature included.
    cost = settings.sms_segment_price * out.segments
    out.estimated_cost = str(cost.quantize(Decimal("0.01")))
    out.currency = settings.sms_price_currency
    return out


async def campaign_out(session: AsyncSession, settings: Settings, camp: Campaign) -> CampaignOut:
    out = CampaignOut.model_validate(camp)
    out.counts = await counts(session, settings, camp.id)
    for code in camp.reply_options or {}:
        out.counts.replies.setdefault(code, 0)
    return out
