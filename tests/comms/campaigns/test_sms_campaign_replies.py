"""Inbound SMS after a campaign: opt-out keywords suppress later marketing (not notices),
and replies link to the latest campaign and are tallied per reply option."""

from __future__ import annotations

import httpx
import pytest
from campaigns_testkit import campaign, counts, reply, setup_tenant

from comms.campaigns.handlers import opt_out_keyword
from comms.hub import Hub
from hubtest import TenantCtx
from messages_testkit import settle

A, B, C = "+8613800138000", "+8613800138001", "+8613800138002"


@pytest.mark.parametrize("text", ["T", "td", " 退订 ", "Stop", "unsubscribe。"])
def test_opt_out_keywords_match_any_case_and_surrounding_blanks(text: str) -> None:
    assert opt_out_keyword(text) is not None


def test_ordinary_replies_are_not_opt_outs() -> None:
    assert opt_out_keyword("Tomorrow") is None and opt_out_keyword("1") is None


async def test_opted_out_number_is_suppressed_on_next_marketing_but_not_on_a_notice(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_tenant(client, tenant)
    await campaign(client, tenant, "促销一", [A, B], kind="marketing")
    await settle(hub)
    await reply(hub, A, "td")
    await reply(hub, B, "STOP")
    second = await campaign(client, tenant, "促销二", [A, B, C], kind="marketing")
    notice = await campaign(client, tenant, "停电通知", [A, B])
    await settle(hub)
    c2 = await counts(client, tenant, second)
    assert (c2["recipients"], c2["suppressed"], c2["sent"]) == (3, 2, 1)
    cn = await counts(client, tenant, notice)
    assert (cn["suppressed"], cn["sent"]) == (0, 2)


async def test_replies_link_to_the_latest_campaign_and_are_tallied_per_option(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    await setup_tenant(client, tenant)
    older = await campaign(client, tenant, "旧通知", [A, B, C])
    await settle(hub)
    options = {"1": "attend", "2": "decline"}
    meeting = await campaign(
        client, tenant, "年会，回1参加，回2不参加", [A, B, C], reply_options=options
    )
    await settle(hub)
    await reply(hub, A, "1")
    await reply(hub, B, " 2 ")
    await reply(hub, C, "几点开始？")
    got = await counts(client, tenant, meeting)
    assert got["replied"] == 3
    assert got["replies"] == {"1": 1, "2": 1}
    assert (await counts(client, tenant, older))["replied"] == 0
    # Another tenant's campaign to the same number is not credited with the reply.
    r = await client.get(f"/api/v1/sms/campaigns/{meeting}", headers=other_tenant.auth)
    assert r.status_code == 404
