"""How the core plugs itself in: its routers, topics and models, like any other package."""

from comms.audit.api import router as audit_router
from comms.auth.api import router as auth_router
from comms.bus.api import router as bus_router
from comms.modules import Module
from comms.tenants.api import router as tenants_router
from comms.tenants.events import TOPICS

module = Module(
    name="comms",
    routers=(auth_router, tenants_router, audit_router, bus_router),
    topics=TOPICS,
    models="comms.models",
    migrations="comms.db:migrations/versions",
)
