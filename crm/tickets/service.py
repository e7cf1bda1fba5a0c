"""Ticket rules: SLA due times on creation, changes with events, escalation, inbound threading."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus import publish
from comms.db.base import utcnow
from comms.errors import InvalidInput, NotFound
from comms.messages.queries import newest_first_page
from comms.settings import Settings
from crm.contacts.models import Contact
from crm.contacts.service import add_timeline_entry
from crm.surveys import service as surveys
from crm.tickets.events import TicketCreated, TicketEscalated, TicketUpdated
from crm.tickets.models import Priority, SlaPolicy, Ticket, TicketChannel, TicketMessage
from crm.tickets.schemas import TicketIn, TicketPatch
from crm.tickets.sla import DEFAULT_HOURS, DEFAULT_TARGETS, BusinessCalendar, add_business_minutes
from crm.tickets.state import ACTIVE, IllegalTransition, S, transition

_ORDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


def raised(p: Priority) -> Priority:
    """One step up; urgent stays urgent."""
    return _ORDER[min(_ORDER.index(p) + 1, len(_ORDER) - 1)]


async def _policy(s: AsyncSession, policy_id: uuid.UUID | None) -> SlaPolicy | None:
    if policy_id is not None:
        p = await s.get(SlaPolicy, policy_id)
        if p is None:
            raise InvalidInput("sla_policy_id: no such SLA policy", field="sla_policy_id")
        return p
    q = select(SlaPolicy).where(SlaPolicy.is_default.is_(True)).limit(1)
    return await s.scalar(q)


def set_due_times(t: Ticket, policy: SlaPolicy | None, start: datetime) -> None:
    """First-response and resolution deadlines for the ticket's priority, in business time."""
    if policy is None:
        cal = BusinessCalendar.parse("Asia/Shanghai", DEFAULT_HOURS)
        targets = DEFAULT_TARGETS
    else:
        cal = BusinessCalendar.parse(policy.timezone, policy.hours, policy.holidays)
        targets = policy.targets or DEFAULT_TARGETS
    target = targets.get(t.priority.value) or DEFAULT_TARGETS[t.priority.value]
    t.first_response_due = add_business_minutes(start, target["first_response"], cal)
    t.resolution_due = add_business_minutes(start, target["resolution"], cal)


def retime(t: Ticket, policy: SlaPolicy | None) -> None:
    """Deadlines again from the ticket's creation, after its priority or policy changed; the
    first-response one only while no response was made (a met target stays met).

    `escalated_at` is left alone: a ticket is escalated once, so a breach already escalated
    is not escalated again, whatever the new deadlines; a ticket not yet escalated whose new
    deadline has passed is escalated by the next sweep."""
    first_response_due = t.first_response_due
    set_due_times(t, policy, t.created_at)
    if t.first_responded_at is not None:
        t.first_response_due = first_response_due


async def create_ticket(s: AsyncSession, body: TicketIn, *, now: datetime | None = None) -> Ticket:
    """Add a ticket with its SLA deadlines, a timeline entry and `crm.ticket.created`."""
    now = now or utcnow()
    if body.contact_id is not None and await s.get(Contact, body.contact_id) is None:
        raise InvalidInput("contact_id: no such contact", field="contact_id")
    policy = await _policy(s, body.sla_policy_id)
    t = Ticket(
        contact_id=body.contact_id,
        channel=body.channel,
        subject=body.subject,
        priority=body.priority,
        status=S.NEW,
        assignee_id=body.assignee_id,
        team=body.team,
        sla_policy_id=policy.id if policy else None,
        created_at=now,
        updated_at=now,
    )
    set_due_times(t, policy, now)
    s.add(t)
    await s.flush()
    if t.contact_id is not None:
        await add_timeline_entry(
            s,
            t.contact_id,
            kind="ticket",
            ref=f"ticket:{t.id}",
            at=now,
            status=t.status.value,
            summary=t.subject,
        )
    publish(
        s,
        TicketCreated.topic,
        TicketCreated(
            ticket_id=t.id,
            contact_id=t.contact_id,
            channel=t.channel,
            subject=t.subject,
            priority=t.priority,
            status=t.status,
            resolution_due=t.resolution_due,
        ),
    )
    return t


