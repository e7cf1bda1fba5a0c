"""IVR lookups and segment conditions ask the hub's named queries; failures take the safe path."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from ivr_query_fakes import FLOW, VIP, Asked, fake_queries

from comms.db.tenancy import scoped_to
from comms.hub import Hub
from comms.queries import Queries
from crm_testkit import make_contact
from hubtest import TenantCtx
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
    assert asked.log[-1][2] == {"number": "1234", "caller": VIP, "phone": VIP}
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


def say_flow(media: str, **lookup: Any) -> FlowDocument:
    """gather -> lookup -> a play node saying `media`."""
    return FlowDocument.model_validate(
        {
            "start": "ask",
            "nodes": {
                "ask": {
                    "type": "gather",
                    "prompt": "sound:enter-order",
                    "digits": 6,
                    "variable": "number",
                    "next": "look",
                },
                "look": {
                    "type": "lookup",
                    "source": "internal",
                    "query": "erp.order_status",
                    "variable": "status",
                    "next": "say",
                    "on_error": "bye",
                    **lookup,
                },
                "say": {"type": "play", "media": media, "next": "bye"},
                "bye": {"type": "hangup"},
            },
        }
    )


async def test_play_media_says_the_looked_up_and_the_gathered_variables() -> None:
    runner = Runner(
        say_flow("sound:order-status-{status},digits:{number}"), ask=asker(fake_queries(Asked()))
    )
    step = await runner.enter("look", ctx(VIP, number="1234"))
    assert (step.node, step.media) == ("say", ("sound:order-status-shipped,digits:1234",))


@pytest.mark.parametrize(
    "typed", ["1,recording:ceo-voicemail", "../../secret", "1 2", "x\n", "sound:x", ""]
)
async def test_a_value_that_is_not_a_plain_token_is_never_put_in_a_media_uri(typed: str) -> None:
    async def answers(name: str, args: Mapping[str, str]) -> Any:
        return "shipped"

    runner = Runner(say_flow("digits:{number}"), ask=answers)
    step = await runner.enter("look", ctx(VIP, number=typed))
    assert (step.node, step.media, step.next) == ("say", (), "bye")  # nothing played, flow goes on


async def test_a_mapping_answer_keeps_the_named_field_and_without_one_takes_on_error() -> None:
    async def pop(name: str, args: Mapping[str, str]) -> Any:
        return {"name": "Li Lei", "tickets": [1, 2]}

    c = ctx(VIP, number="1")
    assert (await Runner(say_flow("sound:x", field="name"), ask=pop).enter("look", c)).node == "say"
    assert c.variables["status"] == "Li Lei"
    for flow in (say_flow("sound:x"), say_flow("sound:x", field="tickets")):
        c = ctx(VIP, number="1")
        assert (await Runner(flow, ask=pop).enter("look", c)).node == "bye"
        assert "status" not in c.variables


async def test_contact_lookup_asks_crm_with_the_caller_and_keeps_the_contacts_name(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await make_contact(client, tenant, phones=["13800138000"])

    async def ask(name: str, args: Mapping[str, str]) -> Any:
        async with hub.db.session() as s:
            scoped_to(s, tenant.id)
            return await hub.queries.ask(s, name, args)

    flow = say_flow("sound:hello", query="crm.contact_by_phone", variable="who", field="name")
    c = ctx("13800138000")  # no variable holds the caller: the engine passes it
    assert (await Runner(flow, ask=ask).enter("look", c)).node == "say"
    assert c.variables["who"] == "Li Lei"
    stranger = ctx("+8613900000000")
    assert (await Runner(flow, ask=ask).enter("look", stranger)).node == "bye"
