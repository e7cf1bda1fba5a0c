"""Set-up for the console's approvals tests: a requester, a supervisor and a finance user,
and a two-step purchase chain (any supervisor; the finance user too from 1,000.00 CNY)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from console_testkit import Person, make_person

from hubtest import TenantCtx

API = "/api/v1/erp"


@dataclass
class Desk:
    requester: Person
    supervisor: Person
    finance: Person


async def approval_desk(client: httpx.AsyncClient, t: TenantCtx) -> Desk:
    desk = Desk(
        await make_person(client, t, "agent", "Wang Fang"),
        await make_person(client, t, "supervisor", "Zhao Lei"),
        await make_person(client, t, "agent", "Finance Chen", department="Finance"),
    )
    chain = {
        "kind": "purchase",
        "steps": [
            {"min_amount": 0, "role": "supervisor"},
            {"min_amount": 100000, "user_id": desk.finance.user_id},
        ],
    }
    r = await client.post(f"{API}/approval-chains", headers=t.auth, json=chain)
    assert r.status_code == 200, r.text
    return desk


async def ask(
    client: httpx.AsyncClient, who: Person, amount: int, reason: str = "30 routers"
) -> dict[str, Any]:
    body = {"kind": "purchase", "amount": amount, "reason": reason}
    r = await client.post(f"{API}/approvals", headers=who.auth, json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data
