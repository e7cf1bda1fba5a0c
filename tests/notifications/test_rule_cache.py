"""Rules and templates are kept compiled between events; an edit still counts from the next
event, in this process or any other."""

from __future__ import annotations

import httpx

from comms.hub import Hub
from hubtest import TenantCtx
from messages_testkit import CountingProvider, settle, use_provider
from notif_testkit import TOPIC, add_rule, fire, make_user, notices, stock_low

RULES = "/api/v1/notifications/rules"
TEMPLATES = "/api/v1/notifications/templates"


async def test_rule_and_template_edits_apply_to_the_next_event(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider = CountingProvider()
    use_provider(hub, provider)
    user = await make_user(client, tenant, mobile="+8613800138009")
    rule = await add_rule(
        client,
        tenant,
        recipients=[{"kind": "user", "value": user["id"]}],
        channels=["sms"],
        conditions=[{"field": "on_hand", "op": "lt", "value": 5}],
    )
    r = await client.post(
        TEMPLATES,
        headers=tenant.auth,
        json={"topic": TOPIC, "channel": "sms", "locale": "zh-CN", "body": "v1 {{ on_hand }}"},
    )
    assert r.status_code == 201, r.text
    template_id = r.json()["id"]

    await fire(hub, tenant, stock_low(on_hand=3))
    await settle(hub)
    assert [s.text for s in provider.submitted] == ["v1 3"]

    # Tighter condition, new text: the next event sees both at once.
    body = {k: rule[k] for k in ("name", "topic", "recipients", "channels", "urgency")}
    body["conditions"] = [{"field": "on_hand", "op": "lt", "value": 2}]
    r = await client.put(f"{RULES}/{rule['id']}", headers=tenant.auth, json=body)
    assert r.status_code == 200, r.text
    r = await client.put(
        f"{TEMPLATES}/{template_id}",
        headers=tenant.auth,
        json={"topic": TOPIC, "channel": "sms", "locale": "zh-CN", "body": "v2 {{ on_hand }}"},
    )
    assert r.status_code == 200, r.text
    await fire(hub, tenant, stock_low(on_hand=3))  # no longer matches
    await fire(hub, tenant, stock_low(on_hand=1))
    await settle(hub)
    assert [s.text for s in provider.submitted] == ["v1 3", "v2 1"]

    # Disabled, then deleted template: no notice while disabled; the summary serves after.
    r = await client.put(
        f"{RULES}/{rule['id']}", headers=tenant.auth, json={**body, "enabled": False}
    )
    assert r.status_code == 200, r.text
    await fire(hub, tenant, stock_low(on_hand=1))
    await settle(hub)
    assert len(await notices(hub)) == 2
    r = await client.put(f"{RULES}/{rule['id']}", headers=tenant.auth, json=body)
    assert r.status_code == 200, r.text
    r = await client.delete(f"{TEMPLATES}/{template_id}", headers=tenant.auth)
    assert r.status_code == 204
    await fire(hub, tenant, stock_low(on_hand=0, summary="plain summary"))
    await settle(hub)
    assert [s.text for s in provider.submitted] == ["v1 3", "v2 1", "plain summary"]
