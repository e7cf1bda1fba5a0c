"""Simulator state: channels, bridges, playbacks, recordings, and their ARI JSON snapshots.

Snapshots carry exactly the fields Asterisk's validators accept (no extras), so events built
from them validate against the spec.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

# Hangup cause texts as Asterisk prints them (main/channel.c causes table).
CAUSE_TEXT: dict[int, str] = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    3: "No route to destination",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    20: "Subscriber absent",
    21: "Call Rejected",
    26: "Answered elsewhere",
    28: "Invalid number format",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    58: "Bearer capability not available",
    127: "Interworking, unspecified",
}

# DELETE /channels/{id}?reason=... -> cause (res/ari/resource_channels.c).
HANGUP_REASONS: dict[str, int] = {
    "normal": 16,
    "busy": 17,
    "congestion": 34,
    "no_answer": 19,
    "timeout": 18,
    "rejected": 21,
    "unallocated": 1,
    "normal_unspecified": 31,
    "number_incomplete": 28,
    "codec_mismatch": 58,
    "interworking": 127,
    "failure": 38,
    "answered_elsewhere": 26,
}

# Formats a stock Asterisk can record; anything else gets 422.
RECORDING_FORMATS = frozenset(
    {"wav", "wav16", "gsm", "ulaw", "alaw", "sln", "sln16", "g722", "g729"}
)
DTMF_DIGITS = frozenset("0123456789*#ABCD")

ChannelKind = Literal["inbound", "originated", "created", "snoop"]


def cause_text(cause: int) -> str:
    """Asterisk's text for a hangup cause."""
    return CAUSE_TEXT.get(cause, "Unknown")


def dial_status_for_cause(cause: int) -> str:
    """The Dial event status Asterisk derives from a hangup cause (main/dial.c)."""
    if cause == 17:
        return "BUSY"
    if cause == 34:
        return "CONGESTION"
    if cause in (3, 20):
        return "CHANUNAVAIL"
    return "NOANSWER"


def ari_timestamp(now: datetime | None = None) -> str:
    """A timestamp in Asterisk's "%FT%T.%q%z" form, e.g. 2026-11-26T10:00:00.123+0000."""
    now = now or datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


@dataclass
class SimChannel:
    """One call leg as Asterisk would track it."""

    id: str
    name: str
    endpoint: str
    kind: ChannelKind
    app: str
    state: str = "Down"
    caller_name: str = ""
    caller_number: str = ""
    connected_name: str = ""
    connected_number: str = ""
    context: str = "default"
    exten: str = "s"
    priority: int = 1
    app_name: str = ""
    app_data: str = ""
    language: str = "en"
    creationtime: str = field(default_factory=ari_timestamp)
    app_args: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    # in_stasis: StasisStart sent and no StasisEnd yet. subscribed: the app gets its events
    # (originated legs are subscribed before they answer and enter Stasis).
    in_stasis: bool = False
    subscribed: bool = False
    bridge_id: str | None = None
    muted: str = ""
    on_hold: bool = False
    moh_class: str | None = None
    ringing: bool = False
    dialing: bool = False
    dial_caller_id: str | None = None
    snoop_of: str | None = None
    progress: asyncio.Task[None] | None = None

    def snapshot(self) -> dict[str, Any]:
        """The Channel model JSON."""
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "protocol_id": "",
            "caller": {"name": self.caller_name, "number": self.caller_number},
            "connected": {"name": self.connected_name, "number": self.connected_number},
            "accountcode": "",
            "dialplan": {
                "context": self.context,
                "exten": self.exten,
                "priority": self.priority,
                "app_name": self.app_name,
                "app_data": self.app_data,
            },
            "creationtime": self.creationtime,
            "language": self.language,
        }

    @property
    def technology(self) -> str:
        """PJSIP, SIP, Local... the part of the endpoint before the slash."""
        return self.endpoint.split("/", 1)[0]

    @property
    def resource(self) -> str:
        """The endpoint after the technology (what Dial events call the dialstring)."""
        return self.endpoint.split("/", 1)[-1]


@dataclass
class SimBridge:
    """One bridge created through ARI."""

    id: str
    bridge_type: str
    # Asterisk subscribes an app to a bridge when the app puts one of its channels in it;
    # until then nobody receives the bridge's events.
    app: str | None = None
    name: str = ""
    channels: list[str] = field(default_factory=list)
    creationtime: str = field(default_factory=ari_timestamp)
    moh_class: str | None = None

    def snapshot(self) -> dict[str, Any]:
        """The Bridge model JSON."""
        if self.bridge_type == "holding":
            technology = "holding_bridge"
        else:
            # Asterisk upgrades a two-party native/simple bridge to softmix for 3+ channels.
            technology = "simple_bridge" if len(self.channels) <= 2 else "softmix"
        return {
            "id": self.id,
            "technology": technology,
            "bridge_type": self.bridge_type,
            "bridge_class": "stasis",
            "creator": "Stasis",
            "name": self.name,
            "channels": list(self.channels),
            "creationtime": self.creationtime,
            "video_mode": "none",
        }


@dataclass
class SimPlayback:
    """One play request: one or more media played in order on a channel or bridge."""

    id: str
    medias: list[str]
    target_uri: str
    app: str
    language: str = "en"
    state: str = "queued"
    index: int = 0
    started: bool = False
    paused: bool = False
    stop_requested: bool = False
    restart_requested: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def snapshot(self) -> dict[str, Any]:
        """The Playback model JSON (state "paused" is Asterisk's, though not in the spec list)."""
        data: dict[str, Any] = {
            "id": self.id,
            "media_uri": self.medias[self.index],
            "target_uri": self.target_uri,
            "language": self.language,
            "state": self.state,
        }
        if self.index < len(self.medias) - 1:
            data["next_media_uri"] = self.medias[self.index + 1]
        return data


@dataclass
class SimRecording:
    """One live recording of a channel or bridge."""

    name: str
    format: str
    target_uri: str
    app: str
    started_at: float
    terminate_on: str = "none"
    state: str = "queued"
    duration: int | None = None
    timer: asyncio.TimerHandle | None = None

    def snapshot(self) -> dict[str, Any]:
        """The LiveRecording model JSON."""
        data: dict[str, Any] = {
            "name": self.name,
            "format": self.format,
            "state": self.state,
            "target_uri": self.target_uri,
        }
        if self.duration is not None:
            data["duration"] = self.duration
        return data


@dataclass
class EndpointBehaviour:
    """How a simulated far end answers an outbound call (originate or dial).

    outcome "answer" rings for ``after`` seconds then answers; "busy"/"congestion" reject
    after ``after`` seconds without ringing; "noanswer" rings ``after`` seconds then times
    out (cause 19); "ring" rings until the test acts or the request's timeout expires.
    """

    outcome: Literal["answer", "busy", "congestion", "noanswer", "ring"] = "answer"
    after: float = 0.02


class SimHttpError(Exception):
    """An ARI error response: status plus Asterisk-style {"message": ...} body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class SimulatorError(RuntimeError):
    """A test asked the simulator for something Asterisk could not do."""
