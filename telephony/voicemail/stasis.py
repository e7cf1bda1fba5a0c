"""ARI callbacks of leaving a message: greeting, beep, record until '#' or hangup, deliver.

Telephony facts this follows:
- The caller's channel was never answered while the member's phones rang (ringback was early
  media); voicemail answers it, which is when a carrier starts charging the caller.
- A channel in a bridge cannot be recorded (ARI answers 409), so the caller is recorded on
  their own channel; a hangup mid-message still ends the recording "done" and the file is kept.
- RecordingFinished arrives on the channel's lane, before its ChannelDestroyed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from comms.db.engine import Database
from comms.db.tenancy import scoped_to
from comms.settings import Settings
from telephony.ari import AriClient, AriError
from telephony.calls.models import Call
from telephony.voicemail import service
from telephony.voicemail.models import Mailbox

log = logging.getLogger(__name__)


@dataclass
class LeaveMessage:
    """One caller leaving a message."""

    tenant_id: uuid.UUID
    channel_id: str
    call_id: uuid.UUID | None
    mailbox_id: uuid.UUID
    caller: str
    callee: str
    greeting_playback: str = field(default_factory=lambda: f"vm-greet-{uuid.uuid4().hex}")
    recording: str | None = None
    gone: bool = False


class VoicemailFlows:
    """Takes over unanswered calls for members with a mailbox."""

    def __init__(
        self, ari: AriClient, db: Database, settings: Settings, *, max_seconds: int = 180
    ) -> None:
        self.ari = ari
        self.db = db
        self.settings = settings
        self.max_seconds = max_seconds
        self.by_channel: dict[str, LeaveMessage] = {}
        self.by_recording: dict[str, LeaveMessage] = {}

    def session(self, tenant_id: uuid.UUID) -> Any:
        s = self.db.sessionmaker()
        scoped_to(s, tenant_id)
        return s

    async def take(
        self, tenant_id: uuid.UUID, call_id: uuid.UUID, channel_id: str, ringback: str | None
    ) -> bool:
        """Offer an unanswered call to voicemail; False when the member has no mailbox."""
        async with self.session(tenant_id) as s:
            box = await service.mailbox_for_call(s, call_id)
            if box is None:
                return False
            call = await s.get(Call, call_id)
            assert call is not None
            media = service.greeting_media(box)
            job = LeaveMessage(
                tenant_id=tenant_id,
                channel_id=channel_id,
                call_id=call_id,
                mailbox_id=box.id,
                caller=call.caller,
                callee=call.callee,
            )
        self.by_channel[channel_id] = job
        try:
            # The group ringback is still queued on the caller: stop it, or the greeting
            # would wait behind it.
            if ringback:
                await self._quietly(self.ari.playbacks.stop(ringback))
            else:
                await self._quietly(self.ari.channels.ring_stop(channel_id))
            await self.ari.channels.answer(channel_id)
            await self.ari.channels.play(channel_id, media, playback_id=job.greeting_playback)
        except AriError as exc:
            log.info("voicemail for call %s: caller gone before the greeting: %s", call_id, exc)
            self.by_channel.pop(channel_id, None)
            return False
        return True

    async def on_playback_finished(self, event: dict[str, Any]) -> None:
        playback = event["playback"]
        channel_id = str(playback.get("target_uri", "")).removeprefix("channel:")
        job = self.by_channel.get(channel_id)
        if job is None or playback["id"] != job.greeting_playback:
            return
        if job.gone:
            self._drop(job)
            return
        job.recording = f"vm-{job.tenant_id.hex[:8]}-{uuid.uuid4().hex}"
        self.by_recording[job.recording] = job
        try:
            await self.ari.channels.record(
                channel_id,
                job.recording,
                "wav",
                max_duration_seconds=self.max_seconds,
                max_silence_seconds=10,
                beep=True,
                terminate_on="#",
                if_exists="fail",
            )
        except AriError as exc:
            log.info("voicemail: cannot record %s: %s", channel_id, exc)
            self._drop(job)

    async def on_recording_finished(self, event: dict[str, Any]) -> None:
        rec = event["recording"]
        job = self.by_recording.get(rec["name"])
        if job is None:
            return
        if event["type"] == "RecordingFailed" or rec.get("state") != "done":
            log.warning("voicemail recording %s failed: %s", rec["name"], rec.get("cause"))
            await self._hangup(job)
            self._drop(job)
            return
        duration = int(rec.get("duration") or 0)
        audio = await self.ari.recordings.get_stored_file(rec["name"])
        async with self.session(job.tenant_id) as s:
            box = await s.get(Mailbox, job.mailbox_id)
            if box is not None:
                await service.store_message(
                    s,
                    self.settings,
                    mailbox=box,
                    call_id=job.call_id,
                    caller=job.caller,
                    callee=job.callee,
                    recording=rec["name"],
                    audio=audio,
                    duration_seconds=duration,
                )
        await self._hangup(job)
        self._drop(job)

    async def on_hangup_request(self, event: dict[str, Any]) -> None:
        # Comes before the greeting's PlaybackFinished: do not start recording a dead channel.
        job = self.by_channel.get(event["channel"]["id"])
        if job is not None:
            job.gone = True

    async def on_channel_destroyed(self, event: dict[str, Any]) -> None:
        job = self.by_channel.get(event["channel"]["id"])
        if job is None:
            return
        job.gone = True
        if job.recording is None:
            self._drop(job)  # hung up during the greeting: nothing to keep

    async def _hangup(self, job: LeaveMessage) -> None:
        if job.gone:
            return
        await self._quietly(self.ari.channels.hangup(job.channel_id, "normal"))

    async def _quietly(self, request: Awaitable[Any]) -> None:
        try:
            await request
        except AriError as exc:
            log.info("voicemail: %s", exc)

    def _drop(self, job: LeaveMessage) -> None:
        self.by_channel.pop(job.channel_id, None)
        if job.recording:
            self.by_recording.pop(job.recording, None)
