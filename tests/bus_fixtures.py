"""A test-only module: one topic and subscribers whose effects the tests can count.

Importable by subprocesses (PYTHONPATH=tests, HUITONG_EXTRA_MODULES=bus_fixtures:module), so
a worker or a killed publisher process sees the same topic and handlers as the test.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from comms.audit import service as audit
from comms.auth.principal import Principal
from comms.bus import Event, EventPayload, HandlerContext, SubscriberSet
from comms.modules import Module

EFFECT = "test.effect"


class ThingHappened(EventPayload):
    topic: ClassVar[str] = "test.thing.happened"
    version: ClassVar[int] = 1

    n: int
    note: str = ""


class FlakyHappened(EventPayload):
    topic: ClassVar[str] = "test.flaky.happened"
    version: ClassVar[int] = 1

    n: int
    failures: int  # how many attempts fail before one succeeds


subs = SubscriberSet("test")


def record_effect(ctx: HandlerContext, tenant_id: uuid.UUID, n: int, who: str) -> None:
    audit.record(ctx.session, Principal.system(tenant_id), EFFECT, who, n)


@subs.on(ThingHappened, name="recorder")
async def recorder(ctx: HandlerContext, event: Event[ThingHappened]) -> None:
    record_effect(ctx, event.tenant_id, event.payload.n, "recorder")


@subs.on(ThingHappened, name="second")
async def second(ctx: HandlerContext, event: Event[ThingHappened]) -> None:
    record_effect(ctx, event.tenant_id, event.payload.n, "second")


@subs.on(FlakyHappened, name="flaky")
async def flaky(ctx: HandlerContext, event: Event[FlakyHappened]) -> None:
    # The effect is written first, so a failure after it proves the rollback of partial work.
    record_effect(ctx, event.tenant_id, event.payload.n, "flaky")
    if ctx.attempt <= event.payload.failures:
        raise RuntimeError(f"induced failure on attempt {ctx.attempt}")


module = Module(name="test_bus", topics=(ThingHappened, FlakyHappened), subscribers=tuple(subs))
