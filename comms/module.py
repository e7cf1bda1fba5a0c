"""How the core plugs itself in: its routers, topics and models, like any other package."""

from comms.audit.api import router as audit_router
from comms.auth.api import router as auth_router
from comms.bus.api import router as bus_router
from comms.campaigns.api import router as campaigns_router
from comms.campaigns.cli import campaigns_due
from comms.campaigns.events import TOPICS as CAMPAIGN_TOPICS
from comms.campaigns.handlers import subs as campaign_subscribers
from comms.campaigns.service import release_due
from comms.channels.email.inbound import smtp_in
from comms.channels.sms.twilio_webhooks import router as twilio_router
from comms.messages.api import router as messages_router
from comms.messages.events import TOPICS as MESSAGE_TOPICS
from comms.messages.handlers import subs as message_subscribers
from comms.modules import Module, Periodic
from comms.tenants.api import router as tenants_router
from comms.tenants.events import TOPICS

module = Module(
    name="comms",
    routers=(
        auth_router,
        tenants_router,
        audit_router,
        bus_router,
        messages_router,
        twilio_router,
        campaigns_router,
    ),
    topics=(*TOPICS, *MESSAGE_TOPICS, *CAMPAIGN_TOPICS),
    subscribers=(*message_subscribers, *campaign_subscribers),
    models="comms.models",
    migrations="comms.db:migrations/versions",
    commands=(smtp_in, campaigns_due),
    periodic=(Periodic("sms-campaigns-due", 15.0, release_due),),
)
