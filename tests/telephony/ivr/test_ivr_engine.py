"""Walk the sample flow through every branch with the interpreter, and render it as TwiML."""

from __future__ import annotations

from datetime import datetime
from xml.etree import ElementTree

import pytest
from ivr_samples import GOOD

from telephony.ivr.engine import CallContext, FlowError, Runner, Step
from telephony.ivr.flow import FlowDocument
from telephony.ivr.twiml import render

FLOW = FlowDocument.model_validate(GOOD)
WEDNESDAY_10 = datetime(2026, 3, 11, 10, 0)
SATURDAY_10 = datetime(2026, 3, 14, 10, 0)
NATIONAL_DAY = datetime(2026, 10, 1, 10, 0)  # a Thursday, but a holiday


async def found(query: str, variables: dict[str, str], timeout: float) -> str:
    assert variables["order_no"] == "12345678" and timeout == 2
    return "shipped"


async def broken(query: str, variables: dict[str, str], timeout: float) -> str:
    raise TimeoutError


def ctx(at: datetime = WEDNESDAY_10) -> CallContext:
    return CallContext(caller="+8613800001111", local_now=at)


@pytest.mark.parametrize(
    ("at", "node"), [(WEDNESDAY_10, "welcome"), (SATURDAY_10, "closed"), (NATIONAL_DAY, "closed")]
)
async def test_business_hours_with_holidays_pick_the_opening(at: datetime, node: str) -> None:
    step = await Runner(FLOW).enter("hours", ctx(at))
    assert (step.kind, step.node) == ("play", node)


async def test_option_one_routes_to_the_sales_queue() -> None:
    runner, c = Runner(FLOW), ctx()
    step = await runner.enter("menu", c)
    assert (step.kind, step.media, step.timeout) == ("collect", ("sound:press-1-or-2",), 5)
    nxt, retry = runner.after_input("menu", "1", 1, c)
    step = await runner.enter(nxt, c, retry=retry)
    assert step.kind == "route" and step.target is not None and step.target.value == "sales"


async def test_order_number_is_gathered_and_looked_up() -> None:
    runner, c = Runner(FLOW, lookup=found), ctx()
    nxt, _ = runner.after_input("menu", "2", 1, c)
    step = await runner.enter(nxt, c)
    assert (step.node, step.max_digits, step.terminator) == ("order", 8, "#")
    nxt, _ = runner.after_input("order", "12345678#", 1, c)
    step = await runner.enter(nxt, c)
    assert step.node == "sales" and c.variables == {"order_no": "12345678", "order": "shipped"}


async def test_failed_lookup_takes_the_error_path() -> None:
    runner, c = Runner(FLOW, lookup=broken), ctx()
    c.variables["order_no"] = "12345678"
    step = await runner.enter("find", c)
    assert step.node == "operator"


async def test_gather_timeout_goes_back_to_the_menu() -> None:
    runner, c = Runner(FLOW), ctx()
    assert runner.after_input("order", None, 1, c) == ("menu", False)


async def test_menu_silence_retries_then_takes_the_timeout_path() -> None:
    runner, c = Runner(FLOW), ctx()
    assert runner.after_input("menu", None, 1, c) == ("menu", False)
    assert runner.after_input("menu", None, 2, c) == ("menu", False)
    assert runner.after_input("menu", None, 3, c) == ("operator", False)


async def test_wrong_key_hears_the_invalid_prompt_before_the_menu_again() -> None:
    runner, c = Runner(FLOW), ctx()
    nxt, retry = runner.after_input("menu", "9", 1, c)
    step = await runner.enter(nxt, c, retry=retry)
    assert step.media == ("sound:invalid", "sound:press-1-or-2")
    assert runner.after_input("menu", "9", 3, c) == ("operator", False)


async def test_operator_route_then_voicemail_then_closed_hangup() -> None:
    runner, c = Runner(FLOW), ctx()
    step = await runner.enter("operator", c)
    assert step.target is not None and step.target.kind == "short_number"
    assert (await runner.enter("vm", c)).mailbox == "6001"
    closed = await runner.enter("closed", c)
    assert (await runner.enter(closed.next or "", c)).kind == "hangup"


async def test_caller_segment_condition_asks_the_segment_check() -> None:
    doc = {
        "start": "vip",
        "nodes": {
            "vip": {
                "type": "condition",
                "check": "caller_in_segment",
                "segment": "vip",
                "then": "fast",
                "else": "bye",
            },
            "fast": {"type": "route", "target": {"kind": "queue", "value": "vip"}},
            "bye": {"type": "hangup"},
        },
    }

    async def vip(segment: str, caller: str) -> bool:
        return segment == "vip" and caller.endswith("1111")

    runner = Runner(FlowDocument.model_validate(doc), in_segment=vip)
    assert (await runner.enter("vip", ctx())).node == "fast"
    assert (await runner.enter("vip", CallContext("+8613000000000", WEDNESDAY_10))).node == "bye"


async def test_unvalidated_silent_loop_is_cut_off() -> None:
    doc = {
        "start": "a",
        "nodes": {
            "a": {"type": "condition", "check": "caller_in_segment", "then": "a", "else": "a"}
        },
    }
    with pytest.raises(FlowError):
        await Runner(FlowDocument.model_validate(doc)).enter("a", ctx())


def twiml(step: Step, **kw: object) -> ElementTree.Element:
    xml = render(step, action="https://hub/webhooks/twilio/voice/x", media_base="https://m", **kw)  # type: ignore[arg-type]
    return ElementTree.fromstring(xml)


async def test_twiml_menu_gathers_one_digit_and_redirects_on_silence() -> None:
    root = twiml(await Runner(FLOW).enter("menu", ctx()), attempt=2)
    gather = root.find("Gather")
    assert gather is not None
    assert (gather.get("numDigits"), gather.get("timeout")) == ("1", "5")
    assert "node=menu" in (gather.get("action") or "") and "attempt=2" in (
        gather.get("action") or ""
    )
    assert [p.text for p in gather.findall("Play")] == ["https://m/press-1-or-2.wav"]
    assert "timeout=1" in (root.findtext("Redirect") or "")


async def test_twiml_play_route_voicemail_hangup() -> None:
    runner, c = Runner(FLOW), ctx()
    play = twiml(await runner.enter("welcome", c))
    assert play.findtext("Play") == "https://m/welcome.wav"
    assert "node=menu" in (play.findtext("Redirect") or "")
    queue = twiml(await runner.enter("sales", c))
    assert queue.findtext("Dial/Queue") == "sales"
    member = twiml(await runner.enter("operator", c), dial_number="+8613912345678")
    assert member.findtext("Dial/Number") == "+8613912345678"
    vm = twiml(await runner.enter("vm", c))
    assert vm.find("Record") is not None
    assert twiml(await runner.enter("bye", c)).find("Hangup") is not None


async def test_twiml_says_digits_and_numbers_and_plays_each_uri_of_a_media_list() -> None:
    step = Step("play", "say", ("sound:your-order,digits:0042,number:7",), next="bye")
    root = twiml(step)
    assert [(e.tag, e.text) for e in root if e.tag != "Redirect"] == [
        ("Play", "https://m/your-order.wav"),
        ("Say", "0 0 4 2"),
        ("Say", "7"),
    ]
