"""ARI callbacks of a member listening to their mailbox by phone: PIN, then 5/6/7 per message.

Keys follow Asterisk's own VoiceMail() habits so members need not learn new ones: 5 replays,
6 skips to the next message, 7 deletes and moves on, 9 records a new greeting (ended by #);
the PIN ends with #, three tries. Messages play oldest first from the ARI stored recording
(``recording:<name>``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from comms.auth.principal import Principal
from comms.db.engine import Database
from comms.db.tenancy import scoped_to
from telephony.ari import AriClient, AriError
from telephony.voicemail import service
from telephony.voicemail.models import Greeting, Mailbox, VoicemailMessage
from telephony.vpmn import service as vpmn

log = logging.getLogger(__name__)
ASK_PIN = "sound:vm-password"
BAD_PIN = "sound:vm-incorrect"
NO_MAILBOX = "sound:vm-incorrect-mailbox"
GOODBYE = "sound:vm-goodbye"
NO_MORE = "sound:vm-nomore"
OPTIONS = "sound:vm-msginstruct"
SAVED = "sound:vm-msgsaved"
PIN_TRIES = 3
GREETING_MAX_SECONDS = 60


@dataclass
class Listener:
    tenant_id: uuid.UUID
    channel_id: str
    mailbox_id: uuid.UUID
    digits: str = ""
    tries: int = 0
    authed: bool = False
    queue: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    current: int = 0
    playback: str | None = None
    then: str = ""
    seq: int = 0
    greeting: str | None = None  # the stored recording being made by key 9

    def next_playback(self, then: str) -> str:
        self.seq += 1
        self.then = then
        self.playback = f"{self.channel_id}-vm-{self.seq}"
        return self.playback


class MailboxMenu:
    """Members dialling ``number`` from their own phone hear their messages."""

    def __init__(self, ari: AriClient, db: Database, number: str) -> None:
        self.ari = ari
        self.db = db
        self.number = number
        self.listeners: dict[str, Listener] = {}
        self.by_greeting: dict[str, Listener] = {}

    def session(self, tenant_id: uuid.UUID) -> Any:
        s = self.db.sessionmaker()
        scoped_to(s, tenant_id)
        return s

    async def try_start(self, event: dict[str, Any], tenant_id: uuid.UUID | None) -> bool:
        channel = event["channel"]
        if tenant_id is None or channel["dialplan"]["exten"] != self.number:
            return False
        caller = channel["caller"]["number"]
        async with self.session(tenant_id) as s:
            res = await vpmn.resolve_dial(s, caller=caller, dialled=caller)
            box = None
            if res.caller_member is not None:
                box = await s.scalar(
                    select(Mailbox).where(Mailbox.member_id == res.caller_member.id)
                )
        await self._quietly(self.ari.channels.answer(channel["id"]))
        if box is None:
            # Only a member's own phone opens a mailbox: the caller id is the first factor.
            temp = Listener(tenant_id, channel["id"], uuid.uuid4())
            self.listeners[temp.channel_id] = temp
            await self._play(temp, [NO_MAILBOX, GOODBYE], "hangup")
            return True
        who = Listener(tenant_id, channel["id"], box.id)
        self.listeners[who.channel_id] = who
        await self._play(who, [ASK_PIN], "pin")
        return True

    async def on_dtmf(self, event: dict[str, Any]) -> None:
        who = self.listeners.get(event["channel"]["id"])
        if who is None:
            return
        digit = event["digit"]
        if not who.authed:
            if who.then != "pin":
                return
            if digit != "#":
                who.digits += digit
                return
            await self._check_pin(who)
            return
        if digit == "9" and who.then in ("menu", "first", "hangup"):
            await self._stop(who)
            await self._record_greeting(who)
            return
        if who.then != "menu" or not who.queue:
            return
        if digit == "5":
            await self._stop(who)
            await self._play_current(who)
        elif digit == "6":
            await self._stop(who)
            who.current += 1
            await self._play_current(who)
        elif digit == "7":
            await self._stop(who)
            await self._delete_current(who)
            await self._play_current(who)

    async def _check_pin(self, who: Listener) -> None:
        entered, who.digits = who.digits, ""
        async with self.session(who.tenant_id) as s:
            box = await s.get(Mailbox, who.mailbox_id)
            ok = box is not None and service.check_pin(box.pin_hash, entered)
            if ok:
                rows = await s.execute(
                    select(VoicemailMessage.id, VoicemailMessage.recording)
                    .where(VoicemailMessage.mailbox_id == who.mailbox_id)
                    .order_by(VoicemailMessage.recorded_at)
                )
                who.queue = [(r[0], r[1]) for r in rows]
        if not ok:
            who.tries += 1
            if who.tries >= PIN_TRIES:
                await self._play(who, [BAD_PIN, GOODBYE], "hangup")
            else:
                await self._play(who, [BAD_PIN, ASK_PIN], "pin")
            return
        who.authed = True
        count = len(who.queue)
        intro = ["sound:vm-youhave", f"number:{count}", "sound:vm-messages"]
        if not count:
            await self._play(who, [*intro, GOODBYE], "hangup")
            return
        who.then = "menu"
        await self._play(who, intro, "first")

    async def _play_current(self, who: Listener) -> None:
        if who.current >= len(who.queue):
            await self._play(who, [NO_MORE, GOODBYE], "hangup")
            return
        message_id, recording = who.queue[who.current]
        await self._play(who, [f"recording:{recording}", OPTIONS], "menu")
        async with self.session(who.tenant_id) as s:
            await service.mark_heard(s, message_id)

    async def _delete_current(self, who: Listener) -> None:
        message_id, recording = who.queue.pop(who.current)
        async with self.session(who.tenant_id) as s:
            await service.delete_message(s, Principal.system(who.tenant_id), message_id)
        await self._quietly(self.ari.recordings.delete_stored(recording))

    async def _record_greeting(self, who: Listener) -> None:
        # One stored recording per mailbox, overwritten by each new greeting, so nothing is
        # left behind in Asterisk's recordings directory.
        who.then = "record"
        who.greeting = f"greeting-{who.mailbox_id.hex}"
        self.by_greeting[who.greeting] = who
        await self._quietly(
            self.ari.channels.record(
                who.channel_id,
                who.greeting,
                "wav",
                max_duration_seconds=GREETING_MAX_SECONDS,
                max_silence_seconds=5,
                beep=True,
                terminate_on="#",
                if_exists="overwrite",
            )
        )

    async def on_recording_finished(self, event: dict[str, Any]) -> None:
        """A new greeting is kept only when the recording ended well; then back to the menu."""
        rec = event["recording"]
        who = self.by_greeting.pop(rec["name"], None)
        if who is None or who.channel_id not in self.listeners:
            return
        who.greeting = None
        if event["type"] == "RecordingFinished" and rec.get("state") == "done":
            async with self.session(who.tenant_id) as s:
                box = await s.get(Mailbox, who.mailbox_id)
                if box is not None:
                    box.greeting = Greeting.RECORDED
                    box.greeting_recording = rec["name"]
                    await s.commit()
            await self._play(who, [SAVED], "first")
        else:
            log.info("voicemail greeting recording %s failed: %s", rec["name"], rec.get("cause"))
            await self._play(who, [OPTIONS], "first")

    async def on_playback_finished(self, event: dict[str, Any]) -> None:
        playback = event["playback"]
        channel_id = str(playback.get("target_uri", "")).removeprefix("channel:")
        who = self.listeners.get(channel_id)
        if who is None or playback["id"] != who.playback:
            return  # a playback we stopped for a key press
        if who.then == "hangup":
            await self._quietly(self.ari.channels.hangup(channel_id, "normal"))
        elif who.then == "first":
            await self._play_current(who)

    async def on_channel_destroyed(self, event: dict[str, Any]) -> None:
        who = self.listeners.pop(event["channel"]["id"], None)
        if who is not None and who.greeting:
            self.by_greeting.pop(who.greeting, None)

    async def _play(self, who: Listener, media: list[str], then: str) -> None:
        playback_id = who.next_playback(then)
        await self._quietly(self.ari.channels.play(who.channel_id, media, playback_id=playback_id))

    async def _stop(self, who: Listener) -> None:
        if who.playback:
            await self._quietly(self.ari.playbacks.stop(who.playback))
            who.playback = None

    async def _quietly(self, request: Awaitable[Any]) -> None:
        try:
            await request
        except AriError as exc:
            log.info("voicemail menu: %s", exc)
