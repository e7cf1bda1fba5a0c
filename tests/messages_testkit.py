"""Helpers for messaging tests: run the bus and the sender to rest, read published events,
and SMS providers that fail or count on purpose (honest to the SmsProvider Protocol)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from comms.bus.models import OutboxEvent
from comms.channels.sms.log import LogSmsProvider
from comms.channels.sms.provider import OutboundSms, SmsProvider, SmsSink, SubmitError, SubmitResult
from comms.db.tenancy import unscoped
from comms.hub import Hub
from comms.messages.sender import Sender
from hubtest import TenantCtx, drain


def sender_of(hub: Hub) -> Sender:
    sender: Sender = hub.services["messaging.sender"]
    return sender


async def settle(hub: Hub, rounds: int = 20) -> None:
    """Relay, run deliveries and wait for submissions until nothing moves."""
    sender = sender_of(hub)
    for _ in range(rounds):
        runs = await drain(hub)
        busy = bool(sender._tasks)
        await sender.wait_idle()
        if not runs and not busy:
            return
    raise AssertionError("messaging did not settle")


async def events(hub: Hub, topic: str, message_id: str | None = None) -> list[dict[str, Any]]:
    """Payloads published on `topic` (optionally for one message), oldest first; a status
    event's changes are listed one by one."""
    async with hub.db.session() as s:
        unscoped(s)
        rows = await s.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == topic).order_by(OutboxEvent.id)
        )
        payloads: list[dict[str, Any]] = []
        for r in rows:
            # comms.message.status carries a batch of changes: one payload per change here.
            payloads += r.payload["changes"] if "changes" in r.payload else [r.payload]
    return [p for p in payloads if message_id is None or p["message_id"] == message_id]


async def statuses(hub: Hub, message_id: str) -> list[str]:
    return [p["status"] for p in await events(hub, "comms.message.status", message_id)]


async def post_sms(
    client: httpx.AsyncClient, t: TenantCtx, to: str = "+8613800138000", body: str = "hello"
) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/messages", headers=t.auth, json={"channel": "sms", "to": to, "body": body}
    )
    assert r.status_code == 202, r.text
    data: dict[str, Any] = r.json()
    return data


class CountingProvider(LogSmsProvider):
    """The log provider, remembering each submission (to prove there are no duplicates)."""

    name = "counting"

    def __init__(self) -> None:
        self.submitted: list[OutboundSms] = []

    async def submit(self, sms: OutboundSms) -> SubmitResult:
        self.submitted.append(sms)
        return await super().submit(sms)


class DownProvider(CountingProvider):
    """Unreachable for the first `failures` submissions, then fine."""

    name = "flaky"

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.calls = 0

    async def submit(self, sms: OutboundSms) -> SubmitResult:
        self.calls += 1
        if self.calls <= self.failures:
            raise SubmitError("unavailable", "connection refused", permanent=False)
        return await super().submit(sms)


class RacingProvider(CountingProvider):
    """Reports a delivery receipt before submit returns, as a fast SMSC can."""

    name = "racing"

    def __init__(self) -> None:
        super().__init__()
        self.sink: SmsSink | None = None

    async def start(self, sink: SmsSink) -> None:
        self.sink = sink

    async def submit(self, sms: OutboundSms) -> SubmitResult:
        from comms.channels.sms.provider import DeliveryReceipt, ReceiptState

        result = await super().submit(sms)
        assert self.sink is not None
        for pid in result.provider_message_ids:
            await self.sink.on_receipt(DeliveryReceipt(self.name, pid, ReceiptState.DELIVERED))
        return result


def use_provider(hub: Hub, provider: SmsProvider) -> None:
    hub.services["sms.provider"] = provider
