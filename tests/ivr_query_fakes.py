"""A stand-in module answering the named queries IVR flows ask (erp and crm are elsewhere).

Not added to the hub's modules globally: the real erp/crm modules register the same names
once installed, and a name registered twice is refused. Tests build a registry from it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.tenancy import current_tenant
from comms.modules import Module
from comms.queries import Queries, collect

VIP = "+8613700000000"
ORDERS = {"1234": "shipped"}


class Asked:
    """What was asked, of which tenant (the session's scope), with which arguments."""

    def __init__(self) -> None:
        self.log: list[tuple[str, uuid.UUID | None, dict[str, str]]] = []


def _tenant(session: AsyncSession | None) -> uuid.UUID | None:
    return current_tenant(session) if session is not None else None


def fake_module(asked: Asked) -> Module:
    async def order_status(session: AsyncSession, args: Mapping[str, str]) -> Any:
        asked.log.append(("erp.order_status", _tenant(session), dict(args)))
        return ORDERS.get(args.get("number", ""))

    async def in_segment(session: AsyncSession, args: Mapping[str, str]) -> Any:
        asked.log.append(("crm.in_segment", _tenant(session), dict(args)))
        return args.get("segment") == "vip" and args.get("phone") == VIP

    return Module(
        name="ivr_query_fakes",
        queries={"erp.order_status": order_status, "crm.in_segment": in_segment},
    )


def fake_queries(asked: Asked) -> Queries:
    return collect([fake_module(asked)])


# A flow that greets VIPs, asks for an order number and says whether it is known.
FLOW: dict[str, Any] = {
    "start": "seg",
    "nodes": {
        "seg": {
            "type": "condition",
            "check": "caller_in_segment",
            "segment": "vip",
            "then": "vip",
            "else": "order",
        },
        "vip": {"type": "play", "media": "sound:vip-welcome", "next": "order"},
        "order": {
            "type": "gather",
            "prompt": "sound:enter-order",
            "digits": 4,
            "timeout": 0.5,
            "variable": "number",
            "next": "look",
        },
        "look": {
            "type": "lookup",
            "source": "internal",
            "query": "erp.order_status",
            "variable": "status",
            "next": "found",
            "on_error": "sorry",
        },
        "found": {"type": "play", "media": "sound:order-found", "next": "bye"},
        "sorry": {"type": "play", "media": "sound:order-unknown", "next": "bye"},
        "bye": {"type": "hangup"},
    },
}
