"""Rules and templates are checked at save time (422 naming the field or the variable);
templates render the notice; the notices API lists, filters and pages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select

from comms.bus.models import OutboxEvent
from comms.db.tenancy import unscoped
from comms.hub import Hub
from comms.messages.models import Message
from hubtest import TenantCtx
from messages_testkit import CountingProvider, events, settle, use_provider
from notif_testkit import TOPIC, add_rule, fire, make_user, notices, stock_low

RULES = "/api/v1/notifications/rules"
TEMPLATES = "/api/v1/notifications/templates"


def rule(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "r",
        "topic": TOPIC,
        "recipients": [{"kind": "role", "value": "agent"}],
        "channels": ["console"],
    }
    body.update(fields)
    return body


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"topic": "telephony.call.ringing"}, "topic"),
        ({"topic": "*"}, "topic"),
        ({"topic": "erp.*.low"}, "topic"),
        ({"conditions": [{"field": "colour", "op": "eq", "value": "red"}]}, "conditions[0].field"),
        ({"conditions": [{"field": "sku", "op": "in", "value": "A"}]}, "conditions[0].value"),
        ({"conditions": [{"field": "on_hand", "op": "gt", "value": [1]}]}, "conditions[0].value"),
        ({"recipients": [{"kind": "role", "value": "boss"}]}, "recipients[0].value"),
        ({"recipients": [{"kind": "user", "value": "nobody"}]}, "recipients[0].value"),
        ({"recipients": [{"kind": "payload_user", "value": "boss_id"}]}, "recipients[0].value"),
        ({"recipients": [{"kind": "address", "value": "12"}]}, "recipients[0].value"),
        ({"channels": ["sms", "sms"]}, "channels"),
        ({"dedupe_field": "sku", "dedupe_minutes": 0}, "dedupe_minutes"),
        ({"dedupe_field": "nope", "dedupe_minutes": 5}, "dedupe_field"),
    ],
)
async def test_a_rule_that_cannot_work_is_refused_naming_the_field(
    client: httpx.AsyncClient, tenant: TenantCtx, fields: dict[str, Any], field: str
) -> None:
    r = await client.post(RULES, headers=tenant.auth, json=rule(**fields))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field


async def test_prefix_rule_on_a_covered_namespace_is_accepted_and_matches(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    user = await make_user(client, tenant)
    # Fields of a pattern rule cannot be checked against one schema; they are taken on trust.
    await add_rule(
        client,
        tenant,
        topic="erp.*",
        recipients=[{"kind": "user", "value": user["id"]}],
        conditions=[{"field": "name", "op": "contains", "value": "M3"}],
        channels=["console"],
    )
    await fire(hub, tenant, stock_low())
    await settle(hub)
    assert len(await notices(hub)) == 1


async def test_rule_update_and_delete_are_admin_only(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    made = await add_rule(client, tenant)
    agent = await make_user(client, tenant)
    r = await client.put(f"{RULES}/{made['id']}", headers=agent["auth"], json=rule(name="x"))
    assert r.status_code == 403
    r = await client.put(f"{RULES}/{made['id']}", headers=tenant.auth, json=rule(name="renamed"))
    assert r.status_code == 200 and r.json()["name"] == "renamed"
    assert (await client.delete(f"{RULES}/{made['id']}", headers=tenant.auth)).status_code == 204
    assert (await client.get(f"{RULES}/{made['id']}", headers=tenant.auth)).status_code == 404


async def test_template_with_a_variable_the_payload_lacks_is_refused_naming_it(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    r = await client.post(
        TEMPLATES,
        headers=tenant.auth,
        json={
            "topic": TOPIC,
            "channel": "sms",
            "locale": "zh-CN",
            "body": "{{ name }} 剩 {{ quantity }}",
        },
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "body" and "'quantity'" in r.json()["detail"]
    # An attribute of a known field is checked too, at save rather than at send.
    for field, variable in (("subject", "name.nope"), ("body", "sku.x")):
        r = await client.post(
            TEMPLATES,
            headers=tenant.auth,
            json={
                "topic": TOPIC,
                "channel": "email",
                "locale": "en",
                "subject": "{{ name.nope }}" if field == "subject" else "",
                "body": "{{ sku.x.y }}" if field == "body" else "{{ name }}",
            },
        )
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field and f"'{variable}'" in r.json()["detail"]
    r = await client.post(
        TEMPLATES,
        headers=tenant.auth,
        json={"topic": TOPIC, "channel": "sms", "locale": "zh-CN", "body": "{{ name "},
    )
    assert r.status_code == 422 and r.json()["field"] == "body"


async def test_template_for_an_unregistered_topic_is_accepted_with_a_warning(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    r = await client.post(
        TEMPLATES,
        headers=tenant.auth,
        json={
            "topic": "erp.invoice.overdue",
            "channel": "sms",
            "locale": "en",
            "body": "{{ x }}",
        },
    )
    assert r.status_code == 201, r.text
    assert "not checked" in r.json()["warnings"][0]


async def test_templates_render_per_locale_sandboxed_and_escape_email_html(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider = CountingProvider()
    use_provider(hub, provider)
    en_user = await make_user(client, tenant, mobile="+8613800138007")
    r = await client.put(
        "/api/v1/notifications/preferences", headers=en_user["auth"], json={"locale": "en"}
    )
    assert r.status_code == 200
    for locale, body in (("en", "Low: {{ name }} ({{ on_hand }} left)"), ("zh-CN", "库存低")):
        r = await client.post(
            TEMPLATES,
            headers=tenant.auth,
            json={"topic": TOPIC, "channel": "sms", "locale": locale, "body": body},
        )
        assert r.status_code == 201, r.text
    r = await client.post(
        TEMPLATES,
        headers=tenant.auth,
        json={"topic": TOPIC, "channel": "sms", "locale": "en", "body": "again"},
    )
    assert r.status_code == 409
    # The sandbox refuses attribute tricks at render time; the notice falls back to summary.
    r = await client.post(
        TEMPLATES,
        headers=tenant.auth,
        json={
            "topic": TOPIC,
            "channel": "console",
            "locale": "zh-CN",
            "body": "{{ name.__class__.__mro__ }}",
        },
    )
    assert r.status_code == 201
    r = await client.post(
        TEMPLATES,
        headers=tenant.auth,
        json={
            "topic": TOPIC,
            "channel": "email",
            "locale": "en",
            "subject": "Low stock: {{ sku }}",
            "body": "Item {{ name }}",
        },
    )
    assert r.status_code == 201
    zh_user = await make_user(client, tenant)
    await add_rule(
        client, tenant, recipients=[{"kind": "user", "value": en_user["id"]}], channels=["sms"]
    )
    await add_rule(
        client, tenant, recipients=[{"kind": "user", "value": zh_user["id"]}], channels=["console"]
    )
    await add_rule(
        client,
        tenant,
        recipients=[{"kind": "address", "value": "buyer@example.com"}],
        channels=["email"],
    )
    await fire(hub, tenant, stock_low(name="<b>M3</b>", on_hand=2, summary="fallback line"))
    await settle(hub)
    assert [s.text for s in provider.submitted] == ["Low: <b>M3</b> (2 left)"]
    [posted] = await events(hub, "notifications.console.posted")
    assert posted["body"] == "fallback line"  # the sandbox refused __class__; summary used
    [mail] = await hub_messages(hub, "email")
    assert mail.subject == "Low stock: SKU-1"  # no zh-CN email template: the en one serves
    assert mail.body == "Item <b>M3</b>" and mail.html == "Item &lt;b&gt;M3&lt;/b&gt;"


@pytest.mark.parametrize("first", ["en", "zh-CN"])
async def test_each_user_gets_the_template_of_their_locale_whichever_was_saved_first(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, first: str
) -> None:
    # The template saved first is the fallback for a locale without one: saving each locale
    # first in turn proves the match, not the fallback, picks the text.
    provider = CountingProvider()
    use_provider(hub, provider)
    en_user = await make_user(client, tenant, mobile="+8613800138021")
    zh_user = await make_user(client, tenant, mobile="+8613800138022")
    r = await client.put(
        "/api/v1/notifications/preferences", headers=en_user["auth"], json={"locale": "en"}
    )
    assert r.status_code == 200, r.text
    bodies = {"en": "Low: {{ name }}", "zh-CN": "库存低: {{ name }}"}
    for locale in sorted(bodies, key=lambda loc: loc != first):
        r = await client.post(
            TEMPLATES,
            headers=tenant.auth,
            json={"topic": TOPIC, "channel": "sms", "locale": locale, "body": bodies[locale]},
        )
        assert r.status_code == 201, r.text
    users = [{"kind": "user", "value": u["id"]} for u in (en_user, zh_user)]
    await add_rule(client, tenant, recipients=users, channels=["sms"])
    await fire(hub, tenant, stock_low(name="M3"))
    await settle(hub)
    assert sorted((s.to, s.text) for s in provider.submitted) == [
        ("+8613800138021", "Low: M3"),
        ("+8613800138022", "库存低: M3"),
    ]


async def test_a_pattern_template_serves_its_topics_until_a_more_specific_one_exists(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider = CountingProvider()
    use_provider(hub, provider)
    user = await make_user(client, tenant, mobile="+8613800138023")
    await add_rule(
        client, tenant, recipients=[{"kind": "user", "value": user["id"]}], channels=["sms"]
    )

    async def save(topic: str, body: str) -> None:
        r = await client.post(
            TEMPLATES,
            headers=tenant.auth,
            json={"topic": topic, "channel": "sms", "locale": "en", "body": body},
        )
        assert r.status_code == 201, r.text

    async def texted() -> str:
        provider.submitted.clear()
        await fire(hub, tenant, stock_low(sku="SKU-9"))
        await settle(hub)
        assert len(provider.submitted) == 1
        return provider.submitted[0].text

    await save("*", "Any event: {{ topic }}")
    assert await texted() == f"Any event: {TOPIC}"
    await save("erp.teststock.*", "Stock {{ sku }}")
    assert await texted() == "Stock SKU-9"  # the longer pattern wins over `*`
    await save(TOPIC, "Exact {{ sku }}")
    assert await texted() == "Exact SKU-9"  # the topic's own template wins over any pattern


async def hub_messages(hub: Hub, channel: str) -> list[Message]:
    async with hub.db.session() as s:
        unscoped(s)
        return list(await s.scalars(select(Message).where(Message.channel == channel)))


async def test_agents_list_their_own_notices_and_admins_filter_and_page(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    a, b = await make_user(client, tenant), await make_user(client, tenant)
    await add_rule(client, tenant, channels=["console"])
    for sku in ("1", "2", "3"):
        await fire(hub, tenant, stock_low(sku=sku))
    await settle(hub)
    assert len(await events(hub, "notifications.console.posted")) == 6

    mine = (await client.get("/api/v1/notifications", headers=a["auth"])).json()["items"]
    assert len(mine) == 3 and {n["user_id"] for n in mine} == {a["id"]}
    # Each item names the event it came from and carries its delivery attempts.
    assert sorted(n["event_id"] for n in mine) == await event_ids(hub, TOPIC)
    assert {n["topic"] for n in mine} == {TOPIC}
    assert [[(x["channel"], x["status"], x["address"]) for x in n["attempts"]] for n in mine] == [
        [("console", "posted", f"user:{a['id']}")]
    ] * 3
    other = mine[0]["id"]
    assert (
        await client.get(f"/api/v1/notifications/{other}", headers=b["auth"])
    ).status_code == 404
    detail = (await client.get(f"/api/v1/notifications/{other}", headers=a["auth"])).json()
    assert [x["channel"] for x in detail["attempts"]] == ["console"]

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 4, "topic": TOPIC}
        if cursor:
            params["cursor"] = cursor
        page = (
            await client.get("/api/v1/notifications", headers=tenant.auth, params=params)
        ).json()
        seen += [n["id"] for n in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 6
    r = await client.get(
        "/api/v1/notifications", headers=tenant.auth, params={"user_id": b["id"], "status": "read"}
    )
    assert r.json()["items"] == []
    await client.post(f"/api/v1/notifications/{other}/read", headers=a["auth"])
    r = await client.get("/api/v1/notifications", headers=a["auth"], params={"status": "read"})
    assert [n["id"] for n in r.json()["items"]] == [other]


async def event_ids(hub: Hub, topic: str) -> list[int]:
    async with hub.db.session() as s:
        unscoped(s)
        return list(
            await s.scalars(
                select(OutboxEvent.id).where(OutboxEvent.topic == topic).order_by(OutboxEvent.id)
            )
        )


@contextmanager
def statements(hub: Hub) -> Iterator[list[str]]:
    """The SQL statements the hub's engine runs inside the block."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    engine = hub.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_the_list_reads_a_page_s_attempts_in_one_query(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await make_user(client, tenant)
    await add_rule(client, tenant, channels=["console"])
    counts = []
    for sku in ("1", "2", "3"):
        await fire(hub, tenant, stock_low(sku=sku))
        await settle(hub)
        with statements(hub) as seen:
            r = await client.get("/api/v1/notifications", headers=tenant.auth)
        assert r.status_code == 200 and len(r.json()["items"]) == int(sku)
        assert all(len(n["attempts"]) == 1 for n in r.json()["items"])
        counts.append(len(seen))
        attempts_read = [q for q in seen if "FROM notification_attempts" in q]
        assert len(attempts_read) == 1
    assert counts[0] == counts[1] == counts[2]  # as many statements for three notices as one


