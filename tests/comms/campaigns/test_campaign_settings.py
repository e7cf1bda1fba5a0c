"""The reply-linking window and the segment price are settings, not constants."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from campaigns_testkit import campaign, counts, reply, setup_tenant
from sqlalchemy import update

from comms.campaigns.models import CampaignRecipient
from comms.db.base import utcnow
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from comms.settings import Settings
from hubtest import TenantCtx, make_settings
from messages_testkit import settle

A, B = "+8613800138000", "+8613800138001"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        sms_reply_window=60,
        sms_segment_price="0.05",
        sms_price_currency="HKD",
    )


async def test_replies_after_the_configured_window_are_not_linked_and_cost_uses_the_price(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_tenant(client, tenant)
    cid = await campaign(client, tenant, "明早九点开会", [A, B])
    await settle(hub)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        # B's SMS went out two minutes ago: beyond the 60 s window.
        await s.execute(
            update(CampaignRecipient)
            .where(CampaignRecipient.phone == B)
            .values(queued_at=utcnow() - timedelta(minutes=2))
        )
        await s.commit()
    await reply(hub, A, "收到")
    await reply(hub, B, "收到")
    got = await counts(client, tenant, cid)
    assert got["replied"] == 1
    assert (got["segments"], got["estimated_cost"], got["currency"]) == (2, "0.10", "HKD")