async def get_ticket(s: AsyncSession, ticket_id: uuid.UUID) -> Ticket:
    t = await s.get(Ticket, ticket_id)
    if t is None:
        raise NotFound("ticket not found")
    return t


@dataclass
class TicketFilter:
    """All given criteria hold; a list matches any of its values."""

    status: Sequence[S] = ()
    priority: Sequence[Priority] = ()
    assignee_id: uuid.UUID | None = None
    team: str | None = None
    contact_id: uuid.UUID | None = None
    unassigned: bool = False  # only tickets nobody is assigned to (the team's queue)


async def list_tickets(
    s: AsyncSession, f: TicketFilter, *, limit: int, cursor: str | None = None
) -> tuple[list[Ticket], str | None]:
    """Newest first, `limit` a page; the cursor (opaque) continues after the page's last."""
    q = select(Ticket)
    if f.status:
        q = q.where(Ticket.status.in_(list(f.status)))
    if f.priority:
        q = q.where(Ticket.priority.in_(list(f.priority)))
    if f.assignee_id is not None:
        q = q.where(Ticket.assignee_id == f.assignee_id)
    if f.unassigned:
        q = q.where(Ticket.assignee_id.is_(None))
    if f.team is not None:
        q = q.where(Ticket.team == f.team)
    if f.contact_id is not None:
        q = q.where(Ticket.contact_id == f.contact_id)
    return await newest_first_page(s, q, Ticket.created_at, Ticket.id, limit=limit, cursor=cursor)


def _updated(t: Ticket, previous: S, changes: list[str]) -> TicketUpdated:
    return TicketUpdated(
        ticket_id=t.id,
        status=t.status,
        previous_status=previous,
        priority=t.priority,
        assignee_id=t.assignee_id,
        team=t.team,
        changes=changes,
    )


async def update_ticket(
    s: AsyncSession, t: Ticket, body: TicketPatch, *, settings: Settings
) -> Ticket:
    """Apply a patch; a status change goes through the state machine (may raise).

    Becoming resolved queues the satisfaction survey SMS in the same transaction."""
    previous = t.status
    given = body.model_fields_set
    changes: list[str] = []
    if body.status is not None and body.status is not t.status:
        transition(s, t, body.status, reason="api")
        changes.append("status")
    if body.priority is not None and body.priority is not t.priority:
        t.priority = body.priority
        changes.append("priority")
    policy: SlaPolicy | None = None
    if "sla_policy_id" in given:
        policy = await _policy(s, body.sla_policy_id)  # null: the tenant's default
        if (policy.id if policy else None) != t.sla_policy_id:
            t.sla_policy_id = policy.id if policy else None
            changes.append("sla_policy_id")
    if "priority" in changes or "sla_policy_id" in changes:
        if "sla_policy_id" not in given and t.sla_policy_id is not None:
            policy = await s.get(SlaPolicy, t.sla_policy_id)
        retime(t, policy)
    for name in ("assignee_id", "team", "subject"):
        if name in given and getattr(body, name) != getattr(t, name):
            if name == "subject" and body.subject is None:
                continue
            setattr(t, name, getattr(body, name))
            changes.append(name)
    if changes:
        await _sync_timeline(s, t)
        publish(s, TicketUpdated.topic, _updated(t, previous, changes))
    if "status" in changes and t.status is S.RESOLVED:
        await surveys.ask_after_resolution(s, settings, t)
    await s.flush()
    return t


async def _sync_timeline(s: AsyncSession, t: Ticket) -> None:
    if t.contact_id is not None:
        await add_timeline_entry(
            s,
            t.contact_id,
            kind="ticket",
            ref=f"ticket:{t.id}",
            at=t.created_at,
            status=t.status.value,
            summary=t.subject,
        )


