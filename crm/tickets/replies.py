"""Agents' replies to a ticket's contact: sent through comms' messages service in the same
transaction, articles appended, the first response stamped for the SLA."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus import publish
from comms.db.base import utcnow
from comms.errors import Conflict, InvalidInput
from comms.messages.models import Channel
from comms.messages.schemas import MessageCreate
from comms.messages.service import queue_message
from comms.settings import Settings
from crm.contacts.models import Contact
from crm.contacts.service import add_timeline_entry
from crm.knowledge.models import Article, ArticleStatus
from crm.settings import CrmSettings
from crm.surveys.service import mobile_of
from crm.tickets.events import TicketUpdated
from crm.tickets.models import Ticket, TicketMessage, TicketReply
from crm.tickets.schemas import ReplyIn
from crm.tickets.state import S, transition


def article_line(a: Article, kb_url: str) -> str:
    """ "Title https://…/id" (or the title alone when no public KB address is configured)."""
    link = kb_url.replace("{id}", str(a.id)) if kb_url else ""
    return f"《{a.title}》 {link}".rstrip()


async def _articles(s: AsyncSession, ids: list[uuid.UUID]) -> list[Article]:
    found: list[Article] = []
    for i, aid in enumerate(ids):
        a = await s.get(Article, aid)
        if a is None or a.status is not ArticleStatus.PUBLISHED:
            raise InvalidInput(
                f"article_ids[{i}]: no published article {aid}", field=f"article_ids[{i}]"
            )
        if a not in found:
            found.append(a)
    return found


def _address(contact: Contact, channel: Channel) -> str:
    to = (
        mobile_of(contact)
        if channel is Channel.SMS
        else next((e.address for e in contact.emails), None)
    )
    if to is None:
        what = "mobile number" if channel is Channel.SMS else "email address"
        raise InvalidInput(f"channel: the contact has no {what}", field="channel")
    return to


async def send_reply(
    s: AsyncSession,
    settings: Settings,
    t: Ticket,
    body: ReplyIn,
    author_id: uuid.UUID | None,
) -> TicketReply:
    """Queue the message (carrier rules may refuse: QuotaExceeded / Suppressed), link it to
    the ticket, and count it as the first response if none was made yet."""
    if t.status is S.CLOSED:
        raise Conflict("status: a closed ticket takes no replies", field="status")
    contact = None if t.contact_id is None else await s.get(Contact, t.contact_id)
    if contact is None:
        raise InvalidInput("contact_id: the ticket has no contact to reply to", field="contact_id")
    articles = await _articles(s, body.article_ids)
    channel = Channel(body.channel)
    to = _address(contact, channel)
    kb_url = CrmSettings().crm_kb_url
    text = body.body.rstrip()
    if articles:
        text += "\n\n" + "\n".join(article_line(a, kb_url) for a in articles)
    data = MessageCreate(
        channel=channel,
        to=to,
        body=text,
        subject=(body.subject or f"Re: {t.subject}") if channel is Channel.EMAIL else None,
    )
    msg = await queue_message(s, settings, data, commit=False)
    now = msg.created_at
    reply = TicketReply(
        ticket_id=t.id,
        message_id=msg.id,
        channel=channel.value,
        author_id=author_id,
        article_ids=[str(a.id) for a in articles],
        at=now,
    )
    s.add(reply)
    s.add(TicketMessage(ticket_id=t.id, message_id=msg.id, at=now))
    previous, changes = t.status, ["replies"]
    if t.status is S.NEW:
        transition(s, t, S.OPEN, reason=f"agent replied ({channel.value})", now=now)
        changes.append("status")
    elif t.first_responded_at is None:
        t.first_responded_at = now
    t.updated_at = utcnow()
    await add_timeline_entry(
        s,
        contact.id,
        kind=channel.value,
        ref=f"message:{msg.id}",
        at=now,
        direction="outbound",
        status=msg.status.value,
        summary=(msg.subject or msg.body)[:200],
    )
    if "status" in changes:
        await add_timeline_entry(
            s,
            contact.id,
            kind="ticket",
            ref=f"ticket:{t.id}",
            at=t.created_at,
            status=t.status.value,
        )
    publish(
        s,
        TicketUpdated.topic,
        TicketUpdated(
            ticket_id=t.id,
            status=t.status,
            previous_status=previous,
            priority=t.priority,
            assignee_id=t.assignee_id,
            team=t.team,
            changes=changes,
        ),
    )
    await s.flush()
    return reply
