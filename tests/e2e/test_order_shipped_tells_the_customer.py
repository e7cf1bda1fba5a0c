"""An order that ships reaches its customer: by SMS at a real SMSC through a rule on
`erp.order.shipped` whose recipient is the event's contact, and by email at a real SMTP
server through a second, email-only rule. Confirming the order tells them nothing.

Rule channels are a fallback order (email only if the SMS fails), so "SMS and email" is two
rules, one per channel, both to `{"kind": "contact"}` (the payload's contact_phone and
contact_email)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from peers_testkit import Smsc, body_of, mails, quiet, until

from comms.hub import Hub
from erp_testkit import make_item, make_order, make_warehouse, receive, to
from hubtest import make_tenant

pytestmark = pytest.mark.slow

CUSTOMER_MOBILE = "+8613800138000"  # make_order's "13800138000", stored E.164
CUSTOMER_EMAIL = "han@example.cn"


async def rule(c: httpx.AsyncClient, auth: dict[str, str], channel: str) -> None:
    body: dict[str, Any] = {
        "name": f"order shipped by {channel}",
        "topic": "erp.order.shipped",
        "recipients": [{"kind": "contact"}],
        "channels": [channel],
    }
    r = await c.post("/api/v1/notifications/rules", headers=auth, json=body)
    assert r.status_code == 201, r.text


async def test_a_shipped_order_texts_and_mails_its_customer(
    peer_hub: Hub, api: httpx.AsyncClient, smsc: Smsc, smtp_server: tuple[int, Path]
) -> None:
    hub, c, (_, maildir) = peer_hub, api, smtp_server
    t = await make_tenant(hub, "shop")
    await rule(c, t.auth, "sms")
    await rule(c, t.auth, "email")
    item = (await make_item(c, t, name="Router AX3000"))["id"]
    wh = (await make_warehouse(c, t))["id"]
    await receive(c, t, item, wh, 5)
    order = await make_order(
        c, t, [{"item_id": item, "warehouse_id": wh, "qty": 2, "unit_price": 100}]
    )
    assert order["contact_email"] == CUSTOMER_EMAIL

    assert (await to(c, t, order["id"], "confirmed")).status_code == 200
    await quiet(hub)
    assert smsc.messages() == [] and mails(maildir) == []  # no rule on confirmed

    assert (await to(c, t, order["id"], "shipped")).status_code == 200
    await until(hub, lambda: len(smsc.messages()) >= 1 and len(mails(maildir)) >= 1)
    await quiet(hub)
    [sms] = smsc.messages()
    assert sms.to == CUSTOMER_MOBILE
    assert order["number"] in sms.text
    [mail] = mails(maildir)
    assert mail["To"] == CUSTOMER_EMAIL
    assert order["number"] in body_of(mail)
