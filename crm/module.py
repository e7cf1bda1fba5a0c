"""How `crm` plugs into the hub (its routers, topics, subscribers and models)."""

from comms.modules import Module

module = Module(name="crm", depends_on=("comms",))
