"""IVR lookups and segment conditions ask the hub's named queries; failures take the safe path."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ivr_query_fakes import FLOW, VIP, Asked, fake_queries

from comms.queries import Queries
from telephony.ivr.engine import CallContext, Runner
from telephony.ivr.flow import FlowDocument

DOC = FlowDocument.model_validate(FLOW)


def asker(queries: Queries) -> Any:
    async def ask(name: str, args: Mapping[str, str]) -> Any:
        return await queries.ask(None, name, args)  # type: ignore[arg-type]

    return ask


def ctx(caller: str, **variables: str) -> CallContext:
    return CallContext(caller=caller, local_now=datetime.now(UTC), variables=dict(variables))


async def test_segment_condition_asks_crm_with_the_callers_e164_number() -> None:
    asked = Asked()
    runner = Runner(DOC, ask=asker(fake_queries(asked)))
    step = await runner.enter("seg", ctx("13700000000"))  # national form
    assert step.node == "vip"
    assert asked.log[0][0] == "crm.in_segment"
    assert asked.log[0][2] == {"segment": "vip", "phone": VIP}
    other = await runner.enter("seg", ctx("+8613900000000"))
    assert other.node == "order"


async def test_lookup_stores_the_answer_and_a_missing_one_takes_on_error() -> None:
    asked = Asked()
    runner = Runner(DOC, ask=asker(fake_queries(asked)))
    c = ctx(VIP, number="1234")
    assert (await runner.enter("look", c)).node == "found"
    assert c.variables["status"] == "shipped"
    assert asked.log[-1][2] == {"number": "1234"}
    c = ctx(VIP, number="9999")
    assert (await runner.enter("look", c)).node == "sorry"
    assert "status" not in c.variables


async def test_unknown_queries_go_to_on_error_and_else_without_raising() -> None:
    runner = Runner(DOC, ask=asker(Queries()))  # neither erp nor crm installed
    assert (await runner.enter("seg", ctx(VIP))).node == "order"
    assert (await runner.enter("look", ctx(VIP, number="1234"))).node == "sorry"


async def test_a_failing_or_slow_query_takes_the_error_path() -> None:
    async def broken(name: str, args: Mapping[str, str]) -> Any:
        raise RuntimeError("erp is down")

    runner = Runner(DOC, ask=broken)
    assert (await runner.enter("seg", ctx(VIP))).node == "order"
    assert (await runner.enter("look", ctx(VIP, number="1234"))).node == "sorry"
