"""The Stasis app: wires AriClient events to the call flows and reconciles after reconnects."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from comms.db.engine import Database
from comms.db.tenancy import unscoped
from comms.queries import Queries
from comms.settings import Settings
from telephony.ari import AriClient
from telephony.callcentre import agent_dial
from telephony.callcentre.stasis import QueueCalls
from telephony.calls import service as calls
from telephony.calls.click_stasis import CLICK_ARG, ClickToCall
from telephony.calls.models import Direction
from telephony.calls.stasis import (
    LEG_ARG,
    CallFlows,
    RingbackLookup,
    no_ringback,
    tenant_from_args,
)
from telephony.calls.state import CallState, LegState
from telephony.conference.dialing import CONF_ARG
from telephony.conference.stasis import ConferenceFlows
from telephony.ivr.engine import LookupFn
from telephony.ivr.stasis import IvrCalls
from telephony.stasis.live import LiveCalls
from telephony.voicemail.listen import MailboxMenu
from telephony.voicemail.stasis import VoicemailFlows

# Events an IVR session waits for on its channel.
IVR_EVENTS = (
    "ChannelDtmfReceived",
    "PlaybackFinished",
    "RecordingFinished",
    "RecordingFailed",
    "ChannelHangupRequest",
    "StasisEnd",
    "ChannelDestroyed",
)

log = logging.getLogger(__name__)


class StasisApp:
    """One Stasis application process's brain; everything enters through the constructor."""

    def __init__(
        self,
        ari: AriClient,
        db: Database,
        *,
        ringback: RingbackLookup = no_ringback,
        lookup: LookupFn | None = None,
        click_poll_interval: float = 0.5,
        queries: Queries | None = None,
        queue_tick: float = 1.0,
        settings: Settings | None = None,
        conference: ConferenceFlows | None = None,
        voicemail_number: str = "*98",
        voicemail_max_seconds: int = 180,
    ) -> None:
        self.ari = ari
        self.db = db
        self.live = LiveCalls()
        # Voicemail needs the messaging settings (email/SMS notices); without them unanswered
        # calls are hung up as before.
        self.voicemail = (
            VoicemailFlows(ari, db, settings, max_seconds=voicemail_max_seconds)
            if settings
            else None
        )
        self.mailbox_menu = MailboxMenu(ari, db, voicemail_number)
        self.flows = CallFlows(
            ari,
            db,
            self.live,
            ringback=ringback,
            unanswered=self.voicemail.take if self.voicemail else None,
        )
        self.click = ClickToCall(
            ari, db, poll_interval=click_poll_interval, follow=agent_dial.follow
        )
        self.queues = QueueCalls(ari, db, queries=queries, tick_seconds=queue_tick)
        self.ivr = IvrCalls(
            ari,
            db,
            self._route_from_ivr,
            lookup=lookup,
            queries=queries,
            enqueue=self._queue_from_ivr,
        )
        self.conference = conference or ConferenceFlows(ari, db)
        self.reconciled = 0
        ari.add_handler(self._on_stasis_start, "StasisStart")
        ari.add_handler(self.ivr.on_event, *IVR_EVENTS)
        ari.add_handler(self.flows.on_dial, "Dial")
        ari.add_handler(self.flows.on_playback_finished, "PlaybackFinished")
        ari.add_handler(self.flows.on_channel_destroyed, "ChannelDestroyed")
        ari.add_handler(self.click.on_dial, "Dial")
        ari.add_handler(self.click.on_playback_finished, "PlaybackFinished")
        ari.add_handler(self.click.on_channel_destroyed, "ChannelDestroyed")
        ari.add_handler(
            self.queues.on_event,
            "Dial",
            "ChannelDestroyed",
            "PlaybackFinished",
            "RecordingFinished",
        )
        if self.voicemail:
            ari.add_handler(self.voicemail.on_playback_finished, "PlaybackFinished")
            ari.add_handler(
                self.voicemail.on_recording_finished, "RecordingFinished", "RecordingFailed"
            )
            ari.add_handler(self.voicemail.on_hangup_request, "ChannelHangupRequest")
            ari.add_handler(self.voicemail.on_channel_destroyed, "ChannelDestroyed")
        menu = self.mailbox_menu
        ari.add_handler(menu.on_dtmf, "ChannelDtmfReceived")
        ari.add_handler(menu.on_playback_finished, "PlaybackFinished")
        ari.add_handler(menu.on_channel_destroyed, "ChannelDestroyed")
        ari.add_handler(menu.on_recording_finished, "RecordingFinished", "RecordingFailed")
        conf = self.conference
        ari.add_handler(conf.on_playback_finished, "PlaybackFinished")
        ari.add_handler(conf.on_dtmf, "ChannelDtmfReceived")
        ari.add_handler(conf.on_hangup_request, "ChannelHangupRequest")
        ari.add_handler(conf.on_channel_destroyed, "ChannelDestroyed")
        ari.on_connected = self.reconcile

    async def start(self) -> None:
        await self.ari.start_events()
        self.click.start()
        self.queues.start()

    async def close(self) -> None:
        """Stop IVR sessions, click-to-call placement and the queue clock (the client is closed
        by its owner)."""
        await self.click.close()
        await self.queues.close()
        await self.ivr.close()
        await self.conference.close()

    async def _on_stasis_start(self, event: dict[str, Any]) -> None:
        # An entry DID runs its IVR flow; any other number is dialled in the VPMN.
        args = [str(a) for a in event.get("args", [])]
        if args[:1] == [CONF_ARG] and await self.conference.on_stasis_start(event):
            return
        if args[:1] == [LEG_ARG]:
            return
        if args[:1] == [CLICK_ARG]:
            await self.click.on_stasis_start(event)
            return
        if await self.mailbox_menu.try_start(event, tenant_from_args(args)):
            return
        if await self.conference.try_dial_in(event, tenant_from_args(args)):
            return
        if await self.ivr.try_start(event, tenant_from_args(args)):
            return
        if await self.queues.try_start(event, tenant_from_args(args)):
            return
        await self.flows.on_stasis_start(event)

    async def _route_from_ivr(
        self, tenant_id: uuid.UUID, channel_id: str, caller: str, dialled: str, endpoint: str
    ) -> object:
        return await self.flows.start_inbound(
            tenant_id, channel_id=channel_id, caller=caller, dialled=dialled, endpoint=endpoint
        )

    async def _queue_from_ivr(
        self,
        tenant_id: uuid.UUID,
        channel_id: str,
        caller: str,
        queue: str,
        endpoint: str,
        priority: int,
    ) -> object:
        return await self.queues.enqueue(
            tenant_id,
            channel_id=channel_id,
            caller=caller,
            queue=queue,
            endpoint=endpoint,
            priority=priority,
        )

    async def reconcile(self) -> None:
        """After every (re)connect: settle calls whose channels vanished while we were away.

        Asterisk replays nothing missed during the gap and sends no new StasisStart for
        channels already in the app, so GET /channels is the only truth about what is left.
        """
        async with self.click.gate:
            await self._reconcile()
        self.reconciled += 1

    async def _reconcile(self) -> None:
        alive = {c["id"] for c in await self.ari.channels.list()}
        bridges = {b["id"] for b in await self.ari.bridges.list()}
        async with self.db.session() as s:
            unscoped(s)
            # Queued calls are the call centre's to settle (below); click-to-calls (the API's
            # and the console's agent dial-outs) stay here.
            open_calls = [c for c in await calls.open_calls(s) if c.queue is None]
            found = [(call, await calls.legs_of(s, call.id)) for call in open_calls]
        for call, legs in found:
            click = call.direction is Direction.OUTBOUND
            if click and call.state is CallState.NEW:
                continue  # a click-to-call request not placed yet: the poller's
            flows: CallFlows | ClickToCall = self.click if click else self.flows
            live = flows.adopt(call, legs)
            async with live.lock:
                if live.bridge_id and live.bridge_id not in bridges:
                    log.info("call %s: bridge %s vanished", call.id, live.bridge_id)
                gone = [
                    leg
                    for leg in legs
                    if leg.state is not LegState.GONE and leg.channel_id not in alive
                ]
                # The caller last: a vanished callee leg may still move a ringing call on.
                gone.sort(key=lambda leg: leg.channel_id == live.caller_channel)
                for leg in gone:
                    await flows.channel_gone(live, leg.channel_id, None)
                if click and not gone:
                    await self.click.catch_up(live)
        await self.queues.reconcile(alive)
        await self.conference.reconcile(alive)

    @property
    def active_calls(self) -> int:
        return len(self.live) + len(self.click.live)

    def snapshot(self) -> dict[str, Any]:
        return {"active_calls": self.active_calls, "reconciled": self.reconciled}
