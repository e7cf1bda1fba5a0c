"""ARI callbacks that run a published IVR flow on a call to one of the tenant's DIDs.

Each call gets one task that performs the interpreter's steps; ARI events for the channel are
fed to it through a queue, so the flow reads as a sequence (play, wait, collect...) while the
client's per-channel lane stays free. DTMF pressed during a prompt stops the prompt (barge-in),
as callers expect from carrier IVRs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from comms.db.base import utcnow
from comms.db.engine import Database
from comms.db.tenancy import scoped_to, unscoped
from comms.queries import Queries
from comms.tenants.models import Tenant
from telephony.ari import AriClient, AriError
from telephony.ivr import service
from telephony.ivr.engine import AskFn, CallContext, FlowError, LookupFn, Runner, Step
from telephony.ivr.flow import FlowDocument
from telephony.ivr.models import Entry, VersionStatus
from telephony.ivr.twiml import TEXT_PREFIX
from telephony.vpmn import service as vpmn
from telephony.vpmn.models import Disposition
from telephony.vpmn.resolve import to_e164
from telephony.vpmn.schemas import CdrIn

log = logging.getLogger(__name__)
HANGUP_EVENTS = frozenset({"StasisEnd", "ChannelDestroyed", "ChannelHangupRequest"})

# Hands a routed call on: (tenant, channel, caller, dialled) -> the member/external flow.
RouteFn = Callable[[uuid.UUID, str, str, str, str], Awaitable[object]]
# (tenant, channel, caller, queue name, endpoint, priority): the call centre takes the caller.
EnqueueFn = Callable[[uuid.UUID, str, str, str, str, int], Awaitable[object]]


@dataclass(frozen=True)
class _Published:
    tenant_id: uuid.UUID
    zone: ZoneInfo
    flow: FlowDocument


@dataclass
class IvrSession:
    tenant_id: uuid.UUID
    channel_id: str
    endpoint: str
    runner: Runner
    ctx: CallContext
    events: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    playbacks: int = 0
    trail: list[str] = field(default_factory=list)  # nodes visited, for logs and tests
    did: str = ""
    started_at: datetime = field(default_factory=utcnow)
    answered_at: datetime | None = None
    routed: bool = False  # handed to the member flow, which writes the call's own CDR

    def playback_id(self) -> str:
        self.playbacks += 1
        return f"ivr-{self.channel_id}-{self.playbacks}"


class IvrCalls:
    def __init__(
        self,
        ari: AriClient,
        db: Database,
        route: RouteFn,
        *,
        lookup: LookupFn | None = None,
        queries: Queries | None = None,
        cache_seconds: float = 5.0,
        enqueue: EnqueueFn | None = None,
    ) -> None:
        self.ari = ari
        self.enqueue = enqueue
        # A newly published version reaches new calls within this many seconds.
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, asyncio.Future[_Published | None]]] = {}
        self.db = db
        self.route = route
        self.lookup = lookup
        self.queries = queries
        self.sessions: dict[str, IvrSession] = {}
        self.finished: dict[str, list[str]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def _published(self, did: str) -> _Published | None:
        """The flow behind a DID, cached briefly: the hot path of every call set-up.

        Concurrent calls to a cold DID share one database read (a burst of calls would
        otherwise queue for SQLite's single writer lock behind each other).
        """
        now = time.monotonic()
        cached = self._cache.get(did)
        if cached is not None and cached[0] > now:
            return await asyncio.shield(cached[1])
        loading: asyncio.Future[_Published | None] = asyncio.ensure_future(self._load(did))
        self._cache[did] = (now + self.cache_seconds, loading)
        try:
            return await asyncio.shield(loading)
        except Exception:
            self._cache.pop(did, None)
            raise

    async def _load(self, did: str) -> _Published | None:
        async with self.db.session() as s:
            unscoped(s)
            entry = await s.scalar(select(Entry).where(Entry.did == did))
            if entry is None:
                return None
            tenant = await s.get(Tenant, entry.tenant_id)
            scoped_to(s, entry.tenant_id)
            version = await service.version_with(s, entry.flow_id, VersionStatus.PUBLISHED)
            if version is None or tenant is None:
                return None
            flow = FlowDocument.model_validate(version.document)
            return _Published(entry.tenant_id, ZoneInfo(tenant.timezone), flow)

    async def try_start(self, event: dict[str, Any], tenant_hint: uuid.UUID | None) -> bool:
        """Start the flow if the dialled number is an entry DID; False lets others handle it."""
        channel = event["channel"]
        did = to_e164(channel["dialplan"]["exten"])
        if did is None:
            return False
        published = await self._published(did)
        if published is None or (tenant_hint is not None and published.tenant_id != tenant_hint):
            return False
        session = IvrSession(
            did=did,
            tenant_id=published.tenant_id,
            channel_id=channel["id"],
            endpoint=channel["name"],
            runner=Runner(published.flow, lookup=self.lookup, ask=self._asker(published.tenant_id)),
            ctx=CallContext(
                caller=channel["caller"]["number"],
                local_now=utcnow().astimezone(published.zone),
            ),
        )
        self.sessions[session.channel_id] = session
        task = asyncio.create_task(self._run(session), name=f"ivr-{session.channel_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    def _asker(self, tenant_id: uuid.UUID) -> AskFn | None:
        """Named queries (lookup nodes, segment conditions) asked for this call's tenant."""
        queries = self.queries
        if queries is None:
            return None

        async def ask(name: str, args: Mapping[str, str]) -> Any:
            async with self.db.session() as s:
                scoped_to(s, tenant_id)
                return await queries.ask(s, name, args)

        return ask

    async def on_event(self, event: dict[str, Any]) -> None:
        """Feed channel events to the session that waits for them."""
        channel = event.get("channel") or {}
        target = str((event.get("playback") or event.get("recording") or {}).get("target_uri", ""))
        channel_id = channel.get("id") or target.removeprefix("channel:")
        session = self.sessions.get(channel_id)
        if session is not None:
            session.events.put_nowait(event)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------ the flow

    async def _run(self, session: IvrSession) -> None:
        disposition: Disposition | None = None
        try:
            await self.ari.channels.answer(session.channel_id)
            session.answered_at = utcnow()
            await self._walk(session)
            disposition = Disposition.ANSWERED  # the flow itself ended the call
        except _CallerGone:
            disposition = Disposition.ABANDONED
        except (AriError, FlowError) as exc:
            # A 404 because the caller just hung up is an abandoned call, not a failure.
            disposition = Disposition.ABANDONED if _hung_up(session) else Disposition.FAILED
            if disposition is Disposition.FAILED:
                log.warning("IVR on %s stopped: %s", session.channel_id, exc)
                with contextlib.suppress(AriError):
                    await self.ari.channels.hangup(session.channel_id)
        finally:
            self.sessions.pop(session.channel_id, None)
            self.finished[session.channel_id] = session.trail
        if not session.routed:
            await self._record_cdr(session, disposition)

    async def _record_cdr(self, session: IvrSession, disposition: Disposition) -> None:
        """IVR-only calls (hung up in a menu, voicemail, hangup node) leave a CDR too."""
        try:
            async with self.db.session() as s:
                scoped_to(s, session.tenant_id)
                await vpmn.record_cdr(
                    s,
                    session.tenant_id,
                    CdrIn(
                        call_ref=f"ivr:{session.channel_id}",
                        caller=session.ctx.caller,
                        callee=session.did,
                        started_at=session.started_at,
                        # CDRs count talk time only for calls the flow served to the end;
                        # an abandoned call's seconds in a menu are not billable.
                        answered_at=session.answered_at
                        if disposition is Disposition.ANSWERED
                        else None,
                        ended_at=utcnow(),
                        disposition=disposition,
                    ),
                )
        except Exception:  # a lost CDR is logged loudly but never breaks the next call
            log.exception("IVR call %s: CDR not written", session.channel_id)

    async def _walk(self, session: IvrSession) -> None:
        runner, ctx = session.runner, session.ctx
        step = await runner.enter(runner.flow.start, ctx)
        attempt = 1
        while True:
            session.trail.append(step.node)
            if step.kind == "play":
                await self._play(session, step.media)
                step, attempt = await runner.enter(step.next or "", ctx), 1
            elif step.kind == "collect":
                digits = await self._collect(session, step)
                nxt, retry = runner.after_input(step.node, digits, attempt, ctx)
                attempt = attempt + 1 if nxt == step.node else 1
                step = await runner.enter(nxt, ctx, retry=retry)
            elif step.kind == "route":
                await self._route(session, step)
                return
            elif step.kind == "voicemail":
                await self._voicemail(session, step)
                return
            else:
                await self.ari.channels.hangup(session.channel_id, "normal")
                return

    async def _next_event(self, session: IvrSession, wait: float | None = None) -> dict[str, Any]:
        event = await asyncio.wait_for(session.events.get(), wait)
        if event["type"] in HANGUP_EVENTS:
            raise _CallerGone
        return event

    async def _play(
        self, session: IvrSession, media: tuple[str, ...], *, barge: bool = False
    ) -> str:
        """Play prompts in order; with ``barge`` the first key stops them and is returned."""
        for m in media:
            if m.startswith(TEXT_PREFIX):
                # Asterisk has no text-to-speech here: spoken prompts are a Twilio feature.
                log.warning("IVR on %s: skipping text prompt %r on ARI", session.channel_id, m)
                continue
            pid = session.playback_id()
            await self.ari.channels.play(session.channel_id, m, playback_id=pid)
            while True:
                event = await self._next_event(session)
                if event["type"] == "PlaybackFinished" and event["playback"]["id"] == pid:
                    break
                if barge and event["type"] == "ChannelDtmfReceived":
                    with contextlib.suppress(AriError):
                        await self.ari.playbacks.stop(pid)
                    return str(event["digit"])
        return ""

    async def _collect(self, session: IvrSession, step: Step) -> str | None:
        digits = await self._play(session, step.media, barge=True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + step.timeout
        while len(digits) < step.max_digits and not (
            step.terminator and digits.endswith(step.terminator)
        ):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                event = await self._next_event(session, remaining)
            except TimeoutError:
                break
            if event["type"] == "ChannelDtmfReceived":
                digits += str(event["digit"])
                # Each key restarts the inter-digit timer, as Asterisk's Read() does.
                deadline = loop.time() + step.timeout
        return digits or None

    async def _route(self, session: IvrSession, step: Step) -> None:
        target = step.target
        if target is not None and target.kind == "queue" and self.enqueue is not None:
            # The call centre takes the channel; a flow variable "priority" (set from a menu
            # choice) moves the caller ahead in the queue.
            self.sessions.pop(session.channel_id, None)
            priority = session.ctx.variables.get("priority", "0")
            await self.enqueue(
                session.tenant_id,
                session.channel_id,
                session.ctx.caller,
                target.value,
                session.endpoint,
                int(priority) if priority.lstrip("-").isdigit() else 0,
            )
            return
        if target is None or target.kind == "queue":
            # No call centre in this process: say so and release.
            await self._play(session, ("sound:all-circuits-busy-now",))
            await self.ari.channels.hangup(session.channel_id, "normal")
            return
        # The member/external flow takes the channel from here (its own ringback and CDR).
        session.routed = True
        self.sessions.pop(session.channel_id, None)
        await self.route(
            session.tenant_id,
            session.channel_id,
            session.ctx.caller,
            target.value,
            session.endpoint,
        )

    async def _voicemail(self, session: IvrSession, step: Step) -> None:
        await self._play(session, step.media)
        name = f"voicemail/{step.mailbox}/{uuid.uuid4().hex}"
        await self.ari.channels.record(
            session.channel_id,
            name,
            "wav",
            max_duration_seconds=120,
            max_silence_seconds=10,
            beep=True,
            terminate_on="#",
        )
        while True:
            event = await self._next_event(session)
            if event["type"] in ("RecordingFinished", "RecordingFailed"):
                break
        session.ctx.variables["recording"] = name
        await self.ari.channels.hangup(session.channel_id, "normal")


def _hung_up(session: IvrSession) -> bool:
    queued = list(session.events._queue)  # type: ignore[attr-defined]
    return any(e.get("type") in HANGUP_EVENTS for e in queued)


class _CallerGone(Exception):
    """The caller hung up: the flow stops where it is."""
