"""Event delivery: in order per channel, concurrent across channels, reconnects with backoff."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from typing import Any

import pytest
from ari_testkit import FAST_RECONNECT, EventLog

from telephony.ari import AriClient, ChannelDispatcher, EventListener, ReconnectPolicy, ordering_key
from telephony.ari.simulator import AriSimulator


def ev(event_type: str, channel_id: str, **extra: Any) -> dict[str, Any]:
    return {"type": event_type, "channel": {"id": channel_id}, **extra}


def test_ordering_key_follows_the_event_subject() -> None:
    assert ordering_key(ev("StasisStart", "c1")) == "channel:c1"
    assert ordering_key({"type": "Dial", "peer": {"id": "c2"}, "caller": {"id": "c1"}}) == (
        "channel:c2"
    )
    assert ordering_key({"type": "PlaybackFinished", "playback": {"target_uri": "channel:c1"}}) == (
        "channel:c1"
    )
    assert ordering_key({"type": "BridgeDestroyed", "bridge": {"id": "b1"}}) == "bridge:b1"
    entered = {"type": "ChannelEnteredBridge", "bridge": {"id": "b"}, "channel": {"id": "c"}}
    assert ordering_key(entered) == "channel:c"
    assert ordering_key({"type": "ApplicationReplaced"}) == "global"


async def test_slow_channel_keeps_its_order_while_others_proceed() -> None:
    dispatcher = ChannelDispatcher()
    gate = asyncio.Event()
    handled: list[tuple[str, str]] = []

    async def handler(event: dict[str, Any]) -> None:
        channel = event["channel"]["id"]
        if channel == "slow" and event["type"] == "StasisStart":
            await gate.wait()  # the slow call's first handler blocks...
        handled.append((channel, event["type"]))

    dispatcher.add_handler(handler)
    sequence = ["StasisStart", "ChannelStateChange", "ChannelDtmfReceived", "StasisEnd"]
    for event_type in sequence:
        dispatcher.dispatch(ev(event_type, "slow"))
        dispatcher.dispatch(ev(event_type, "fast"))
    fast_done = asyncio.Event()
    dispatcher.add_handler(lambda e: _set_if(fast_done, e, "fast", "StasisEnd"), "StasisEnd")
    async with asyncio.timeout(5):
        await fast_done.wait()
    # ...while the other call ran to completion and nothing of the slow one ran out of turn.
    assert [t for c, t in handled if c == "fast"] == sequence
    assert [t for c, t in handled if c == "slow"] == []
    gate.set()
    async with asyncio.timeout(5):
        await dispatcher.join()
    assert [t for c, t in handled if c == "slow"] == sequence
    assert dispatcher.active_lanes == frozenset()  # lanes end after StasisEnd
    await dispatcher.close()


async def _set_if(flag: asyncio.Event, event: dict[str, Any], channel: str, kind: str) -> None:
    if event["channel"]["id"] == channel and event["type"] == kind:
        flag.set()


async def test_failing_handler_does_not_stop_the_lane(caplog: pytest.LogCaptureFixture) -> None:
    dispatcher = ChannelDispatcher()
    seen: list[str] = []

    async def flaky(event: dict[str, Any]) -> None:
        seen.append(event["type"])
        if event["type"] == "StasisStart":
            raise RuntimeError("boom")

    dispatcher.add_handler(flaky)
    with caplog.at_level(logging.ERROR, logger="telephony.ari.events"):
        dispatcher.dispatch(ev("StasisStart", "c1"))
        dispatcher.dispatch(ev("ChannelDestroyed", "c1"))
        async with asyncio.timeout(5):
            await dispatcher.join()
    assert seen == ["StasisStart", "ChannelDestroyed"]
    assert "boom" in caplog.text
    await dispatcher.close()


async def test_idle_lane_is_retired_without_terminal_event() -> None:
    dispatcher = ChannelDispatcher(idle_timeout=0.01)
    dispatcher.add_handler(_noop)
    dispatcher.dispatch(ev("ChannelDtmfReceived", "orphan"))
    async with asyncio.timeout(5):
        while dispatcher.active_lanes:
            await asyncio.sleep(0.005)
    await dispatcher.close()


async def _noop(event: dict[str, Any]) -> None:
    return None


def test_backoff_grows_exponentially_within_jitter_bounds() -> None:
    policy = ReconnectPolicy(initial_delay=0.1, max_delay=1.0, factor=2.0, jitter=0.5)
    rng = random.Random(7)
    for attempt, base in enumerate([0.1, 0.2, 0.4, 0.8, 1.0, 1.0]):
        delay = policy.delay(attempt, rng)
        assert base * 0.5 <= delay <= base
    with pytest.raises(ValueError):
        ReconnectPolicy(initial_delay=0)
    with pytest.raises(ValueError):
        ReconnectPolicy(jitter=1.0)


async def test_refused_connections_back_off_exponentially() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    delays: list[float] = []
    enough = asyncio.Event()

    async def fake_sleep(delay: float) -> None:
        delays.append(delay)
        if len(delays) >= 5:
            enough.set()
        await asyncio.sleep(0)

    policy = ReconnectPolicy(initial_delay=0.1, max_delay=1.0, jitter=0.0)
    listener = EventListener(
        f"ws://127.0.0.1:{port}/ari/events?app=a", _discard, policy=policy, sleep=fake_sleep
    )
    await listener.start()
    async with asyncio.timeout(5):
        await enough.wait()
    await listener.stop()
    assert delays[:5] == [0.1, 0.2, 0.4, 0.8, 1.0]
    assert listener.stats.sessions == 0


def _discard(event: dict[str, Any]) -> None:
    return None


async def test_reconnects_after_server_drop_without_replay(
    sim: AriSimulator, ari_spec: Any
) -> None:
    reconciled: list[list[str]] = []
    client = AriClient(sim.base_url, sim.app, reconnect=FAST_RECONNECT)

    async def on_connected() -> None:
        # What the Stasis app does: re-read live channels, since missed events are gone.
        reconciled.append([c["id"] for c in await client.channels.list()])

    client.on_connected = on_connected
    log = EventLog(ari_spec)
    client.add_handler(log)
    async with client:
        await client.start_events()
        async with asyncio.timeout(5):
            await client.wait_connected()
        call = sim.inbound_call()
        await client.channels.answer(call)
        await log.wait_type("ChannelStateChange", call)

        await sim.drop_connections(code=1011)  # Asterisk went away mid-call
        sim.send_dtmf(call, "7")  # happens during the gap: dropped, never replayed
        async with asyncio.timeout(5):
            while client.events.stats.sessions < 2:
                await asyncio.sleep(0.005)
        assert reconciled == [[], [call]]  # the call survived and was found by GET /channels
        assert [e["type"] for e in sim.dropped] == ["ChannelDtmfReceived"]

        sim.send_dtmf(call, "8")
        dtmf = await log.wait_type("ChannelDtmfReceived", call)
        assert dtmf["digit"] == "8"
        sim.remote_hangup(call)
        await log.wait_type("ChannelDestroyed", call)
        assert log.types(call) == [
            "StasisStart",
            "ChannelStateChange",
            "ChannelDtmfReceived",
            "ChannelHangupRequest",
            "StasisEnd",
            "ChannelDestroyed",
        ]
        assert client.events.stats.disconnects == 1
        assert log.problems == []


async def test_clean_close_counts_as_disconnect_and_backs_off(sim: AriSimulator) -> None:
    """A server that accepts then closes with 1000 must not be hammered in a tight loop."""
    sim.close_on_accept = True
    policy = ReconnectPolicy(initial_delay=0.005, max_delay=0.04, jitter=0.5, stable_after=30.0)
    client = AriClient(sim.base_url, sim.app, reconnect=policy, rng=random.Random(1))
    async with client:
        await client.start_events()
        async with asyncio.timeout(5):
            while sim.ws_sessions < 6:
                await asyncio.sleep(0.005)
        delays = list(client.events.stats.delays)
    assert len(delays) >= 5
    for attempt, delay in enumerate(delays[:5]):
        base = min(0.04, 0.005 * 2**attempt)
        assert base * 0.5 <= delay <= base
    # Loose sanity only: a tight loop would have made hundreds of sessions by now.
    assert sim.ws_sessions < 50


async def test_rejected_upgrades_are_retried_until_accepted(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    sim.reject_connections = 3
    await sim.drop_connections(code=1001)  # clean "going away" close, then 3 refusals
    async with asyncio.timeout(5):
        while ari.events.stats.sessions < 2:
            await asyncio.sleep(0.005)
    assert sim.ws_attempts == 5  # first session + 3 refused + the one that got through
    assert len(ari.events.stats.delays) == 4
    call = sim.inbound_call()
    await log.wait_type("StasisStart", call)


async def test_second_socket_for_same_app_replaces_the_first(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    async with AriClient(sim.base_url, sim.app, reconnect=FAST_RECONNECT) as other:
        other_log = EventLog(log.spec)
        other.add_handler(other_log)
        await other.start_events()
        async with asyncio.timeout(5):
            await other.wait_connected()
        await log.wait_type("ApplicationReplaced")
        call = sim.inbound_call()
        await other_log.wait_type("StasisStart", call)
        assert log.of(call) == []


async def test_failed_reconciliation_reconnects_and_retries(sim: AriSimulator) -> None:
    attempts: list[int] = []

    async def flaky_reconcile() -> None:
        attempts.append(len(attempts))
        if len(attempts) == 1:
            raise RuntimeError("database unavailable")

    client = AriClient(sim.base_url, sim.app, reconnect=FAST_RECONNECT)
    client.on_connected = flaky_reconcile
    async with client:
        await client.start_events()
        async with asyncio.timeout(5):
            await client.wait_connected()
        # The failed hook closed that session; events only flow once reconciliation succeeded.
        assert attempts == [0, 1]
        assert client.events.stats.sessions == 1 and sim.ws_sessions == 2
