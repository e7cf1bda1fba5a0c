"""How `notifications` plugs into the hub (its routers, topics, subscribers and models)."""

from comms.modules import Module

module = Module(name="notifications", depends_on=("comms",))
