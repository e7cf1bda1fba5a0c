"""Simulated playbacks and recordings, following Asterisk's res_stasis_playback/recording."""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from typing import Any

from telephony.ari.sim_core import SimCore
from telephony.ari.sim_state import RECORDING_FORMATS, SimHttpError, SimPlayback, SimRecording

MEDIA_SCHEMES = ("sound:", "recording:", "number:", "digits:", "characters:", "tone:")
# Playback state -> event type (res_stasis_playback.c playback_to_json); "queued" and
# "paused" produce no event at all.
PLAYBACK_EVENTS = {
    "playing": "PlaybackStarted",
    "continuing": "PlaybackContinuing",
    "done": "PlaybackFinished",
    "failed": "PlaybackFinished",
}
ACTIVE_PLAYBACK_STATES = frozenset({"playing", "continuing", "paused"})


class SimMedia(SimCore):
    """Playbacks queue per target (channel or bridge) and play one after another, as in Asterisk."""

    def __init__(
        self,
        *,
        app: str = "huitong",
        asterisk_id: str = "02:42:ac:11:00:02",
        default_media_duration: float = 0.03,
        time_scale: float = 1.0,
    ) -> None:
        super().__init__(
            app=app,
            asterisk_id=asterisk_id,
            default_media_duration=default_media_duration,
            time_scale=time_scale,
        )
        self._play_queues: dict[str, deque[SimPlayback]] = {}
        self._play_runners: dict[str, asyncio.Task[Any]] = {}

    # ----------------------------------------------------------------- playbacks

    def start_playback(
        self, target_uri: str, app: str, medias: list[str], language: str, playback_id: str | None
    ) -> dict[str, Any]:
        """Queue a playback on a target and return its (queued) snapshot."""
        if playback_id and playback_id in self.playbacks:
            raise SimHttpError(409, "Playback with that id already exists")
        pb = SimPlayback(
            id=playback_id or str(uuid.uuid4()),
            medias=medias,
            target_uri=target_uri,
            app=app,
            language=language,
        )
        self.playbacks[pb.id] = pb
        self._play_queues.setdefault(target_uri, deque()).append(pb)
        if target_uri not in self._play_runners:
            self._play_runners[target_uri] = self._spawn(self._run_playbacks(target_uri))
        return pb.snapshot()

    def stop_playback(self, playback_id: str) -> None:
        """DELETE /playbacks/{id}: stop if playing, cancel if still queued."""
        pb = self.get_playback(playback_id)
        if pb.state in ("done", "failed"):
            return
        pb.stop_requested = True
        pb.wake.set()

    def control_playback(self, playback_id: str, operation: str) -> None:
        """POST /playbacks/{id}/control, with Asterisk's per-state operation table."""
        pb = self.get_playback(playback_id)
        allowed = {
            "queued": {"restart"},
            "playing": {"restart", "pause", "unpause", "reverse", "forward"},
            "continuing": {"restart", "pause", "unpause", "reverse", "forward"},
            "paused": {"pause", "unpause"},
        }.get(pb.state, set())
        if operation not in allowed:
            raise SimHttpError(409, "Can not perform operation in the current state")
        if pb.state == "queued":
            return
        if operation == "pause" and not pb.paused:
            pb.paused, pb.state = True, "paused"
        elif operation == "unpause" and pb.paused:
            pb.paused, pb.state = False, "playing"
        elif operation == "restart":
            pb.restart_requested = True
        pb.wake.set()

    def _emit_playback(self, pb: SimPlayback) -> None:
        event_type = PLAYBACK_EVENTS.get(pb.state)
        app = self._target_app(pb.target_uri)
        if event_type and app:
            self._emit(event_type, app, playback=pb.snapshot())

    async def _run_playbacks(self, target_uri: str) -> None:
        queue = self._play_queues[target_uri]
        try:
            while queue:
                pb = queue[0]
                await self._play_one(pb)
                queue.popleft()
                self.playbacks.pop(pb.id, None)
        finally:
            if self._play_runners.get(target_uri) is asyncio.current_task():
                del self._play_runners[target_uri]
                self._play_queues.pop(target_uri, None)

    async def _play_one(self, pb: SimPlayback) -> None:
        if pb.stop_requested:
            # Cancelled while queued: Asterisk reports it "done" without ever starting it.
            pb.state = "done"
            self._emit_playback(pb)
            return
        pb.started = True
        for index, media in enumerate(pb.medias):
            last = index == len(pb.medias) - 1
            pb.index, pb.state = index, "playing"
            self._emit_playback(pb)
            # Asterisk cannot open a recording: that is not stored, so that media fails.
            missing = (
                media.startswith("recording:")
                and media.removeprefix("recording:") not in self.stored_recordings
            )
            if missing or media in self.failing_media or not media.startswith(MEDIA_SCHEMES):
                pb.state = "failed" if last else "continuing"
                self._emit_playback(pb)
                continue
            await self._play_media(pb, self.media_durations.get(media, self.default_media_duration))
            if pb.stop_requested:
                pb.state = "done"
                self._emit_playback(pb)
                return
            pb.state = "done" if last else "continuing"
            self._emit_playback(pb)

    async def _play_media(self, pb: SimPlayback, duration: float) -> None:
        loop = asyncio.get_running_loop()
        remaining = duration
        while not pb.stop_requested:
            pb.wake.clear()
            if pb.paused:
                await pb.wake.wait()
                continue
            started = loop.time()
            try:
                await asyncio.wait_for(pb.wake.wait(), remaining)
            except TimeoutError:
                return
            remaining -= loop.time() - started
            if pb.restart_requested:
                pb.restart_requested, remaining = False, duration

    def _finish_playbacks(self, target_uri: str) -> None:
        """The target went away (hangup, bridge destroyed): end its playbacks now."""
        runner = self._play_runners.pop(target_uri, None)
        if runner is not None:
            runner.cancel()
        for pb in self._play_queues.pop(target_uri, deque()):
            self.playbacks.pop(pb.id, None)
            # On hangup the current media ends "done"; queued ones never start, so no event.
            if pb.started and pb.state in ACTIVE_PLAYBACK_STATES:
                pb.state = "done"
                self._emit_playback(pb)

    # ----------------------------------------------------------------- recordings

    def start_recording(
        self,
        target_uri: str,
        app: str,
        name: str,
        fmt: str,
        *,
        max_duration: int | None = None,
        if_exists: str | None = None,
        terminate_on: str | None = None,
    ) -> dict[str, Any]:
        """Start a live recording and return its (queued) snapshot."""
        if fmt not in RECORDING_FORMATS:
            raise SimHttpError(422, f"Unknown recording format {fmt!r}")
        if name in self.live_recordings:
            raise SimHttpError(409, "Recording with the same name already in progress")
        if name in self.stored_recordings and (if_exists or "fail") == "fail":
            raise SimHttpError(409, "Recording already exists")
        loop = asyncio.get_running_loop()
        rec = SimRecording(
            name=name,
            format=fmt,
            target_uri=target_uri,
            app=app,
            started_at=loop.time(),
            terminate_on=terminate_on or "none",
        )
        self.live_recordings[name] = rec
        snapshot = rec.snapshot()
        loop.call_soon(self._recording_started, rec)
        if max_duration:
            rec.timer = loop.call_later(self.scaled(max_duration), self.finish_recording, name)
        return snapshot

    def _recording_started(self, rec: SimRecording) -> None:
        if rec.state == "queued" and self.live_recordings.get(rec.name) is rec:
            rec.state = "recording"
            self._emit_recording(rec, "RecordingStarted")

    def _emit_recording(self, rec: SimRecording, event_type: str) -> None:
        app = self._target_app(rec.target_uri)
        if app:
            self._emit(event_type, app, recording=rec.snapshot())

    def live_recording(self, name: str) -> SimRecording:
        """A live recording or 404."""
        rec = self.live_recordings.get(name)
        if rec is None:
            raise SimHttpError(404, "Recording not found")
        return rec

    def finish_recording(self, name: str, state: str = "done") -> None:
        """Stop (state "done", kept) or cancel (state "canceled", discarded) a recording."""
        rec = self.live_recordings.pop(name, None)
        if rec is None:
            return
        if rec.timer is not None:
            rec.timer.cancel()
        elapsed = asyncio.get_running_loop().time() - rec.started_at
        rec.duration = int(elapsed / self.time_scale) if self.time_scale else 0
        rec.state = state
        self._emit_recording(rec, "RecordingFinished")
        if state == "done":
            self.stored_recordings[name] = rec.format
            self.stored_durations[name] = rec.duration

    def _finish_recordings(self, target_uri: str, digit: str | None = None) -> None:
        """End the target's recordings: all of them, or those a DTMF digit terminates."""
        for rec in [r for r in self.live_recordings.values() if r.target_uri == target_uri]:
            if digit is None or rec.terminate_on in ("any", digit):
                self.finish_recording(rec.name)
