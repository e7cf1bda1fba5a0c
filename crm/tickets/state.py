"""The ticket state machine: the only code that changes a ticket's status."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.base import utcnow
from comms.errors import Conflict
from crm.tickets.models import Ticket, TicketStatus, TicketTransition

S = TicketStatus
ALLOWED: dict[TicketStatus, frozenset[TicketStatus]] = {
    S.NEW: frozenset({S.OPEN, S.PENDING, S.RESOLVED, S.CLOSED}),
    S.OPEN: frozenset({S.PENDING, S.RESOLVED, S.CLOSED}),
    S.PENDING: frozenset({S.OPEN, S.RESOLVED, S.CLOSED}),
    S.RESOLVED: frozenset({S.OPEN, S.CLOSED}),  # reopened when the customer writes back
    S.CLOSED: frozenset(),
}
ACTIVE = frozenset({S.NEW, S.OPEN, S.PENDING})


class IllegalTransition(Conflict):
    """A status change the machine does not allow (answered as 409)."""


def transition(
    s: AsyncSession,
    ticket: Ticket,
    to: TicketStatus,
    *,
    reason: str | None = None,
    now: datetime | None = None,
) -> TicketStatus:
    """Move `ticket` to `to`, stamping times; refusals are logged too, then raised.

    Returns the previous status. The log row of a refusal is in the session: commit it
    before letting the error roll the transaction back if it should be kept."""
    now = now or utcnow()
    old = ticket.status
    ok = to in ALLOWED[old]
    s.add(
        TicketTransition(
            ticket_id=ticket.id,
            tenant_id=ticket.tenant_id,
            from_status=old.value,
            to_status=to.value,
            accepted=ok,
            reason=reason,
            at=now,
        )
    )
    if not ok:
        raise IllegalTransition(
            f"status: a {old.value} ticket cannot become {to.value}", field="status"
        )
    ticket.status = to
    if old is S.NEW and to in (S.OPEN, S.PENDING) and ticket.first_responded_at is None:
        ticket.first_responded_at = now
    if to is S.RESOLVED:
        ticket.resolved_at = now
    elif to is S.OPEN:
        ticket.resolved_at = None
    return old
