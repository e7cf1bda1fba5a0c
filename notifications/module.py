"""How `notifications` plugs into the hub (its routers, topics, subscribers and models)."""

from comms.modules import Module, Periodic
from notifications.api import router
from notifications.events import TOPICS
from notifications.handlers import subs
from notifications.tasks import notifications_sweep, sweep_once

module = Module(
    name="notifications",
    routers=(router,),
    topics=tuple(TOPICS),
    subscribers=tuple(subs),
    models="notifications.models",
    migrations="notifications:migrations/versions",
    depends_on=("comms",),
    commands=(notifications_sweep,),
    periodic=(Periodic("notifications-sweep", 15.0, sweep_once),),
)
