"""Bus subscribers that write messages, calls and orders of known contacts onto their timeline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus import Event, HandlerContext, SubscriberSet
from comms.db.sets import among
from comms.db.tenancy import current_tenant
from comms.messages.addresses import try_phone
from comms.messages.events import MessageInbound, MessageStatusChanged
from comms.messages.models import Direction, Message
from comms.messages.state import MessageStatus
from crm.contacts import service
from crm.contacts.models import ContactEmail, ContactPhone, TimelineEntry

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


# The relay skips events with no outbound change in these statuses (the transient queued/
# sending steps, inbound messages): an outbound message joins the timeline once it has left
# (sent) or failed, then follows its receipt.
TIMELINE_STATUSES = {
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.UNDELIVERED,
    MessageStatus.FAILED,
}


@subs.on(
    MessageStatusChanged,
    name="timeline_status",
    when={"directions": {Direction.OUTBOUND}, "statuses": TIMELINE_STATUSES},
)
async def outbound_to_timeline(ctx: HandlerContext, event: Event[MessageStatusChanged]) -> None:
    """Outbound messages to a known contact appear once and follow their delivery status.

    An event carries up to hundreds of changes (a campaign batch): one query finds which
    recipients are contacts (usually few or none), one more reads those messages."""
    latest = {
        c.message_id: c
        for c in event.payload.changes
        if c.direction is Direction.OUTBOUND and c.status in TIMELINE_STATUSES
    }
    if not latest:
        return
    s = ctx.session
    # Who each message went to: from the event (no query), or from the row for events
    # written before changes carried it.
    to = {mid: c.counterpart for mid, c in latest.items() if c.counterpart}
    unknown = [mid for mid in latest if mid not in to]
    if unknown:
        rows = await s.execute(select(Message.id, Message.recipient).where(Message.id.in_(unknown)))
        to.update({mid: recipient for mid, recipient in rows})
    contacts = await service.contacts_by_addresses(s, set(to.values()))
    known = [mid for mid, address in to.items() if address in contacts]
    if not known:
        return  # a campaign to strangers: nothing more to read
    found = await s.execute(
        select(Message.id, Message.created_at, Message.subject, Message.body).where(
            Message.id.in_(known)
        )
    )
    for mid, created_at, subject, body in found:
        change = latest[mid]
        await service.add_timeline_entry(
            s,
            contacts[to[mid]],
            kind=change.channel.value,
            ref=f"message:{mid}",
            at=created_at,
            direction=Direction.OUTBOUND.value,
            status=change.status.value,
            summary=(subject or body or "")[:200],
        )


# Named, not imported: crm must not import telephony (v1: call_id, direction, caller, callee,
# at, disposition, reason, started_at, answered_at, billable_seconds).
CALL_ENDED = "telephony.call.ended"


@subs.on(CALL_ENDED, name="timeline_call_ended")
async def call_to_timeline(ctx: HandlerContext, event: Event[Any]) -> None:
    """Every ended call joins the counterpart's timeline: inbound the caller, outbound the
    callee; strangers and repeats add nothing."""
    p = event.payload
    direction = str(p.direction)
    if direction not in ("inbound", "outbound"):
        return
    counterpart = p.caller if direction == "inbound" else p.callee
    contact = await service.find_contact_by_phone(ctx.session, counterpart)
    if contact is None:
        return
    await service.add_call_entry(
        ctx.session,
        contact.id,
        call_id=p.call_id,
        direction=direction,
        disposition=str(p.disposition),
        at=p.started_at,
        duration_seconds=p.billable_seconds,
        summary=f"{direction} call {'from' if direction == 'inbound' else 'to'} {counterpart}",
    )


# erp's order topics, subscribed by name (crm imports nothing from erp). An order moves
# confirmed -> shipped -> delivered, or ends cancelled; events may arrive out of order, so a
# status never replaces a later one.
ORDER_PROGRESS = {"confirmed": 0, "shipped": 1, "delivered": 2, "cancelled": 3}
ORDER_TOPICS = tuple(f"erp.order.{verb}" for verb in ORDER_PROGRESS)


@dataclass
class _Order:
    """What one order event asks of the timeline."""

    ref: str
    verb: str
    summary: str
    at: datetime
    contact_id: uuid.UUID | None
    phone: str | None
    email: str | None


def _order(event: Event[Any]) -> _Order | None:
    p, verb = event.payload, event.topic.rsplit(".", 1)[1]
    key = getattr(p, "number", None) or getattr(p, "order_id", None)
    if key is None:
        return None
    cid = getattr(p, "contact_id", None)
    phone, email = getattr(p, "contact_phone", None), getattr(p, "contact_email", None)
    return _Order(
        ref=f"order:{key}",
        verb=verb,
        summary=(getattr(p, "summary", None) or f"order {key} {verb}")[:500],
        at=event.created_at,
        contact_id=None if cid is None else uuid.UUID(str(cid)),
        phone=try_phone(phone) if phone else None,
        email=email.strip().lower() if email and not phone else None,
    )


async def _customers(s: AsyncSession, orders: list[_Order]) -> dict[int, uuid.UUID]:
    """Each order's contact (by list index): by id if it is one of this tenant's (or was,
    before a merge), else by phone, else by email; a few queries for the whole batch."""
    ids = {o.contact_id for o in orders if o.contact_id is not None}
    phones = {o.phone for o in orders if o.phone}
    emails = {o.email for o in orders if o.email}
    mine = await service.resolve_contact_ids(s, ids)
    by_phone: dict[str, uuid.UUID] = {}
    by_email: dict[str, uuid.UUID] = {}
    if phones:
        q = select(ContactPhone.e164, ContactPhone.contact_id).where(
            among(ContactPhone.e164, phones)
        )
        for e164, cid in await s.execute(q):
            by_phone.setdefault(e164, cid)
    if emails:
        q = select(ContactEmail.address, ContactEmail.contact_id).where(
            among(ContactEmail.address, emails)
        )
        for addr, cid in await s.execute(q):
            by_email.setdefault(addr, cid)
    found: dict[int, uuid.UUID] = {}
    for i, o in enumerate(orders):
        if o.contact_id is not None and o.contact_id in mine:
            found[i] = mine[o.contact_id]
        elif o.phone:
            if o.phone in by_phone:
                found[i] = by_phone[o.phone]
        elif o.email and o.email in by_email:
            found[i] = by_email[o.email]
    return found


async def order_to_timeline(ctx: HandlerContext, events: list[Event[Any]]) -> None:
    """One timeline entry per order, refreshed as the order moves on; strangers skipped.
    Set-wise: one contact lookup per kind of key, one read of the entries, one INSERT."""
    s = ctx.session
    orders = [o for o in map(_order, events) if o is not None]
    if not orders:
        return
    customers = await _customers(s, orders)
    wanted = [(o, customers[i]) for i, o in enumerate(orders) if i in customers]
    if not wanted:
        return
    refs = {o.ref for o, _ in wanted}
    stored = await s.execute(
        select(TimelineEntry.ref, TimelineEntry.id, TimelineEntry.status).where(
            among(TimelineEntry.ref, refs)
        )
    )
    existing = {ref: (eid, status) for ref, eid, status in stored}
    new: dict[str, dict[str, Any]] = {}
    changed: dict[int, dict[str, Any]] = {}
    for o, contact_id in wanted:
        row = new.get(o.ref)
        if row is None and o.ref not in existing:
            new[o.ref] = {
                "tenant_id": current_tenant(s),
                "contact_id": contact_id,
                "kind": "order",
                "direction": None,
                "ref": o.ref,
                "at": o.at,
                "status": o.verb,
                "summary": o.summary,
            }
            continue
        if row is not None:
            status = row["status"]
        else:
            eid, status = existing[o.ref]
            status = changed.get(eid, {}).get("status", status)
        if ORDER_PROGRESS[o.verb] < ORDER_PROGRESS.get(status or "", -1):
            continue  # a late event: never move an order back
        values = {"status": o.verb, "summary": o.summary, "at": o.at}
        if row is not None:
            row.update(values)
        else:
            changed[existing[o.ref][0]] = values
    if new:
        await s.execute(insert(TimelineEntry), list(new.values()))
    for eid, values in changed.items():
        await s.execute(update(TimelineEntry).where(TimelineEntry.id == eid).values(**values))


for _topic in ORDER_TOPICS:
    subs.on_batch(_topic, name=f"timeline_{_topic.replace('.', '_')}")(order_to_timeline)
