"""ARI callbacks of conferences: answered dial-out legs, PIN entry, joining, leaving, retries.

Telephony facts this follows:
- A leg originated with app=huitong enters Stasis only when answered (StasisStart); before
  that the app still gets its Dial and ChannelDestroyed events (busy cause 17, no answer 19).
- Muting is per channel, direction "in": the room stops hearing the participant while they
  still hear the room.
- The mixing bridge outlives its channels until destroyed, so a late joiner finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from comms.bus import publish
from comms.db.base import utcnow
from comms.db.engine import Database
from comms.db.tenancy import scoped_to, unscoped
from telephony.ari import AriClient, AriError
from telephony.conference import service
from telephony.conference.dialing import LegId, originate
from telephony.conference.events import ParticipantFailed, ParticipantJoined, ParticipantLeft
from telephony.conference.models import (
    Conference,
    ConferenceState,
    Participant,
    ParticipantState,
    Role,
    Room,
)
from telephony.vpmn import service as vpmn
from telephony.vpmn.models import Disposition
from telephony.vpmn.schemas import CdrIn

log = logging.getLogger(__name__)
BUSY = 17
INTRO = "sound:conf-placeintoconf"
GET_PIN = "sound:conf-getpin"
BAD_PIN = "sound:conf-invalidpin"
GOODBYE = "sound:vm-goodbye"
LOCKED = "sound:conf-locked"
JOIN_TONE = "tone:beep"
LEAVE_TONE = "tone:beep"
PIN_TRIES = 3


@dataclass
class Leg:
    """A conference channel this process is driving."""

    tenant_id: uuid.UUID
    participant_id: uuid.UUID
    channel_id: str
    digits: str = ""
    pending_playback: str | None = None
    then: str = ""  # what follows pending_playback: "join", "pin", "hangup"
    gone: bool = False
    seq: int = field(default=0)

    def playback_id(self, what: str) -> str:
        self.seq += 1
        return f"{self.channel_id}-{what}-{self.seq}"


class ConferenceFlows:
    """Drives conference legs; dial-out retries wait ``retry_delay`` seconds between rounds."""

    def __init__(
        self, ari: AriClient, db: Database, *, max_attempts: int = 2, retry_delay: float = 30.0
    ) -> None:
        self.ari = ari
        self.db = db
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.legs: dict[str, Leg] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def session(self, tenant_id: uuid.UUID) -> Any:
        s = self.db.sessionmaker()
        scoped_to(s, tenant_id)
        return s

    # ------------------------------------------------------------------ arrivals

    async def try_dial_in(self, event: dict[str, Any], tenant_id: uuid.UUID | None) -> bool:
        """A call to a room's number or DID: answer and ask for the PIN."""
        if tenant_id is None:
            return False
        channel = event["channel"]
        async with self.session(tenant_id) as s:
            room = await service.room_for_dialled(s, channel["dialplan"]["exten"])
            if room is None:
                return False
            conf = await service.open_conference(s, room)
            p = Participant(
                tenant_id=tenant_id,
                conference_id=conf.id,
                number=channel["caller"]["number"],
                name=channel["caller"].get("name", ""),
                role=Role.PARTICIPANT,
                state=ParticipantState.PIN,
                channel_id=channel["id"],
            )
            s.add(p)
            await s.commit()
            locked = conf.locked
        leg = Leg(tenant_id, p.id, channel["id"])
        self.legs[leg.channel_id] = leg
        await self._quietly(self.ari.channels.answer(leg.channel_id))
        if locked:
            await self._play(leg, LOCKED, "hangup")
        else:
            await self._play(leg, GET_PIN, "pin")
        return True

    async def on_stasis_start(self, event: dict[str, Any]) -> bool:
        """A dial-out leg answered: play the intro, then join."""
        channel_id = event["channel"]["id"]
        ref = LegId.parse(channel_id)
        if ref is None:
            return False
        leg = Leg(ref.tenant_id, ref.participant_id, channel_id)
        self.legs[channel_id] = leg
        async with self.session(ref.tenant_id) as s:
            p = await s.get(Participant, ref.participant_id)
            conf = await s.get(Conference, p.conference_id) if p else None
            if p is None or conf is None or conf.state is ConferenceState.ENDED:
                await self._hangup(leg)
                return True
            p.channel_id = channel_id
            await s.commit()
        await self._play(leg, INTRO, "join")
        return True

    # ------------------------------------------------------------------ media and keys

    async def on_playback_finished(self, event: dict[str, Any]) -> None:
        playback = event["playback"]
        channel_id = str(playback.get("target_uri", "")).removeprefix("channel:")
        leg = self.legs.get(channel_id)
        if leg is None or playback["id"] != leg.pending_playback or leg.gone:
            return
        leg.pending_playback = None
        if leg.then == "join":
            await self._join(leg)
        elif leg.then == "hangup":
            await self._hangup(leg)

    async def on_dtmf(self, event: dict[str, Any]) -> None:
        leg = self.legs.get(event["channel"]["id"])
        if leg is None or leg.then != "pin" or leg.gone:
            return
        digit = event["digit"]
        if digit != "#":
            leg.digits += digit
            return
        entered, leg.digits = leg.digits, ""
        async with self.session(leg.tenant_id) as s:
            p = await s.get(Participant, leg.participant_id)
            conf = await s.get(Conference, p.conference_id) if p else None
            room = await s.get(Room, conf.room_id) if conf and conf.room_id else None
            if p is None or conf is None or room is None:
                return
            if entered == room.moderator_pin:
                p.role = Role.MODERATOR
            elif entered != room.participant_pin:
                p.pin_tries += 1
                failed = p.pin_tries >= PIN_TRIES
                if failed:
                    p.state = ParticipantState.FAILED
                    p.left_at = utcnow()
                await s.commit()
                if failed:
                    await self._play(leg, f"{BAD_PIN},{GOODBYE}", "hangup")
                else:
                    await self._play(leg, f"{BAD_PIN},{GET_PIN}", "pin")
                return
            count = len(
                [q for q in await service.participants(s, conf.id) if q.state in service.IN_CALL]
            )
            full = count >= room.max_participants
            await s.commit()
        if full:
            await self._play(leg, GOODBYE, "hangup")
            return
        await self._play(leg, INTRO, "join")

    async def _join(self, leg: Leg) -> None:
        """Into the bridge, or music until a moderator comes; the first moderator starts it."""
        now = utcnow()
        async with self.session(leg.tenant_id) as s:
            p = await s.get(Participant, leg.participant_id)
            assert p is not None
            # Row lock: a guest joining while the first moderator starts the room must see
            # either WAITING (and be moved in by the moderator) or ACTIVE, never miss both.
            conf = await s.get(Conference, p.conference_id, with_for_update=True)
            assert conf is not None
            start = conf.state is ConferenceState.WAITING and p.role is Role.MODERATOR
            waiters: list[str] = []
            if start:
                conf.state = ConferenceState.ACTIVE
                for q in await service.participants(s, conf.id):
                    if q.state is ParticipantState.WAITING and q.channel_id:
                        q.state = ParticipantState.JOINED
                        waiters.append(q.channel_id)
                        joined = ParticipantJoined(**service.facts(q, now))
                        publish(s, ParticipantJoined.topic, joined)
            wait = conf.state is ConferenceState.WAITING
            p.state = ParticipantState.WAITING if wait else ParticipantState.JOINED
            p.joined_at = now
            publish(s, ParticipantJoined.topic, ParticipantJoined(**service.facts(p, now)))
            bridge_id = conf.bridge_id
            room = await s.get(Room, conf.room_id) if conf.room_id else None
            if start:
                # The bridge exists before the lock is released: a guest let in next adds
                # their channel to it straight away.
                await self._quietly(self.ari.bridges.create("mixing", bridge_id=bridge_id))
            await s.commit()
            if start and room is not None and room.record:
                conf.recording = await service.start_recording(self.ari, conf)
                await s.commit()
        leg.then = ""
        if wait:
            await self._quietly(self.ari.channels.start_moh(leg.channel_id))
            return
        if start:
            for waiter in waiters:
                await self._quietly(self.ari.channels.stop_moh(waiter))
        await self._quietly(self.ari.bridges.add_channel(bridge_id, [*waiters, leg.channel_id]))
        await self._quietly(self.ari.bridges.play(bridge_id, JOIN_TONE))

    # ------------------------------------------------------------------ departures

    async def on_hangup_request(self, event: dict[str, Any]) -> None:
        leg = self.legs.get(event["channel"]["id"])
        if leg is not None:
            leg.gone = True

    async def on_channel_destroyed(self, event: dict[str, Any]) -> None:
        channel_id = event["channel"]["id"]
        leg = self.legs.pop(channel_id, None)
        cause = event.get("cause")
        if leg is not None:
            await self._gone(leg.tenant_id, leg.participant_id, cause, answered=True)
            return
        ref = LegId.parse(channel_id)
        if ref is not None:
            # A dial-out leg this process never saw answer (or saw before a restart).
            await self._gone(ref.tenant_id, ref.participant_id, cause, answered=False)
        # Any other channel is not a conference's: dial-in legs from before this process
        # started were adopted by reconcile, so every other call's hang-up costs no query.

    async def reconcile(self, alive: set[str]) -> int:
        """After a (re)connect: participants whose channel vanished have left; the others'
        channels are adopted, so their later hang-up is recognised without a query."""
        async with self.db.session() as s:
            unscoped(s)
            rows = (
                await s.execute(
                    select(Participant.tenant_id, Participant.id, Participant.channel_id).where(
                        Participant.state.in_((ParticipantState.PIN, *service.IN_CALL)),
                        Participant.channel_id.is_not(None),
                    )
                )
            ).all()
        gone = [(t, p) for t, p, ch in rows if ch not in alive]
        for t, p, ch in rows:
            if ch is not None and ch in alive and ch not in self.legs:
                self.legs[ch] = Leg(t, p, ch)
        for tenant_id, pid in gone:
            await self._gone(tenant_id, pid, None, answered=True)
        return len(gone)

    async def _gone(
        self, tenant_id: uuid.UUID, pid: uuid.UUID, cause: Any, *, answered: bool
    ) -> None:
        async with self.session(tenant_id) as s:
            p = await s.get(Participant, pid)
            if p is None:
                return
            conf = await s.get(Conference, p.conference_id)
            assert conf is not None
            if p.state is ParticipantState.DIALING and not answered:
                await self._not_reached(s, conf, p, cause)
                return
            await self._left(s, conf, p, cause)

    async def _not_reached(self, s: Any, conf: Conference, p: Participant, cause: Any) -> None:
        now = utcnow()
        p.last_cause = cause
        await self._cdr(s, conf, p, answered=False, busy=cause == BUSY, now=now)
        retry = conf.state is not ConferenceState.ENDED
        if retry and p.step + 1 < len(p.targets):
            p.step += 1  # desk did not answer: the mobile
            delay = 0.0
        elif retry and p.attempt < self.max_attempts:
            p.attempt += 1
            p.step = 0
            delay = self.retry_delay
        else:
            p.state = ParticipantState.FAILED
            reason = "busy" if cause == BUSY else "no answer"
            publish(
                s,
                ParticipantFailed.topic,
                ParticipantFailed(**service.facts(p, now), reason=reason),
            )
            await s.commit()
            return
        await s.commit()
        task = asyncio.get_running_loop().create_task(
            self._redial(p.tenant_id, p.id, conf.organiser or "Huitong", delay)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _redial(
        self, tenant_id: uuid.UUID, participant_id: uuid.UUID, caller_id: str, delay: float
    ) -> None:
        await asyncio.sleep(delay)
        async with self.session(tenant_id) as s:
            p = await s.get(Participant, participant_id)
            conf = await s.get(Conference, p.conference_id) if p else None
            if p is None or conf is None or conf.state is ConferenceState.ENDED:
                return
            try:
                p.channel_id = await originate(self.ari, p, caller_id)
            except AriError as exc:
                log.warning("conference %s: redial %s failed: %s", conf.id, p.number, exc)
                p.state = ParticipantState.FAILED
            await s.commit()

    async def _left(self, s: Any, conf: Conference, p: Participant, cause: Any) -> None:
        now = utcnow()
        was_in = p.state in service.IN_CALL
        if p.state in service.LIVE:
            p.state = ParticipantState.LEFT if was_in else ParticipantState.FAILED
            p.left_at = now
        if was_in:
            publish(
                s,
                ParticipantLeft.topic,
                ParticipantLeft(**service.facts(p, now), reason="hung up"),
            )
            await self._cdr(s, conf, p, answered=True, busy=False, now=now)
        remaining = [q for q in await service.participants(s, conf.id) if q.state in service.LIVE]
        last = conf.state is not ConferenceState.ENDED and not remaining
        if last:
            service.mark_ended(s, conf, "everyone left")
        await s.commit()
        if last:
            await self._quietly(self.ari.bridges.destroy(conf.bridge_id))
        elif was_in and conf.state is ConferenceState.ACTIVE:
            await self._quietly(self.ari.bridges.play(conf.bridge_id, LEAVE_TONE))

    async def _cdr(
        self, s: Any, conf: Conference, p: Participant, *, answered: bool, busy: bool, now: Any
    ) -> None:
        """Each leg is a call on the CDR: dial-out billed to the organiser, dial-in inbound."""
        room = await s.get(Room, conf.room_id) if conf.room_id else None
        if p.dial_out:
            caller, callee = conf.organiser or (room.number if room else "conference"), p.number
            ref = f"conf-{p.id.hex}-{p.attempt}-{p.step}"
        else:
            caller, callee = p.number, room.number if room else "conference"
            ref = f"conf-{p.id.hex}"
        started = p.joined_at if answered and p.joined_at else p.created_at
        disposition = (
            Disposition.ANSWERED
            if answered
            else Disposition.BUSY
            if busy
            else Disposition.NO_ANSWER
        )
        await vpmn.record_cdr(
            s,
            p.tenant_id,
            CdrIn(
                call_ref=ref,
                caller=caller,
                callee=callee,
                started_at=min(started, now),
                answered_at=min(started, now) if answered else None,
                ended_at=now,
                disposition=disposition,
            ),
            commit=False,
        )

    # ------------------------------------------------------------------ helpers

    async def _play(self, leg: Leg, media: str, then: str) -> None:
        leg.pending_playback = leg.playback_id(then)
        leg.then = then
        await self._quietly(
            self.ari.channels.play(
                leg.channel_id, media.split(","), playback_id=leg.pending_playback
            )
        )

    async def _hangup(self, leg: Leg) -> None:
        await self._quietly(self.ari.channels.hangup(leg.channel_id, "normal"))

    async def _quietly(self, request: Awaitable[Any]) -> None:
        try:
            await request
        except AriError as exc:
            log.info("conference: %s", exc)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
