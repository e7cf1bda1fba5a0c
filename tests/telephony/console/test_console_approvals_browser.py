"""The Approvals screen in Chromium: a supervisor signs in, sees the request awaiting them,
approves it with a comment and the request moves on to its next step; a request that turns
up live and is decided elsewhere first answers the click with a clear "already decided"."""

from __future__ import annotations

import httpx
from approval_desk import API, approval_desk, ask
from browser_kit import chromium, collect_errors, need_browser, shoot, sign_in
from console_testkit import make_person, serve
from sqlalchemy import select

from comms.app import create_app
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from comms.messages.models import Direction, Message
from hubtest import TenantCtx, drain


async def mail_to(hub: Hub, t: TenantCtx, address: str) -> list[str]:
    async with hub.db.session() as s:
        scoped_to(s, t.id)
        rows = await s.scalars(
            select(Message.body).where(
                Message.direction == Direction.OUTBOUND, Message.recipient == address
            )
        )
        return [b or "" for b in rows]


async def test_an_approver_approves_in_the_console_and_the_request_moves_on(
    hub: Hub, tenant: TenantCtx
) -> None:
    need_browser()
    app = create_app(hub=hub, start_services=False)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://h") as client,
        serve(app) as base,
        chromium() as browser,
    ):
        desk = await approval_desk(client, tenant)
        big = await ask(client, desk.requester, 250000, "30 routers for the Shenzhen office")
        page = await browser.new_page()
        errors = collect_errors(page)
        await sign_in(page, base, desk.supervisor.email, desk.supervisor.password)
        await page.wait_for_selector("#approvals-badge:text-is('1')")
        await page.click("button[data-tab=approvals]")
        row = f"#approvals li[data-request='{big['id']}']"
        await page.wait_for_selector(row)
        assert await page.text_content(f"{row} .approval-kind") == "purchase"
        assert await page.text_content(f"{row} .approval-amount") == "2,500.00 CNY"
        assert await page.text_content(f"{row} .approval-requester") == "Wang Fang"
        assert await page.text_content(f"{row} .approval-step") == "step 1/2"
        assert "Shenzhen office" in (await page.text_content(f"{row} .approval-reason") or "")
        await shoot(page, "approvals-01-awaiting")

        await page.fill(f"{row} .approval-note", "Within the Q4 budget")
        await page.click(f"{row} .approval-approve")
        await page.wait_for_selector("#approvals li:text('Nothing awaits your approval.')")
        assert await page.is_hidden("#approvals-badge")
        assert await page.text_content("#approvals-error") == ""

        # Through the API: step 1 approved by the supervisor with the comment, step 2 started
        # (the finance user is asked now), and the requester was told.
        got = (await client.get(f"{API}/approvals/{big['id']}", headers=tenant.auth)).json()
        assert [s["status"] for s in got["steps"]] == ["approved", "pending"]
        [d] = got["decisions"]
        assert (d["approver_id"], d["decision"], d["channel"], d["note"]) == (
            desk.supervisor.user_id,
            "approve",
            "api",
            "Within the Q4 budget",
        )
        fin = await client.get(
            f"{API}/approvals", headers=desk.finance.auth, params={"awaiting": "me"}
        )
        assert [r["id"] for r in fin.json()["items"]] == [big["id"]]
        told = await mail_to(hub, tenant, desk.requester.email)
        assert any("next step pending" in b for b in told)
        assert any("step 2/2" in b for b in await mail_to(hub, tenant, desk.finance.email))

        # A new request turns up live (the push), but another supervisor rejects it first.
        small = await ask(client, desk.requester, 5000, "a label printer")
        await drain(hub)
        row = f"#approvals li[data-request='{small['id']}']"
        await page.wait_for_selector(row)
        other = await make_person(client, tenant, "supervisor", "Qian Yu")
        r = await client.post(
            f"{API}/approvals/{small['id']}/decision",
            headers=other.auth,
            json={"decision": "reject"},
        )
        assert r.status_code == 200, r.text
        await page.click(f"{row} .approval-approve")
        await page.wait_for_selector("#approvals-error:has-text('Already decided')")
        assert "rejected already" in (await page.text_content("#approvals-error") or "")
        await page.wait_for_selector(row, state="detached")
        await shoot(page, "approvals-02-already-decided")
        assert errors == []
