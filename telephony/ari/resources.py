"""Typed ARI REST calls for bridges, playbacks and recordings, and the types they share.

Every method goes through ``Transport.call`` with a key of ``CLIENT_OPERATIONS``, so the
contract test's check of that table covers every request the client can make.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol, cast

from telephony.ari.models import Bridge, LiveRecording, Playback, StoredRecording

HangupReason = Literal[
    "normal",
    "busy",
    "congestion",
    "no_answer",
    "timeout",
    "rejected",
    "unallocated",
    "normal_unspecified",
    "number_incomplete",
    "codec_mismatch",
    "interworking",
    "failure",
    "answered_elsewhere",
]
Direction = Literal["both", "in", "out"]
SnoopDirection = Literal["none", "both", "out", "in"]
IfExists = Literal["fail", "overwrite", "append"]
TerminateOn = Literal["none", "any", "*", "#"]
PlaybackOperation = Literal["restart", "pause", "unpause", "reverse", "forward"]
Media = str | Sequence[str]


class Transport(Protocol):
    """What the resource groups need from the client: one spec-checked request."""

    async def call(
        self,
        key: str,
        path: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any: ...


class ResourceGroup:
    def __init__(self, transport: Transport) -> None:
        self._t = transport


class BridgesApi(ResourceGroup):
    """/bridges: mixing bridges for conversations, holding bridges for queues."""

    async def list(self) -> builtins.list[Bridge]:
        """All bridges (reconciliation after reconnect)."""
        return cast(builtins.list[Bridge], await self._t.call("bridges.list"))

    async def get(self, bridge_id: str) -> Bridge:
        """One bridge's snapshot."""
        return cast(Bridge, await self._t.call("bridges.get", {"bridgeId": bridge_id}))

    async def create(
        self, type: str = "mixing", *, bridge_id: str | None = None, name: str | None = None
    ) -> Bridge:
        """Create a bridge; ``type`` is comma-separated attributes (mixing, holding, ...)."""
        query = {"type": type, "bridgeId": bridge_id, "name": name}
        return cast(Bridge, await self._t.call("bridges.create", None, query))

    async def destroy(self, bridge_id: str) -> None:
        """Destroy the bridge; channels in it are ejected but stay up in Stasis."""
        await self._t.call("bridges.destroy", {"bridgeId": bridge_id})

    async def add_channel(
        self,
        bridge_id: str,
        channel: Media,
        *,
        role: str | None = None,
        absorb_dtmf: bool | None = None,
        mute: bool | None = None,
        inhibit_connected_line_updates: bool | None = None,
    ) -> None:
        """Put one or more channels into the bridge (leaving any bridge they were in)."""
        query = {
            "channel": channel,
            "role": role,
            "absorbDTMF": absorb_dtmf,
            "mute": mute,
            "inhibitConnectedLineUpdates": inhibit_connected_line_updates,
        }
        await self._t.call("bridges.add_channel", {"bridgeId": bridge_id}, query)

    async def remove_channel(self, bridge_id: str, channel: Media) -> None:
        """Take channels out of the bridge (they stay in Stasis)."""
        await self._t.call("bridges.remove_channel", {"bridgeId": bridge_id}, {"channel": channel})

    async def start_moh(self, bridge_id: str, moh_class: str | None = None) -> None:
        """Music on hold to everyone in the bridge."""
        await self._t.call("bridges.start_moh", {"bridgeId": bridge_id}, {"mohClass": moh_class})

    async def stop_moh(self, bridge_id: str) -> None:
        """Stop the bridge's music on hold."""
        await self._t.call("bridges.stop_moh", {"bridgeId": bridge_id})

    async def play(
        self,
        bridge_id: str,
        media: Media,
        *,
        lang: str | None = None,
        offsetms: int | None = None,
        skipms: int | None = None,
        playback_id: str | None = None,
    ) -> Playback:
        """Play media to every channel in the bridge."""
        query = {
            "media": media,
            "lang": lang,
            "offsetms": offsetms,
            "skipms": skipms,
            "playbackId": playback_id,
        }
        return cast(Playback, await self._t.call("bridges.play", {"bridgeId": bridge_id}, query))

    async def record(
        self,
        bridge_id: str,
        name: str,
        format: str,
        *,
        max_duration_seconds: int | None = None,
        max_silence_seconds: int | None = None,
        if_exists: IfExists | None = None,
        beep: bool | None = None,
        terminate_on: TerminateOn | None = None,
    ) -> LiveRecording:
        """Record the bridge's mixed audio."""
        query = record_query(
            name, format, max_duration_seconds, max_silence_seconds, if_exists, beep, terminate_on
        )
        return cast(
            LiveRecording, await self._t.call("bridges.record", {"bridgeId": bridge_id}, query)
        )


class PlaybacksApi(ResourceGroup):
    """/playbacks: control media already queued by ``play``."""

    async def get(self, playback_id: str) -> Playback:
        """Current state (note: Asterisk reports "paused", a state the spec does not list)."""
        return cast(Playback, await self._t.call("playbacks.get", {"playbackId": playback_id}))

    async def stop(self, playback_id: str) -> None:
        """Stop (or cancel, if still queued) a playback."""
        await self._t.call("playbacks.stop", {"playbackId": playback_id})

    async def control(self, playback_id: str, operation: PlaybackOperation) -> None:
        """Pause, unpause, restart, rewind or fast-forward a playing sound."""
        await self._t.call(
            "playbacks.control", {"playbackId": playback_id}, {"operation": operation}
        )


class RecordingsApi(ResourceGroup):
    """/recordings: live recordings in progress and stored ones on disk."""

    async def list_stored(self) -> list[StoredRecording]:
        """Every stored recording."""
        return cast(list[StoredRecording], await self._t.call("recordings.list_stored"))

    async def get_stored(self, name: str) -> StoredRecording:
        """One stored recording; AriNotFound when absent."""
        return cast(
            StoredRecording, await self._t.call("recordings.get_stored", {"recordingName": name})
        )

    async def get_stored_file(self, name: str) -> bytes:
        """A stored recording's audio bytes (as Asterisk wrote them, e.g. WAV)."""
        data = await self._t.call("recordings.get_stored_file", {"recordingName": name})
        return bytes(data or b"")

    async def delete_stored(self, name: str) -> None:
        """Delete a stored recording."""
        await self._t.call("recordings.delete_stored", {"recordingName": name})

    async def get_live(self, name: str) -> LiveRecording:
        """A recording in progress."""
        return cast(
            LiveRecording, await self._t.call("recordings.get_live", {"recordingName": name})
        )

    async def stop_live(self, name: str) -> None:
        """Stop and keep a live recording (RecordingFinished follows)."""
        await self._t.call("recordings.stop_live", {"recordingName": name})

    async def cancel_live(self, name: str) -> None:
        """Stop and discard a live recording."""
        await self._t.call("recordings.cancel_live", {"recordingName": name})


def record_query(
    name: str,
    format: str,
    max_duration_seconds: int | None,
    max_silence_seconds: int | None,
    if_exists: str | None,
    beep: bool | None,
    terminate_on: str | None,
) -> dict[str, Any]:
    return {
        "name": name,
        "format": format,
        "maxDurationSeconds": max_duration_seconds,
        "maxSilenceSeconds": max_silence_seconds,
        "ifExists": if_exists,
        "beep": beep,
        "terminateOn": terminate_on,
    }
