"""Deciding outside the console: an SMS reply from the approver's registered mobile, or a
signed single-use link; anything else never decides."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from approval_kit import SUP_MOBILE, ask, mailed_links, sms_code, staff, two_step_chain
from comms.audit.models import AuditEntry
from comms.channels.sms.provider import InboundSms
from comms.db.base import utcnow
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from comms.messages.inbound import MessagingSink
from erp.approvals import links
from erp.approvals.handlers import parse_reply
from erp.approvals.models import ApprovalStep, Decision
from erp_testkit import API, published
from hubtest import SECRET, TenantCtx, drain

INBOUND_NUMBER = "10690002"


async def sms_in(hub: Hub, sender: str, text: str) -> None:
    """A real inbound SMS through comms (stored, published, handled by the bus)."""
    sink: MessagingSink = hub.services["messaging.sink"]
    pid = uuid.uuid4().hex
    got = await sink.receive_sms(InboundSms("log", sender, INBOUND_NUMBER, text, utcnow(), [pid]))
    assert got is not None
    await drain(hub)


async def route_inbound(client: httpx.AsyncClient, t: TenantCtx) -> None:
    r = await client.put(
        "/api/v1/messaging/settings", headers=t.auth, json={"inbound_sms_numbers": [INBOUND_NUMBER]}
    )
    assert r.status_code == 200, r.text


async def request_status(client: httpx.AsyncClient, t: TenantCtx, rid: str) -> dict[str, object]:
    r = await client.get(f"{API}/approvals/{rid}", headers=t.auth)
    assert r.status_code == 200
    data: dict[str, object] = r.json()
    return data


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Y 1234", (Decision.APPROVE, "1234")),
        (" y1234 ", (Decision.APPROVE, "1234")),
        ("N 0042.", (Decision.REJECT, "0042")),
        ("是 1234", (Decision.APPROVE, "1234")),
        ("Ｙ 1234", (Decision.APPROVE, "1234")),
        ("yes 1234", None),
        ("Y 123", None),
        ("Y 1234 and more", None),
    ],
)
def test_sms_replies_are_read_strictly(text: str, expected: tuple[Decision, str] | None) -> None:
    assert parse_reply(text) == expected


async def test_a_reply_from_the_approvers_mobile_decides_the_step(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await route_inbound(client, tenant)
    people = await staff(client, tenant)
    await two_step_chain(client, tenant, people)
    r = await ask(client, people, 5000)
    code = await sms_code(hub, tenant, SUP_MOBILE)
    await sms_in(hub, "139 0013 9001", f"Y {code}")  # written the local way; same number
    got = await request_status(client, tenant, r["id"])
    assert got["status"] == "approved"
    assert [(d["channel"], d["approver_id"]) for d in got["decisions"]] == [
        ("sms", people.supervisor)
    ]  # type: ignore[attr-defined]
    [ev] = await published(hub, "erp.approval.decided")
    assert (ev["channel"], ev["approver_id"]) == ("sms", people.supervisor)


async def test_n_reply_rejects(hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx) -> None:
    await route_inbound(client, tenant)
    people = await staff(client, tenant)
    await two_step_chain(client, tenant, people)
    r = await ask(client, people, 250000)
    await sms_in(hub, SUP_MOBILE, f"N {await sms_code(hub, tenant, SUP_MOBILE)}")
    assert (await request_status(client, tenant, r["id"]))["status"] == "rejected"


async def test_a_reply_from_another_number_never_decides_and_is_audited(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await route_inbound(client, tenant)
    people = await staff(client, tenant)
    await two_step_chain(client, tenant, people)
    r = await ask(client, people, 5000)
    code = await sms_code(hub, tenant, SUP_MOBILE)
    await sms_in(hub, "+8613700137000", f"Y {code}")  # a stranger who saw the code
    await sms_in(hub, SUP_MOBILE, "Y 9999" if code != "9999" else "Y 9998")  # a wrong code
    assert (await request_status(client, tenant, r["id"]))["status"] == "pending"
    assert await published(hub, "erp.approval.decided") == []
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        rows = list(
            await s.scalars(
                select(AuditEntry).where(AuditEntry.action == "erp.approval.sms_ignored")
            )
        )
    assert sorted(str(e.changes["from"]) for e in rows) == ["+8613700137000", SUP_MOBILE]
    assert {e.changes["why"] for e in rows} == {
        "not an approver's mobile",
        "no pending step has this code",
    }
    # The right phone still decides afterwards.
    await sms_in(hub, SUP_MOBILE, f"Y {code}")
    assert (await request_status(client, tenant, r["id"]))["status"] == "approved"


async def test_a_mailed_link_shows_a_page_then_decides_once(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    people = await staff(client, tenant)
    await two_step_chain(client, tenant, people)
    r = await ask(client, people, 5000)
    email = (await client.get(f"/api/v1/users/{people.supervisor}", headers=tenant.auth)).json()[
        "email"
    ]
    urls = await mailed_links(hub, tenant, email)
    page = await client.get(urls["approve"])  # no login
    assert (
        page.status_code == 200 and "<form method='post'>" in page.text and "Approve" in page.text
    )
    assert (await request_status(client, tenant, r["id"]))[
        "status"
    ] == "pending"  # GET decides nothing
    done = await client.post(urls["approve"])
    assert done.status_code == 200 and "approved" in done.text
    got = await request_status(client, tenant, r["id"])
    assert got["status"] == "approved"
    assert [(d["channel"], d["approver_id"]) for d in got["decisions"]] == [
        ("link", people.supervisor)
    ]  # type: ignore[attr-defined]
    again = await client.post(urls["approve"])
    assert again.status_code == 410 and "used already" in again.text
    other = await client.post(urls["reject"])  # the sibling link of a decided step
    assert other.status_code == 410 and "decided already" in other.text
    assert (await client.get(urls["reject"])).status_code == 410


async def test_tampered_or_expired_links_are_refused(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    people = await staff(client, tenant)
    await two_step_chain(client, tenant, people)
    r = await ask(client, people, 5000)
    email = (await client.get(f"/api/v1/users/{people.supervisor}", headers=tenant.auth)).json()[
        "email"
    ]
    path = (await mailed_links(hub, tenant, email))["approve"]
    prefix, token = path.rsplit("/", 1)
    link_id, tenant_hex, expires, mac = token.split(".")
    later = f"{link_id}.{tenant_hex}.{int(expires) + 86400}.{mac}"  # a longer life, same MAC
    other = f"{uuid.uuid4().hex}.{tenant_hex}.{expires}.{mac}"
    for bad in (later, other, token[:-2], "garbage"):
        res = await client.post(f"{prefix}/{bad}")
        assert res.status_code == 403 and "not valid" in res.text, bad
    past = int((datetime.now(UTC) - timedelta(seconds=1)).timestamp())
    expired = links.sign(SECRET, links.LinkToken(uuid.UUID(hex=link_id), tenant.id, past))
    res = await client.post(f"{prefix}/{expired}")
    assert res.status_code == 410 and "expired" in res.text
    assert (await client.get(f"{prefix}/{expired}")).status_code == 410
    assert (await request_status(client, tenant, r["id"]))["status"] == "pending"
    assert (await client.post(path)).status_code == 200  # the genuine link still works


async def test_a_code_shared_by_two_of_the_approvers_steps_decides_neither(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    """Two requests made at the same instant can draw the same code; a reply must then not
    guess which one the approver meant."""
    await route_inbound(client, tenant)
    people = await staff(client, tenant)
    await two_step_chain(client, tenant, people)
    first, second = await ask(client, people, 5000), await ask(client, people, 6000)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        steps = list(await s.scalars(select(ApprovalStep).order_by(ApprovalStep.started_at)))
        steps[1].code = steps[0].code
        code = steps[0].code
        await s.commit()
    await sms_in(hub, SUP_MOBILE, f"Y {code}")
    for r in (first, second):
        assert (await request_status(client, tenant, r["id"]))["status"] == "pending"
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        why = await s.scalar(
            select(AuditEntry.changes).where(AuditEntry.action == "erp.approval.sms_ignored")
        )
    assert why is not None and why["why"] == "the code names several of this approver's steps"


async def test_an_api_decision_and_a_link_racing_for_one_step_decide_it_once(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    people = await staff(client, tenant)
    await two_step_chain(client, tenant, people)
    r = await ask(client, people, 5000)
    email = (await client.get(f"/api/v1/users/{people.supervisor}", headers=tenant.auth)).json()[
        "email"
    ]
    reject = (await mailed_links(hub, tenant, email))["reject"]
    api, link = await asyncio.gather(
        client.post(
            f"{API}/approvals/{r['id']}/decision",
            headers=people.supervisor_auth,
            json={"decision": "approve"},
        ),
        client.post(reject),
    )
    assert sorted([api.status_code, link.status_code]) in ([200, 409], [200, 410]), (
        api.text,
        link.text,
    )
    got = await request_status(client, tenant, r["id"])
    assert len(got["decisions"]) == 1  # type: ignore[arg-type]
    assert len(await published(hub, "erp.approval.decided")) == 1
