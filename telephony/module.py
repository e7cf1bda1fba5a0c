"""How `telephony` plugs into the hub (its routers, topics, subscribers and models)."""

from comms.modules import Module

module = Module(name="telephony", depends_on=("comms",))
