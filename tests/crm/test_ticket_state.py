"""The ticket state machine: legal moves stamp times, illegal ones are refused and logged."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from comms.db.tenancy import scoped_to
from comms.hub import Hub
from crm.tickets.models import TicketStatus, TicketTransition
from crm.tickets.state import ALLOWED
from crm_testkit import published
from hubtest import TenantCtx


async def new_ticket(client: httpx.AsyncClient, t: TenantCtx) -> dict[str, object]:
    r = await client.post("/api/v1/crm/tickets", headers=t.auth, json={"subject": "no dial tone"})
    assert r.status_code == 201, r.text
    data: dict[str, object] = r.json()
    return data


async def move(client: httpx.AsyncClient, t: TenantCtx, tid: object, to: str) -> httpx.Response:
    return await client.patch(f"/api/v1/crm/tickets/{tid}", headers=t.auth, json={"status": to})


def test_closed_is_final_and_every_status_has_a_rule() -> None:
    assert set(ALLOWED) == set(TicketStatus)
    assert ALLOWED[TicketStatus.CLOSED] == frozenset()
    assert TicketStatus.NEW not in {s for targets in ALLOWED.values() for s in targets}


async def test_legal_moves_change_status_and_stamp_response_and_resolution(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    t = await new_ticket(client, tenant)
    assert t["status"] == "new" and t["first_response_due"] and t["resolution_due"]
    opened = await move(client, tenant, t["id"], "open")
    assert opened.status_code == 200 and opened.json()["first_responded_at"]
    resolved = (await move(client, tenant, t["id"], "resolved")).json()
    assert resolved["status"] == "resolved" and resolved["resolved_at"]
    reopened = (await move(client, tenant, t["id"], "open")).json()
    assert reopened["resolved_at"] is None
    assert (await move(client, tenant, t["id"], "closed")).status_code == 200
    updates = await published(hub, "crm.ticket.updated")
    assert [(u["previous_status"], u["status"]) for u in updates] == [
        ("new", "open"),
        ("open", "resolved"),
        ("resolved", "open"),
        ("open", "closed"),
    ]
    assert len(await published(hub, "crm.ticket.created")) == 1


@pytest.mark.parametrize(("path", "illegal"), [(["closed"], "open"), (["open"], "new")])
async def test_illegal_move_is_a_409_that_changes_nothing_but_is_logged(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, path: list[str], illegal: str
) -> None:
    t = await new_ticket(client, tenant)
    for step in path:
        assert (await move(client, tenant, t["id"], step)).status_code == 200
    r = await move(client, tenant, t["id"], illegal)
    assert r.status_code == 409 and r.json()["field"] == "status"
    after = await client.get(f"/api/v1/crm/tickets/{t['id']}", headers=tenant.auth)
    assert after.json()["status"] == path[-1]
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        log = list(await s.scalars(select(TicketTransition).order_by(TicketTransition.id)))
    assert [(x.to_status, x.accepted) for x in log][-1] == (illegal, False)
    assert len(await published(hub, "crm.ticket.updated")) == len(path)
