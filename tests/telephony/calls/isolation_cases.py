"""Isolation cases for the call routes (collected by tests/test_route_isolation.py)."""

from __future__ import annotations

import httpx

from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from isolation import Case
from telephony.calls import service


async def make_call(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    async with hub.db.session() as s:
        scoped_to(s, owner.id)
        call, _ = await service.open_inbound(
            s,
            owner.id,
            caller="+8613700000000",
            callee="6001",
            channel_id="iso-caller-1",
            endpoint="PJSIP/trunk-00000001",
            in_network=False,
            member_id=None,
        )
        await s.commit()
    return {"call_id": str(call.id)}


CASES: dict[str, Case] = {"/api/v1/calls/{call_id}": Case(make_call)}
