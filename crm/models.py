"""Every ORM model of crm, imported so that they all join Base.metadata."""

from crm.contacts.models import Company, Contact, ContactEmail, ContactPhone, TimelineEntry
from crm.tickets.models import SlaPolicy, Ticket, TicketMessage, TicketTransition

__all__ = [
    "Company",
    "Contact",
    "ContactEmail",
    "ContactPhone",
    "SlaPolicy",
    "Ticket",
    "TicketMessage",
    "TicketTransition",
    "TimelineEntry",
]
