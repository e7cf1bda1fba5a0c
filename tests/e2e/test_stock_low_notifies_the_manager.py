"""A stock movement that crosses the reorder point reaches the warehouse manager once by SMS
(at a real SMSC) and once by email (at a real SMTP server), and again only after the level
was replenished and crossed anew.

Rule channels are a fallback order (email only if the SMS fails), so "SMS and email" is two
rules on `erp.stock.low`, one per channel, both to the payload user `manager_id`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from peers_testkit import Smsc, body_of, mails, mails_to, quiet, until

from comms.hub import Hub
from erp_testkit import move, published
from hubtest import TenantCtx, make_tenant

pytestmark = pytest.mark.slow

MANAGER_MOBILE = "+8613800138021"
API = "/api/v1/erp"


async def post(
    c: httpx.AsyncClient, t: TenantCtx, url: str, body: dict[str, Any]
) -> dict[str, Any]:
    r = await c.post(url, headers=t.auth, json=body)
    assert r.status_code in (200, 201), r.text
    data: dict[str, Any] = r.json()
    return data


async def test_crossing_the_reorder_point_texts_and_mails_the_manager_once_per_dip(
    peer_hub: Hub, api: httpx.AsyncClient, smsc: Smsc, smtp_server: tuple[int, Path]
) -> None:
    hub, c, (_, maildir) = peer_hub, api, smtp_server
    t = await make_tenant(hub, "stock")
    manager = await post(
        c,
        t,
        "/api/v1/users",
        {
            "email": "wang.manager@stock.example.cn",
            "password": "manager-password-1",
            "role": "agent",
            "mobile": "138 0013 8021",  # typed the local way; stored E.164
            "department": "warehouse",
        },
    )
    wh = await post(
        c,
        t,
        f"{API}/warehouses",
        {"code": "SZ1", "name": "Shenzhen DC", "manager_id": manager["id"]},
    )
    item = await post(
        c, t, f"{API}/items", {"sku": "AX3000", "name": "Router AX3000", "reorder_point": 10}
    )
    for channel in ("sms", "email"):
        await post(
            c,
            t,
            "/api/v1/notifications/rules",
            {
                "name": f"low stock by {channel}",
                "topic": "erp.stock.low",
                "recipients": [{"kind": "payload_user", "value": "manager_id"}],
                "channels": [channel],
            },
        )

    async def movement(kind: str, qty: int) -> None:
        r = await move(c, t, kind, item["id"], wh["id"], quantity=qty, reason="journey")
        assert r.status_code == 201, r.text

    await movement("receipt", 15)  # above the point: nothing to say
    await movement("issue", 3)  # 12, still above
    await movement("issue", 4)  # 8: crosses the point
    await movement("issue", 2)  # 6: still low, already announced
    await movement("issue", 1)  # 5
    await until(hub, lambda: len(smsc.messages()) >= 1 and len(mails(maildir)) >= 1)
    await quiet(hub)

    [sms] = smsc.messages()
    assert sms.to == MANAGER_MOBILE
    assert "Router AX3000" in sms.text
    [mail] = mails(maildir)
    assert mail["To"] == manager["email"]
    assert "Router AX3000" in body_of(mail)
    assert len(await published(hub, "erp.stock.low")) == 1

    await movement("receipt", 20)  # 25: replenished, nothing sent
    await quiet(hub)
    assert len(smsc.messages()) == 1 and len(mails(maildir)) == 1
    await movement("issue", 16)  # 9: crosses again
    await until(hub, lambda: len(smsc.messages()) >= 2 and len(mails(maildir)) >= 2)
    await movement("issue", 1)  # 8: same dip
    await quiet(hub)

    assert [m.to for m in smsc.messages()] == [MANAGER_MOBILE, MANAGER_MOBILE]
    assert "Router AX3000" in smsc.messages()[1].text
    assert len(mails_to(maildir, manager["email"])) == 2
    assert len(mails(maildir)) == 2
