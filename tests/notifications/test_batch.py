"""A broker message of many events makes exactly the notices, attempts and SMS that the same
events make delivered one by one: several tenants, a replayed event, a deduped one, a number
refused by the carrier rules (and its email fallback), console-first, a digest item."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select, update

from comms.bus.models import Delivery, DeliveryStatus, OutboxEvent
from comms.db.tenancy import unscoped
from comms.hub import Hub
from comms.messages.models import Message
from hubtest import TenantCtx, make_tenant
from messages_testkit import settle
from notif_testkit import add_rule, fire, make_user, stock_low
from notifications.models import DeliveryAttempt, Notification, NotificationRule

HANDLER = "notifications.event:erp.*"


async def _tenant(hub: Hub, client: httpx.AsyncClient) -> tuple[TenantCtx, dict[str, str]]:
    """A tenant with two agents, three rules and a cap of one SMS per number per day."""
    t = await make_tenant(hub)
    cap = await client.put(
        "/api/v1/messaging/settings", headers=t.auth, json={"sms_recipient_daily_cap": 1}
    )
    assert cap.status_code == 200, cap.text
    u1 = await make_user(client, t, mobile="+8613800138001")
    u2 = await make_user(client, t, mobile=None)
    await add_rule(
        client,
        t,
        name="urgent",
        recipients=[
            {"kind": "user", "value": u1["id"]},
            {"kind": "address", "value": "+8613900139000"},
            {"kind": "contact"},
        ],
        channels=["sms", "email"],
        urgency="urgent",
        dedupe_field="sku",
        dedupe_minutes=30,
    )
    await add_rule(client, t, name="console", channels=["console", "sms"])
    await add_rule(
        client,
        t,
        name="digest",
        recipients=[{"kind": "user", "value": u1["id"]}],
        channels=["email"],
        urgency="low",
    )
    names = {f"user:{u1['id']}": "user:u1", f"user:{u2['id']}": "user:u2"}
    return t, {**names, u1["email"]: "u1-email", u2["email"]: "u2-email"}


async def _scenario(hub: Hub, client: httpx.AsyncClient, one_by_one: bool) -> list[Any]:
    """Two tenants; the first's first event is delivered, then handed over again with the
    others (a replay); every delivery then runs in one call or one each."""
    (a, names_a), (b, names_b) = await _tenant(hub, client), await _tenant(hub, client)
    await fire(hub, a, stock_low(sku="A", contact_phone="+8613700137000", summary="A low"))
    await settle(hub)
    async with hub.db.session() as s:
        unscoped(s)
        await s.execute(
            update(Delivery)
            .where(Delivery.subscriber == HANDLER, Delivery.tenant_id == a.id)
            .values(status=DeliveryStatus.QUEUED)
        )
        replayed = list(
            await s.scalars(
                select(Delivery.id).where(
                    Delivery.subscriber == HANDLER, Delivery.tenant_id == a.id
                )
            )
        )
        await s.commit()
    await fire(hub, a, stock_low(sku="B", summary="B low"))  # the address again: capped
    await fire(hub, b, stock_low(sku="A", contact_phone="+8613700137000", summary="A low"))
    await fire(hub, a, stock_low(sku="A", summary="A low again"))  # deduped by sku
    await fire(hub, b, stock_low(sku="A", summary="A low again"))
    await hub.relay.run_once()
    ids = replayed + hub.dispatcher.take()  # type: ignore[attr-defined]
    if one_by_one:
        for i in ids:
            await hub.run_deliveries([i])
    else:
        await hub.run_deliveries(ids)
    await settle(hub)
    return [await _outcome(hub, t, names) for t, names in ((a, names_a), (b, names_b))]


async def _outcome(hub: Hub, t: TenantCtx, names: dict[str, str]) -> dict[str, Any]:
    """What a tenant ended with, in terms that do not depend on ids."""

    def named(text: str | None) -> str | None:
        for raw, name in names.items():
            text = text.replace(raw, name) if text else text
        return text

    async with hub.db.session() as s:
        unscoped(s)
        order = {
            e: i
            for i, e in enumerate(
                await s.scalars(
                    select(OutboxEvent.id)
                    .where(OutboxEvent.tenant_id == t.id, OutboxEvent.topic == "erp.teststock.low")
                    .order_by(OutboxEvent.id)
                )
            )
        }
        rules = {
            rid: name
            for rid, name in await s.execute(select(NotificationRule.id, NotificationRule.name))
        }
        notices = {}
        for n in await s.scalars(select(Notification).where(Notification.tenant_id == t.id)):
            tried = await s.scalars(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.notification_id == n.id)
                .order_by(DeliveryAttempt.id)
            )
            who = names.get(n.recipient_key, n.recipient_key)
            key = (order.get(n.event_id or 0), rules.get(n.rule_id), who)
            notices[key] = (
                n.status.value,
                n.channels,
                n.channel_index,
                n.title,
                n.due_at is not None,
                [(x.channel.value, named(x.address), x.status, (x.error or "")[:9]) for x in tried],
            )
        sms = sorted(
            (named(m.recipient), m.body, m.status.value)
            for m in await s.scalars(select(Message).where(Message.tenant_id == t.id))
        )
    return {"notices": notices, "messages": sms}


async def test_a_batch_makes_what_the_events_make_one_by_one(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    alone = await _scenario(hub, client, one_by_one=True)
    together = await _scenario(hub, client, one_by_one=False)
    assert together == alone
    first, second = together
    # The scenario covers what it claims: a replay made nothing twice, the second event's
    # SMS to the capped number failed and fell back, the dedupe suppressed, the digest waits.
    statuses = sorted(v[0] for v in first["notices"].values())
    assert "suppressed" in statuses and "digest" in statuses
    capped = first["notices"][(1, "urgent", "addr:+8613900139000")]
    assert [(c, st) for c, _, st, _ in capped[5]][:1] == [("sms", "failed")]
    assert len([k for k in first["notices"] if k[0] == 0]) == len(
        [k for k in second["notices"] if k[0] == 0]
    )
