"""Every ORM model of crm, imported so that they all join Base.metadata."""

from crm.contacts.models import (
    Company,
    Contact,
    ContactAlias,
    ContactEmail,
    ContactPhone,
    TimelineEntry,
)
from crm.knowledge.models import Article
from crm.segments.models import Segment
from crm.surveys.models import Survey, SurveySettings
from crm.tickets.models import SlaPolicy, Ticket, TicketMessage, TicketReply, TicketTransition

__all__ = [
    "Article",
    "Company",
    "Contact",
    "ContactAlias",
    "ContactEmail",
    "ContactPhone",
    "Segment",
    "SlaPolicy",
    "Survey",
    "SurveySettings",
    "Ticket",
    "TicketMessage",
    "TicketReply",
    "TicketTransition",
    "TimelineEntry",
]
