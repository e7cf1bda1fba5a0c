"""ARI /channels calls: one method per spec operation the Stasis app uses on call legs."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import cast

from telephony.ari.models import Channel, LiveRecording, Playback
from telephony.ari.resources import (
    Direction,
    HangupReason,
    IfExists,
    Media,
    ResourceGroup,
    SnoopDirection,
    TerminateOn,
    record_query,
)


class ChannelsApi(ResourceGroup):
    """/channels: originate, answer, play, hang up... one call leg at a time."""

    async def list(self) -> builtins.list[Channel]:
        """All channels Asterisk has (used to reconcile state after a reconnect)."""
        return cast(builtins.list[Channel], await self._t.call("channels.list"))

    async def get(self, channel_id: str) -> Channel:
        """One channel's snapshot; AriNotFound once it has hung up."""
        return cast(Channel, await self._t.call("channels.get", {"channelId": channel_id}))

    async def originate(
        self,
        endpoint: str,
        *,
        app: str | None = None,
        app_args: str | None = None,
        extension: str | None = None,
        context: str | None = None,
        priority: int | None = None,
        label: str | None = None,
        caller_id: str | None = None,
        ring_timeout: int | None = None,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        originator: str | None = None,
        formats: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        """Call ``endpoint``; with ``app`` the answered leg enters our Stasis app.

        ``ring_timeout`` is ARI's ``timeout`` (seconds, Asterisk's default 30, -1 for none).
        """
        query = {
            "endpoint": endpoint,
            "app": app,
            "appArgs": app_args,
            "extension": extension,
            "context": context,
            "priority": priority,
            "label": label,
            "callerId": caller_id,
            "timeout": ring_timeout,
            "channelId": channel_id,
            "otherChannelId": other_channel_id,
            "originator": originator,
            "formats": formats,
        }
        body = {"variables": dict(variables)} if variables else None
        return cast(Channel, await self._t.call("channels.originate", None, query, body))

    async def create(
        self,
        endpoint: str,
        app: str,
        *,
        app_args: str | None = None,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        originator: str | None = None,
        formats: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        """Create a leg in Stasis without calling it yet (then ``dial``)."""
        query = {
            "endpoint": endpoint,
            "app": app,
            "appArgs": app_args,
            "channelId": channel_id,
            "otherChannelId": other_channel_id,
            "originator": originator,
            "formats": formats,
        }
        body = {"variables": dict(variables)} if variables else None
        return cast(Channel, await self._t.call("channels.create", None, query, body))

    async def dial(
        self, channel_id: str, *, caller: str | None = None, ring_timeout: int | None = None
    ) -> None:
        """Call out on a leg made by ``create``; ``caller`` links Dial events to the caller.

        ``ring_timeout`` is ARI's ``timeout`` in seconds (default: ring until answered).
        """
        query = {"caller": caller, "timeout": ring_timeout}
        await self._t.call("channels.dial", {"channelId": channel_id}, query)

    async def answer(self, channel_id: str) -> None:
        """Answer an inbound leg."""
        await self._t.call("channels.answer", {"channelId": channel_id})

    async def ring(self, channel_id: str) -> None:
        """Indicate ringing to the caller."""
        await self._t.call("channels.ring", {"channelId": channel_id})

    async def ring_stop(self, channel_id: str) -> None:
        """Stop indicating ringing."""
        await self._t.call("channels.ring_stop", {"channelId": channel_id})

    async def hangup(
        self, channel_id: str, reason: HangupReason | None = None, *, reason_code: str | None = None
    ) -> None:
        """Hang up (Asterisk rejects giving both reason and reason_code)."""
        query = {"reason": reason, "reason_code": reason_code}
        await self._t.call("channels.hangup", {"channelId": channel_id}, query)

    async def continue_in_dialplan(
        self,
        channel_id: str,
        *,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
        label: str | None = None,
    ) -> None:
        """Leave Stasis and resume the dialplan (a StasisEnd follows)."""
        query = {"context": context, "extension": extension, "priority": priority, "label": label}
        await self._t.call("channels.continue_in_dialplan", {"channelId": channel_id}, query)

    async def redirect(self, channel_id: str, endpoint: str) -> None:
        """Redirect the leg to another endpoint of the same technology."""
        await self._t.call("channels.redirect", {"channelId": channel_id}, {"endpoint": endpoint})

    async def send_dtmf(
        self,
        channel_id: str,
        dtmf: str,
        *,
        before: int | None = None,
        between: int | None = None,
        duration: int | None = None,
        after: int | None = None,
    ) -> None:
        """Send DTMF digits to the far end."""
        query = {
            "dtmf": dtmf,
            "before": before,
            "between": between,
            "duration": duration,
            "after": after,
        }
        await self._t.call("channels.send_dtmf", {"channelId": channel_id}, query)

    async def mute(self, channel_id: str, direction: Direction = "both") -> None:
        """Mute audio in one or both directions."""
        await self._t.call("channels.mute", {"channelId": channel_id}, {"direction": direction})

    async def unmute(self, channel_id: str, direction: Direction = "both") -> None:
        """Undo ``mute``."""
        await self._t.call("channels.unmute", {"channelId": channel_id}, {"direction": direction})

    async def hold(self, channel_id: str) -> None:
        """Indicate hold to the far end."""
        await self._t.call("channels.hold", {"channelId": channel_id})

    async def unhold(self, channel_id: str) -> None:
        """Indicate the end of hold."""
        await self._t.call("channels.unhold", {"channelId": channel_id})

    async def start_moh(self, channel_id: str, moh_class: str | None = None) -> None:
        """Play music on hold to the leg."""
        await self._t.call("channels.start_moh", {"channelId": channel_id}, {"mohClass": moh_class})

    async def stop_moh(self, channel_id: str) -> None:
        """Stop music on hold."""
        await self._t.call("channels.stop_moh", {"channelId": channel_id})

    async def play(
        self,
        channel_id: str,
        media: Media,
        *,
        lang: str | None = None,
        offsetms: int | None = None,
        skipms: int | None = None,
        playback_id: str | None = None,
    ) -> Playback:
        """Queue media (e.g. "sound:hello-world"); pass ``playback_id`` to match events early."""
        query = {
            "media": media,
            "lang": lang,
            "offsetms": offsetms,
            "skipms": skipms,
            "playbackId": playback_id,
        }
        return cast(Playback, await self._t.call("channels.play", {"channelId": channel_id}, query))

    async def record(
        self,
        channel_id: str,
        name: str,
        format: str,
        *,
        max_duration_seconds: int | None = None,
        max_silence_seconds: int | None = None,
        if_exists: IfExists | None = None,
        beep: bool | None = None,
        terminate_on: TerminateOn | None = None,
    ) -> LiveRecording:
        """Record the leg into stored recording ``name``."""
        query = record_query(
            name, format, max_duration_seconds, max_silence_seconds, if_exists, beep, terminate_on
        )
        return cast(
            LiveRecording, await self._t.call("channels.record", {"channelId": channel_id}, query)
        )

    async def snoop(
        self,
        channel_id: str,
        app: str,
        *,
        spy: SnoopDirection | None = None,
        whisper: SnoopDirection | None = None,
        app_args: str | None = None,
        snoop_id: str | None = None,
    ) -> Channel:
        """Make a snoop leg (listen/whisper, e.g. supervisor barge) that enters ``app``."""
        query = {
            "spy": spy,
            "whisper": whisper,
            "app": app,
            "appArgs": app_args,
            "snoopId": snoop_id,
        }
        return cast(Channel, await self._t.call("channels.snoop", {"channelId": channel_id}, query))

    async def get_variable(self, channel_id: str, variable: str) -> str:
        """A channel variable or dialplan function value; AriNotFound when unset."""
        result = await self._t.call(
            "channels.get_variable", {"channelId": channel_id}, {"variable": variable}
        )
        return str(result["value"])

    async def set_variable(self, channel_id: str, variable: str, value: str | None) -> None:
        """Set (or with None, unset) a channel variable."""
        query = {"variable": variable, "value": value}
        await self._t.call("channels.set_variable", {"channelId": channel_id}, query)
