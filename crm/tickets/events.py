"""Topics the tickets slice publishes: ids and facts, never ORM objects."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from comms.bus.topics import EventPayload
from crm.tickets.models import Priority, TicketChannel, TicketStatus


class TicketCreated(EventPayload):
    topic: ClassVar[str] = "crm.ticket.created"
    version: ClassVar[int] = 1

    ticket_id: uuid.UUID
    contact_id: uuid.UUID | None
    channel: TicketChannel
    subject: str
    priority: Priority
    status: TicketStatus
    resolution_due: datetime | None


class TicketUpdated(EventPayload):
    topic: ClassVar[str] = "crm.ticket.updated"
    version: ClassVar[int] = 1

    ticket_id: uuid.UUID
    status: TicketStatus
    previous_status: TicketStatus
    priority: Priority
    assignee_id: uuid.UUID | None
    team: str | None
    changes: list[str]


class TicketEscalated(EventPayload):
    """An SLA target passed: notifications route this to the team's supervisors."""

    topic: ClassVar[str] = "crm.ticket.escalated"
    version: ClassVar[int] = 1

    ticket_id: uuid.UUID
    contact_id: uuid.UUID | None
    reason: str  # "first_response" or "resolution"
    due: datetime
    priority: Priority
    previous_priority: Priority
    assignee_id: uuid.UUID | None
    team: str | None
    notify_role: str = "supervisor"
    subject: str = ""  # for the notice text; a default keeps events stored before it valid


TOPICS: list[type[EventPayload]] = [TicketCreated, TicketUpdated, TicketEscalated]
