"""Shared set-up for the approvals tests: a tenant with a requester, approvers and a chain."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from comms.db.tenancy import scoped_to
from comms.hub import Hub
from comms.messages.models import Direction, Message
from erp_testkit import API, make_user
from hubtest import TenantCtx

SUP_MOBILE, FIN_MOBILE, REQ_MOBILE = "+8613900139001", "+8613900139002", "+8613900139003"


@dataclass
class Staff:
    requester: str
    requester_auth: dict[str, str]
    supervisor: str
    supervisor_auth: dict[str, str]
    finance: str
    finance_auth: dict[str, str]


async def staff(client: httpx.AsyncClient, t: TenantCtx) -> Staff:
    tag = uuid.uuid4().hex[:6]
    req = await make_user(client, t, f"req-{tag}@{t.name}.cn", "agent", REQ_MOBILE)
    sup = await make_user(client, t, f"sup-{tag}@{t.name}.cn", "supervisor", SUP_MOBILE)
    fin = await make_user(client, t, f"fin-{tag}@{t.name}.cn", "agent", FIN_MOBILE)
    return Staff(req[0], req[1], sup[0], sup[1], fin[0], fin[1])


async def two_step_chain(client: httpx.AsyncClient, t: TenantCtx, people: Staff) -> None:
    """Any supervisor for every amount; the finance user too from 1,000.00 CNY."""
    body = {
        "kind": "purchase",
        "steps": [
            {"min_amount": 0, "role": "supervisor"},
            {"min_amount": 100000, "user_id": people.finance},
        ],
    }
    r = await client.post(f"{API}/approval-chains", headers=t.auth, json=body)
    assert r.status_code == 200, r.text


async def ask(
    client: httpx.AsyncClient, people: Staff, amount: int = 250000, kind: str = "purchase"
) -> dict[str, Any]:
    body = {"kind": kind, "amount": amount, "reason": "30 routers for the Shenzhen office"}
    r = await client.post(f"{API}/approvals", headers=people.requester_auth, json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def outbound(hub: Hub, t: TenantCtx, to: str) -> list[Message]:
    async with hub.db.session() as s:
        scoped_to(s, t.id)
        rows = await s.scalars(
            select(Message)
            .where(Message.direction == Direction.OUTBOUND, Message.recipient == to)
            .order_by(Message.created_at)
        )
        return list(rows)


async def sms_code(hub: Hub, t: TenantCtx, mobile: str) -> str:
    """The reply code in the latest approval SMS to `mobile` (as the approver reads it)."""
    texts = [m.body for m in await outbound(hub, t, mobile) if "Reply Y" in (m.body or "")]
    assert texts, f"no approval SMS to {mobile}"
    m = re.search(r"Reply Y (\d{4}) to approve, N \1 to reject", texts[-1])
    assert m, texts[-1]
    return m.group(1)


async def mailed_links(hub: Hub, t: TenantCtx, email: str) -> dict[str, str]:
    """Approve and reject paths from the latest approval email to `email`."""
    mails = [m.body for m in await outbound(hub, t, email) if "Approve: " in (m.body or "")]
    assert mails, f"no approval email to {email}"
    found = dict(re.findall(r"(Approve|Reject): \S*(/erp/approval-links/\S+)", mails[-1]))
    return {"approve": found["Approve"], "reject": found["Reject"]}