async def escalate_overdue(s: AsyncSession, now: datetime) -> list[Ticket]:
    """Escalate each active ticket past an SLA deadline, once: priority up, event out.

    Works on a tenant-scoped session or an unscoped (operator) one; `escalated_at` is the
    once-only mark, and rows are locked (skipping locked ones) so two sweeps never both take
    the same ticket on PostgreSQL."""
    q = (
        select(Ticket)
        .where(
            Ticket.escalated_at.is_(None),
            Ticket.status.in_([S.NEW, S.OPEN]),
            or_(
                Ticket.resolution_due < now,
                and_(Ticket.first_responded_at.is_(None), Ticket.first_response_due < now),
            ),
        )
        .order_by(Ticket.created_at)
        .with_for_update(skip_locked=True)
    )
    done = list(await s.scalars(q))
    for t in done:
        fr_due = t.first_response_due
        if t.first_responded_at is None and fr_due is not None and fr_due < now:
            reason, due = "first_response", fr_due
        else:
            reason, due = "resolution", t.resolution_due or now
        previous = t.priority
        t.priority = raised(previous)
        t.escalated_at = now
        payload = TicketEscalated(
            ticket_id=t.id,
            contact_id=t.contact_id,
            reason=reason,
            due=due,
            priority=t.priority,
            previous_priority=previous,
            assignee_id=t.assignee_id,
            team=t.team,
            subject=t.subject,
        )
        publish(s, TicketEscalated.topic, payload, tenant_id=t.tenant_id)
    await s.flush()
    return done


async def append_message(
    s: AsyncSession,
    contact: Contact,
    *,
    message_id: uuid.UUID,
    channel: TicketChannel,
    subject: str,
    at: datetime,
) -> Ticket:
    """An inbound message from a known contact joins their open ticket, else opens one.

    A repeated event finds its link and changes nothing; a reply to a pending ticket
    reopens it (pending means waiting for the customer)."""
    linked = await s.scalar(select(TicketMessage).where(TicketMessage.message_id == message_id))
    if linked is not None:
        return await get_ticket(s, linked.ticket_id)
    t = await s.scalar(
        select(Ticket)
        .where(Ticket.contact_id == contact.id, Ticket.status.in_(list(ACTIVE)))
        .order_by(Ticket.created_at.desc())
        .limit(1)
    )
    if t is None:
        body = TicketIn(contact_id=contact.id, channel=channel, subject=subject or "(no subject)")
        t = await create_ticket(s, body, now=at)
    elif t.status is S.PENDING:
        transition(s, t, S.OPEN, reason=f"customer replied ({channel.value})", now=at)
        await _sync_timeline(s, t)
        publish(s, TicketUpdated.topic, _updated(t, S.PENDING, ["status", "messages"]))
    else:
        publish(s, TicketUpdated.topic, _updated(t, t.status, ["messages"]))
    s.add(TicketMessage(ticket_id=t.id, message_id=message_id, at=at))
    t.updated_at = at
    await s.flush()
    return t


def log_refusal(s: AsyncSession, t: Ticket, body: TicketPatch) -> None:
    """Keep a refused status change in the log after its transaction was rolled back."""
    if body.status is None:
        return
    with contextlib.suppress(IllegalTransition):
        transition(s, t, body.status, reason="api")


async def attach_voicemail(
    s: AsyncSession, contact: Contact, voicemail: dict[str, Any], *, caller: str, at: datetime
) -> Ticket:
    """A voicemail joins the caller's newest active ticket (reopening a pending one), else
    opens a callback ticket; the recording reference is kept in the ticket's `extra`."""
    t = await s.scalar(
        select(Ticket)
        .where(Ticket.contact_id == contact.id, Ticket.status.in_(list(ACTIVE)))
        .order_by(Ticket.created_at.desc())
        .limit(1)
    )
    if t is None:
        body = TicketIn(
            subject=f"Callback: voicemail from {caller}",
            channel=TicketChannel.PHONE,
            contact_id=contact.id,
        )
        t = await create_ticket(s, body, now=at)
        t.extra = {"callback": caller}
    elif t.status is S.PENDING:
        transition(s, t, S.OPEN, reason="customer left a voicemail", now=at)
        await _sync_timeline(s, t)
        publish(s, TicketUpdated.topic, _updated(t, S.PENDING, ["status", "voicemails"]))
    else:
        publish(s, TicketUpdated.topic, _updated(t, t.status, ["voicemails"]))
    t.extra = {**t.extra, "voicemails": [*t.extra.get("voicemails", []), voicemail]}
    t.updated_at = at
    await s.flush()
    return t
