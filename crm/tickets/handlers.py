"""Bus subscribers: inbound SMS/email, missed calls and voicemails from known contacts land on
tickets (a satisfaction-survey score excepted)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from comms.bus import Event, HandlerContext, SubscriberSet
from comms.messages.events import MessageInbound
from comms.messages.models import Message
from crm.contacts.models import TimelineEntry
from crm.contacts.service import (
    add_timeline_entry,
    find_contact_by_address,
    find_contact_by_phone,
    mark_call_missed,
)
from crm.surveys import service as surveys
from crm.tickets import service
from crm.tickets.models import TicketChannel
from crm.tickets.schemas import TicketIn

subs = SubscriberSet("crm.tickets")

# Named, not imported: crm must not import telephony. A subscriber whose topic no module
# registers is never handed an event, so this hook is dormant until telephony ships the topic.
CALL_MISSED = "telephony.call.missed"
# Published by telephony's voicemail slice (v1: voicemail_id, call_id, caller, callee,
# recorded_at, duration_seconds, recording, mailbox_member_id).
VOICEMAIL_RECORDED = "telephony.voicemail.recorded"


@subs.on(MessageInbound, name="inbound_to_ticket")
async def inbound_to_ticket(ctx: HandlerContext, event: Event[MessageInbound]) -> None:
    """Append to the contact's open ticket or open one; unknown senders make no ticket."""
    p = event.payload
    contact = await find_contact_by_address(ctx.session, p.sender)
    if contact is None:
        return
    msg = await ctx.session.get(Message, p.message_id)
    if msg is not None and await surveys.is_survey_reply(
        ctx.session, p.channel, p.sender, msg.body, p.received_at
    ):
        return  # a satisfaction score (crm.surveys.survey_reply), not a new request
    text = "" if msg is None else (msg.subject or msg.body or "")
    await service.append_message(
        ctx.session,
        contact,
        message_id=p.message_id,
        channel=TicketChannel(p.channel.value),
        subject=text.strip().splitlines()[0][:300] if text.strip() else "",
        at=p.received_at,
    )


@subs.on(CALL_MISSED, name="missed_call_to_callback")
async def missed_call_to_callback(ctx: HandlerContext, event: Event[Any]) -> None:
    """A missed inbound call from a known contact opens a callback ticket, once per call."""
    p = event.payload
    if str(p.direction) != "inbound":
        return
    contact = await find_contact_by_phone(ctx.session, p.caller)
    if contact is None:
        return
    s = ctx.session
    summary = f"missed call from {p.caller}"
    if not await mark_call_missed(s, contact.id, call_id=p.call_id, at=p.at, summary=summary):
        return  # a repeated event, or a voicemail came first: the ticket exists already
    body = TicketIn(
        subject=f"Callback: missed call from {p.caller}",
        channel=TicketChannel.PHONE,
        contact_id=contact.id,
    )
    t = await service.create_ticket(s, body, now=p.at)
    t.extra = {"call_id": str(p.call_id), "callback": p.caller}


@subs.on(VOICEMAIL_RECORDED, name="voicemail_to_ticket")
async def voicemail_to_ticket(ctx: HandlerContext, event: Event[Any]) -> None:
    """A known caller's voicemail joins their open ticket or opens a callback one, once."""
    p = event.payload
    contact = await find_contact_by_phone(ctx.session, p.caller)
    if contact is None:
        return
    s, ref = ctx.session, f"voicemail:{p.voicemail_id}"
    if await s.scalar(select(TimelineEntry.id).where(TimelineEntry.ref == ref)) is not None:
        return  # a repeated event: attached already
    await add_timeline_entry(
        s,
        contact.id,
        kind="voicemail",
        ref=ref,
        at=p.recorded_at,
        direction="inbound",
        status="recorded",
        summary=f"voicemail from {p.caller} ({p.duration_seconds} s)",
    )
    if p.call_id is not None:
        # The call's missed-call event may come before or after this one; writing its entry
        # here makes missed_call_to_callback skip it, so one call opens at most one ticket.
        await mark_call_missed(
            s,
            contact.id,
            call_id=p.call_id,
            at=p.recorded_at,
            summary=f"missed call from {p.caller} (voicemail left)",
        )
    voicemail = {
        "voicemail_id": str(p.voicemail_id),
        "call_id": None if p.call_id is None else str(p.call_id),
        "recording": p.recording,
        "duration_seconds": p.duration_seconds,
        "recorded_at": p.recorded_at.isoformat(),
    }
    await service.attach_voicemail(s, contact, voicemail, caller=p.caller, at=p.recorded_at)
