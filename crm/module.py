"""How `crm` plugs into the hub (its routers, topics, subscribers and models)."""

from comms.modules import Module, Periodic
from crm.contacts.api import router as contacts_router
from crm.contacts.handlers import subs as contact_subscribers
from crm.knowledge.api import router as knowledge_router
from crm.queries import QUERIES
from crm.segments.api import router as segments_router
from crm.surveys.api import router as surveys_router
from crm.surveys.events import TOPICS as SURVEY_TOPICS
from crm.surveys.handlers import subs as survey_subscribers
from crm.tickets.api import router as tickets_router
from crm.tickets.cli import crm_escalate, escalate_once
from crm.tickets.events import TOPICS as TICKET_TOPICS
from crm.tickets.handlers import subs as ticket_subscribers

module = Module(
    name="crm",
    routers=(contacts_router, tickets_router, segments_router, surveys_router, knowledge_router),
    topics=(*TICKET_TOPICS, *SURVEY_TOPICS),
    subscribers=(*contact_subscribers, *ticket_subscribers, *survey_subscribers),
    models="crm.models",
    migrations="crm:migrations/versions",
    depends_on=("comms",),
    commands=(crm_escalate,),
    periodic=(Periodic("crm-escalate", 60.0, escalate_once),),
    queries=QUERIES,
)
