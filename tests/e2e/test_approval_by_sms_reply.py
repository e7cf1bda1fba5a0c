"""An approval decided by SMS reply, over a real SMPP session: the approver's SMS carries the
code, a "Y <code>" from another handset decides nothing, the same reply from the approver's
registered mobile approves the request, and the requester hears it by SMS and email (what
erp promises in docs/erp.md: the requester is told by SMS and email)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from peers_testkit import INBOUND_NUMBER, Smsc, body_of, mails_to, quiet, until

from comms.hub import Hub
from erp_testkit import API, make_user, published
from hubtest import make_tenant

pytestmark = pytest.mark.slow

APPROVER_MOBILE, REQUESTER_MOBILE = "+8613900139031", "+8613900139032"
STRANGER = "+8613700137099"
REQUESTER, APPROVER = "zhao.requester@buy.cn", "li.approver@buy.cn"
# Long enough that the approver's SMS needs two segments: the SMSC sees concatenated parts.
REASON = "12 routers and 4 switches for the Shenzhen office"


async def test_a_reply_from_the_approvers_mobile_approves_and_the_requester_is_told(
    peer_hub: Hub, api: httpx.AsyncClient, smsc: Smsc, smtp_server: tuple[int, Path]
) -> None:
    hub, c, (_, maildir) = peer_hub, api, smtp_server
    t = await make_tenant(hub, "buy")
    r = await c.put(
        "/api/v1/messaging/settings",
        headers=t.auth,
        json={"inbound_sms_numbers": [INBOUND_NUMBER]},
    )
    assert r.status_code == 200, r.text
    approver, _ = await make_user(c, t, APPROVER, "supervisor", APPROVER_MOBILE)
    requester, requester_auth = await make_user(c, t, REQUESTER, "agent", REQUESTER_MOBILE)
    r = await c.post(
        f"{API}/approval-chains",
        headers=t.auth,
        json={"kind": "purchase", "steps": [{"min_amount": 0, "user_id": approver}]},
    )
    assert r.status_code == 200, r.text

    r = await c.post(
        f"{API}/approvals",
        headers=requester_auth,
        json={"kind": "purchase", "amount": 480000, "reason": REASON},
    )
    assert r.status_code == 201, r.text
    request_id = r.json()["id"]
    assert r.json()["status"] == "pending"

    await until(hub, lambda: len(smsc.to(APPROVER_MOBILE)) == 1)
    [ask] = smsc.to(APPROVER_MOBILE)
    m = re.search(r"Reply Y (\d{4}) to approve, N \1 to reject", ask.text)
    assert m, ask.text
    code = m.group(1)
    assert REASON in ask.text and REQUESTER in ask.text  # who asks for what, "@" and all
    assert len(smsc.submits) == 2  # two segments, one message

    async def status() -> str:
        got = await c.get(f"{API}/approvals/{request_id}", headers=t.auth)
        assert got.status_code == 200, got.text
        return str(got.json()["status"])

    # Someone who saw the code texts it from their own handset: accepted by the hub (a
    # deliver_sm is acknowledged), decides nothing.
    assert await smsc.mo(STRANGER, f"Y {code}") == 0
    await quiet(hub)
    assert await status() == "pending"
    assert await published(hub, "erp.approval.decided") == []
    inbound = await published(hub, "comms.message.inbound")
    assert [p["sender"] for p in inbound] == [STRANGER]  # it did reach the hub

    assert await smsc.mo(APPROVER_MOBILE, f"Y {code}") == 0
    await until(hub, lambda: bool(smsc.to(REQUESTER_MOBILE) and mails_to(maildir, REQUESTER)))
    await quiet(hub)

    assert await status() == "approved"
    [decided] = await published(hub, "erp.approval.decided")
    assert (decided["decision"], decided["channel"], decided["approver_id"]) == (
        "approve",
        "sms",
        approver,
    )
    assert decided["requester_id"] == requester and decided["final"] is True
    [told] = smsc.to(REQUESTER_MOBILE)
    assert "approved" in told.text and REASON in told.text
    [mail] = mails_to(maildir, REQUESTER)
    assert mail["Subject"] == "Your purchase request: approved"
    assert REASON in body_of(mail)
    # The approver's email with the links came too, naming the same code.
    [asked] = mails_to(maildir, APPROVER)
    assert f"Y {code}" in body_of(asked)
    # The approver got one SMS (the ask) and nothing went to the stranger.
    assert len(smsc.to(APPROVER_MOBILE)) == 1
    assert smsc.to(STRANGER) == []
