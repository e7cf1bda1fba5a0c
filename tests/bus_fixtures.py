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


class BatchHappened(EventPayload):
    topic: ClassVar[str] = "test.batch.happened"
    version: ClassVar[int] = 1

    n: int
    poison: bool = False  # the batch handler raises whenever this event is in its list


subs = SubscriberSet("test")


def record_effect(
    ctx: HandlerContext, tenant_id: uuid.UUID, n: int, who: str, **detail: object
) -> None:
    audit.record(ctx.session, Principal.system(tenant_id), EFFECT, who, n, detail or None)


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


@subs.on_batch(BatchHappened, name="batcher")
async def batcher(ctx: HandlerContext, events: list[Event[BatchHappened]]) -> None:
    # Effects first, so a poisoned list proves the rollback of the whole group's work.
    for e in events:
        record_effect(ctx, e.tenant_id, e.payload.n, "batcher", group=len(events))
    if any(e.payload.poison for e in events):
        raise RuntimeError("poisoned event in the batch")


module = Module(
    name="test_bus",
    topics=(ThingHappened, FlakyHappened, BatchHappened),
    subscribers=tuple(subs),
)
