"""A ticket's own history, oldest first: status changes, messages in and out (agents'
replies with their articles), voicemails and the satisfaction survey."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.messages.models import Message
from crm.surveys.models import Survey, SurveyStatus
from crm.tickets.models import Ticket, TicketMessage, TicketReply, TicketTransition

EXCERPT = 200


class TicketEvent(BaseModel):
    at: datetime
    kind: str  # created, status, message, reply, voicemail, survey
    direction: str | None = None
    ref: str | None = None  # message:<id>, voicemail:<id>, survey:<id>
    summary: str


async def ticket_timeline(s: AsyncSession, t: Ticket) -> list[TicketEvent]:
    out = [TicketEvent(at=t.created_at, kind="created", summary=f"{t.channel.value}: {t.subject}")]
    moves = await s.scalars(
        select(TicketTransition).where(
            TicketTransition.ticket_id == t.id, TicketTransition.accepted.is_(True)
        )
    )
    for m in moves:
        why = f" ({m.reason})" if m.reason else ""
        out.append(
            TicketEvent(at=m.at, kind="status", summary=f"{m.from_status} -> {m.to_status}{why}")
        )
    replies = {
        r.message_id: r
        for r in await s.scalars(select(TicketReply).where(TicketReply.ticket_id == t.id))
    }
    rows = await s.execute(
        select(TicketMessage.at, Message)
        .join(Message, Message.id == TicketMessage.message_id)
        .where(TicketMessage.ticket_id == t.id)
    )
    for at, msg in rows:
        reply = replies.get(msg.id)
        text = " ".join((msg.subject or msg.body or "").split())[:EXCERPT]
        if reply is not None and reply.article_ids:
            text += f" [+{len(reply.article_ids)} article(s)]"
        out.append(
            TicketEvent(
                at=at,
                kind="reply" if reply is not None else "message",
                direction=msg.direction.value,
                ref=f"message:{msg.id}",
                summary=f"{msg.channel.value}: {text}",
            )
        )
    for vm in t.extra.get("voicemails", []):
        out.append(
            TicketEvent(
                at=datetime.fromisoformat(vm["recorded_at"]),
                kind="voicemail",
                direction="inbound",
                ref=f"voicemail:{vm['voicemail_id']}",
                summary=f"voicemail ({vm['duration_seconds']} s): {vm['recording']}",
            )
        )
    survey = await s.scalar(select(Survey).where(Survey.ticket_id == t.id))
    if survey is not None:
        ref = f"survey:{survey.id}"
        if survey.status is SurveyStatus.SKIPPED:
            out.append(
                TicketEvent(
                    at=survey.sent_at,
                    kind="survey",
                    ref=ref,
                    summary=f"survey not sent: {survey.skip_reason}",
                )
            )
        else:
            out.append(
                TicketEvent(
                    at=survey.sent_at,
                    kind="survey",
                    direction="outbound",
                    ref=ref,
                    summary=f"survey sent to {survey.phone}",
                )
            )
        if survey.answered_at is not None:
            out.append(
                TicketEvent(
                    at=survey.answered_at,
                    kind="survey",
                    direction="inbound",
                    ref=ref,
                    summary=f"satisfaction {survey.score}/5",
                )
            )
    out.sort(key=lambda e: e.at)
    return out
