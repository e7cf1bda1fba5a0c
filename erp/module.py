"""How `erp` plugs into the hub (its routers, topics, subscribers and models)."""

from comms.modules import Module

module = Module(name="erp", depends_on=("comms",))