async def test_preferences_refuse_half_quiet_hours_naming_the_field(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    user = await make_user(client, tenant)
    url = "/api/v1/notifications/preferences"
    r = await client.put(url, headers=user["auth"], json={"quiet_start": "22:00"})
    assert r.status_code == 422 and r.json()["field"] == "quiet_end"
    r = await client.put(url, headers=user["auth"], json={"quiet_start": "25:00", "quiet_end": "1"})
    assert r.status_code == 422
    body = {
        "quiet_start": "22:00",
        "quiet_end": "07:30",
        "locale": "en",
        "digest_minutes": 15,
        "topics": [{"topic": "erp.*", "channels": ["sms", "email"], "unsubscribed": False}],
    }
    r = await client.put(url, headers=user["auth"], json=body)
    assert r.status_code == 200, r.text
    assert (await client.get(url, headers=user["auth"])).json() == body


@pytest.mark.parametrize(
    ("topics", "field"),
    [
        ([{"topic": "erp.*"}, {"topic": "erp.*", "unsubscribed": True}], "topics[1].topic"),
        ([{"topic": "erp.stock.low", "channels": []}], "topics[0].channels"),
        (
            [{"topic": "crm.*"}, {"topic": "erp.*", "channels": ["sms", "sms"]}],
            "topics[1].channels",
        ),
        ([{"topic": "erp*"}], "topics[0].topic"),
    ],
)
async def test_preferences_refuse_a_bad_topic_entry_naming_it(
    client: httpx.AsyncClient, tenant: TenantCtx, topics: list[dict[str, Any]], field: str
) -> None:
    user = await make_user(client, tenant)
    url = "/api/v1/notifications/preferences"
    r = await client.put(url, headers=user["auth"], json={"topics": topics})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field


async def test_an_api_key_reads_default_preferences_and_cannot_set_any(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    url = "/api/v1/notifications/preferences"
    r = await client.get(url, headers=tenant.auth)
    assert r.status_code == 200 and r.json()["locale"] == "zh-CN"
    r = await client.put(url, headers=tenant.auth, json={"locale": "en"})
    assert r.status_code == 422 and r.json()["field"] == "Authorization"
