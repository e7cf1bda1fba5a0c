"""Simulated call behaviour: legs, outbound progress, bridges, hangups and the far end's actions.

Event sequences follow what Asterisk sends a Stasis app (see the comments on each flow);
tests drive the far end through the public methods (inbound_call, send_dtmf, remote_*).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from telephony.ari.sim_bridges import SimBridges
from telephony.ari.sim_state import (
    DTMF_DIGITS,
    SimChannel,
    SimHttpError,
    SimulatorError,
    cause_text,
    dial_status_for_cause,
)


class SimEngine(SimBridges):
    """Channels and bridges with Asterisk-like event sequences; no network side."""

    def app_active(self, app: str) -> bool:
        """Whether ``app`` has a WebSocket (the server subclass knows)."""
        raise NotImplementedError

    # ------------------------------------------------------------ the far end (tests)

    def inbound_call(
        self,
        *,
        caller_number: str = "+8613800138000",
        caller_name: str = "",
        exten: str = "100",
        context: str = "from-trunk",
        args: Sequence[str] = (),
        endpoint: str = "PJSIP/trunk",
        language: str = "en",
        app: str | None = None,
        channel_id: str | None = None,
    ) -> str:
        """A call arrives and the dialplan runs Stasis(app,args...): StasisStart, state Ring."""
        app = app or self.app
        if not self.app_active(app):
            # Stasis() fails when the app has no WebSocket: the call never reaches us.
            raise SimulatorError(f"Stasis app {app!r} is not connected")
        ch = SimChannel(
            id=channel_id or self._new_uniqueid(),
            name=f"{endpoint}-{self._next_seq():08x}",
            endpoint=endpoint,
            kind="inbound",
            app=app,
            state="Ring",
            caller_name=caller_name,
            caller_number=caller_number,
            context=context,
            exten=exten,
            app_name="Stasis",
            app_data=",".join([app, *args]),
            language=language,
            app_args=list(args),
            in_stasis=True,
            subscribed=True,
        )
        self.channels[ch.id] = ch
        self._emit_channel(ch, "StasisStart", args=list(args))
        return ch.id

    def send_dtmf(self, channel_id: str, digits: str, duration_ms: int = 120) -> None:
        """The caller presses keys: one ChannelDtmfReceived per digit."""
        ch = self._live(channel_id)
        for digit in digits:
            if digit not in DTMF_DIGITS:
                raise SimulatorError(f"not a DTMF digit: {digit!r}")
            self._emit_channel(ch, "ChannelDtmfReceived", digit=digit, duration_ms=duration_ms)
            self._finish_recordings(f"channel:{ch.id}", digit)

    def remote_answer(self, channel_id: str) -> None:
        """The called party picks up an outbound leg that is ringing."""
        ch = self._live(channel_id)
        if not ch.dialing:
            raise SimulatorError(f"{channel_id} is not being dialled")
        self._stop_progress(ch)
        self._answered(ch)

    def remote_busy(self, channel_id: str) -> None:
        """The called party rejects as busy (486): Dial BUSY, then the leg is destroyed (17)."""
        ch = self._live(channel_id)
        self._stop_progress(ch)
        self._outbound_failed(ch, "BUSY", 17)

    def remote_hangup(self, channel_id: str, cause: int = 16) -> None:
        """The far end hangs up in any phase (ringing, talking, bridged, playing...)."""
        ch = self._live(channel_id)
        if ch.dialing:
            self.hangup_leg(ch, cause, dial_status=dial_status_for_cause(cause))
        else:
            self.hangup_leg(ch, cause)

    def remote_hold(self, channel_id: str, musicclass: str | None = None) -> None:
        """The far end puts us on hold (re-INVITE sendonly): ChannelHold."""
        ch = self._live(channel_id)
        fields = {"musicclass": musicclass} if musicclass else {}
        self._emit_channel(ch, "ChannelHold", **fields)

    def remote_unhold(self, channel_id: str) -> None:
        """The far end takes us off hold: ChannelUnhold."""
        self._emit_channel(self._live(channel_id), "ChannelUnhold")

    def _live(self, channel_id: str) -> SimChannel:
        ch = self.channels.get(channel_id)
        if ch is None:
            raise SimulatorError(f"no channel {channel_id}")
        return ch

    # --------------------------------------------------------------- REST: legs

    def new_outbound(
        self,
        endpoint: str,
        *,
        kind: str,
        app: str | None,
        app_args: str | None,
        caller_id: str | None,
        channel_id: str | None,
    ) -> SimChannel:
        """A leg for originate or create, in state Down."""
        if "/" not in endpoint or not endpoint.split("/", 1)[1]:
            raise SimHttpError(400, "Invalid endpoint")
        if channel_id and channel_id in self.channels:
            raise SimHttpError(409, "Channel with given unique ID already exists")
        name, number = _parse_caller_id(caller_id or "")
        ch = SimChannel(
            id=channel_id or self._new_uniqueid(),
            name=f"{endpoint}-{self._next_seq():08x}",
            endpoint=endpoint,
            kind="created" if kind == "created" else "originated",
            app=app or self.app,
            caller_name=name,
            caller_number=number,
            app_args=app_args.split(",") if app_args else [],
            # An originate with app subscribes the app before answer; without app nobody is.
            subscribed=app is not None,
        )
        self.channels[ch.id] = ch
        if kind == "created":
            # /channels/create puts the new leg into Stasis straight away.
            ch.in_stasis = True
            ch.app_name, ch.app_data = "Stasis", ",".join([ch.app, *ch.app_args])
            self._emit_channel(ch, "StasisStart", args=list(ch.app_args))
        return ch

    def start_outbound(
        self, ch: SimChannel, ring_limit: float | None, caller_id: str | None = None
    ) -> None:
        """Begin calling the far end of an originated or dialled leg."""
        if ch.dialing or ch.state == "Up":
            raise SimHttpError(409, "Channel cannot be dialed")
        ch.dialing = True
        ch.dial_caller_id = caller_id
        ch.progress = self._spawn(self._outbound_progress(ch, ring_limit))

    async def _outbound_progress(self, ch: SimChannel, ring_limit: float | None) -> None:
        behaviour = self.behaviour(ch.endpoint)
        # Let the REST response leave first; Asterisk dials asynchronously too.
        await asyncio.sleep(0)
        self._emit_dial(ch, "")
        if behaviour.outcome in ("busy", "congestion"):
            await asyncio.sleep(behaviour.after)
            ch.progress = None
            busy = behaviour.outcome == "busy"
            self._outbound_failed(ch, "BUSY" if busy else "CONGESTION", 17 if busy else 34)
            return
        ch.state = "Ringing"
        self._emit_channel(ch, "ChannelStateChange")
        self._emit_dial(ch, "RINGING")
        waits: list[tuple[float, str]] = []
        if behaviour.outcome in ("answer", "noanswer"):
            waits.append((behaviour.after, behaviour.outcome))
        if ring_limit and ring_limit > 0:
            waits.append((self.scaled(ring_limit), "noanswer"))
        if not waits:
            return  # rings until the test calls remote_answer/remote_hangup
        delay, outcome = min(waits)
        await asyncio.sleep(delay)
        ch.progress = None
        if outcome == "answer":
            self._answered(ch)
        else:
            self._no_answer(ch)

    def _stop_progress(self, ch: SimChannel) -> None:
        if ch.progress is not None:
            ch.progress.cancel()
            ch.progress = None

    def _emit_dial(self, ch: SimChannel, status: str) -> None:
        # Dial describes the dialled leg (peer); caller only when one was given.
        if not ch.subscribed:
            return
        fields: dict[str, Any] = {
            "peer": ch.snapshot(),
            "dialstring": ch.resource,
            "dialstatus": status,
        }
        caller = self.channels.get(ch.dial_caller_id or "")
        if caller is not None:
            fields["caller"] = caller.snapshot()
        self._emit("Dial", ch.app, **fields)

    def _answered(self, ch: SimChannel) -> None:
        # Remote answer: state Up, Dial ANSWER; an originated leg then enters Stasis.
        ch.dialing = False
        ch.state = "Up"
        self._emit_channel(ch, "ChannelStateChange")
        self._emit_dial(ch, "ANSWER")
        if ch.kind == "originated" and ch.subscribed:
            ch.in_stasis = True
            ch.app_name, ch.app_data = "Stasis", ",".join([ch.app, *ch.app_args])
            self._emit_channel(ch, "StasisStart", args=list(ch.app_args))

    def _outbound_failed(self, ch: SimChannel, status: str, cause: int) -> None:
        # Busy/congestion arrive as control frames: Dial reports them, then the leg dies. A
        # leg never in Stasis (originate) gets no hangup request or StasisEnd, just destroyed.
        self._emit_dial(ch, status)
        self.hangup_leg(ch, cause, request=ch.in_stasis)

    def _no_answer(self, ch: SimChannel) -> None:
        if ch.in_stasis:
            # ARI dial timeout: soft hangup with cause 19 (res/stasis/control.c).
            self.hangup_leg(ch, 19, soft=True, dial_status="NOANSWER")
        else:
            self._emit_dial(ch, "NOANSWER")
            self.hangup_leg(ch, 19, request=False)

    def app_hangup(self, ch: SimChannel, cause: int) -> None:
        """DELETE /channels/{id}: a soft hangup; cancels the dial if still ringing."""
        self.hangup_leg(ch, cause, soft=True, dial_status="CANCEL" if ch.dialing else None)

    def hangup_leg(
        self,
        ch: SimChannel,
        cause: int,
        *,
        soft: bool = False,
        request: bool = True,
        dial_status: str | None = None,
    ) -> None:
        # Asterisk's order: ChannelHangupRequest, (Dial), PlaybackFinished/RecordingFinished,
        # ChannelLeftBridge, StasisEnd, ChannelDestroyed.
        if self.channels.get(ch.id) is not ch:
            return
        self._stop_progress(ch)
        ch.dialing = False
        if request:
            fields: dict[str, Any] = {"cause": cause}
            if soft:
                fields["soft"] = True
            self._emit_channel(ch, "ChannelHangupRequest", **fields)
        if dial_status:
            self._emit_dial(ch, dial_status)
        self._finish_playbacks(f"channel:{ch.id}")
        self._finish_recordings(f"channel:{ch.id}")
        if ch.bridge_id:
            self._leave_bridge(ch)
        for snoop in [c for c in self.channels.values() if c.snoop_of == ch.id]:
            self.hangup_leg(snoop, 16)
        if ch.in_stasis:
            ch.in_stasis = False
            self._emit_channel(ch, "StasisEnd")
        self._emit_channel(ch, "ChannelDestroyed", cause=cause, cause_txt=cause_text(cause))
        del self.channels[ch.id]

    def answer(self, ch: SimChannel) -> None:
        """POST answer: Ring -> Up with ChannelStateChange; no event if already Up."""
        if ch.state != "Up":
            ch.state = "Up"
            self._emit_channel(ch, "ChannelStateChange")

    def set_variable(self, ch: SimChannel, name: str, value: str | None) -> None:
        """Setting a variable publishes ChannelVarset to subscribed apps."""
        if value is None:
            ch.variables.pop(name, None)
        else:
            ch.variables[name] = value
        self._emit_channel(ch, "ChannelVarset", variable=name, value=value or "")

    def get_variable(self, ch: SimChannel, name: str) -> str:
        """A variable or the CALLERID() functions Asterisk evaluates on the fly."""
        builtin = {
            "CALLERID(num)": ch.caller_number,
            "CALLERID(name)": ch.caller_name,
            "CHANNEL(name)": ch.name,
            "UNIQUEID": ch.id,
        }
        if name in builtin:
            return builtin[name]
        if name not in ch.variables:
            raise SimHttpError(404, "Provided variable was not found")
        return ch.variables[name]

    def continue_in_dialplan(self, ch: SimChannel) -> None:
        """The leg leaves Stasis (StasisEnd) and the app stops getting its events."""
        ch.in_stasis = False
        self._emit_channel(ch, "StasisEnd")
        ch.subscribed = False

    def snoop(
        self, target: SimChannel, app: str, app_args: str | None, snoop_id: str | None
    ) -> SimChannel:
        """A Snoop/ leg, already Up, entering ``app`` (StasisStart)."""
        if snoop_id and snoop_id in self.channels:
            raise SimHttpError(400, "Snoop id already in use")
        args = app_args.split(",") if app_args else []
        ch = SimChannel(
            id=snoop_id or self._new_uniqueid(),
            name=f"Snoop/{target.id}-{self._next_seq():08x}",
            endpoint=f"Snoop/{target.id}",
            kind="snoop",
            app=app,
            state="Up",
            app_name="Stasis",
            app_data=",".join([app, *args]),
            app_args=args,
            in_stasis=True,
            subscribed=True,
            snoop_of=target.id,
        )
        self.channels[ch.id] = ch
        self._emit_channel(ch, "StasisStart", args=args)
        return ch


def _parse_caller_id(raw: str) -> tuple[str, str]:
    """Split '"Name" <number>' (Asterisk callerid syntax) into name and number."""
    raw = raw.strip()
    if "<" in raw and raw.endswith(">"):
        name, _, number = raw[:-1].partition("<")
        return name.strip().strip('"'), number.strip()
    return "", raw
