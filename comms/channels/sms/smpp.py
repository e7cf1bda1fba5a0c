"""SMPP 3.4 SMS provider: one transceiver bind to an SMSC, windowed and rate-capped submits.

Library choice. The PDUs we send are encoded by aiosmpplib (maintained, pure Python, asyncio);
the session logic is ours. aiosmpplib's own ESME does not fit this adapter: it takes messages
through its broker queue and reports results through hooks and a correlator keyed by its own
log ids, so a caller cannot await "this message's submit_sm_resp"; it re-splits UDHI messages
with its own segmentation instead of the encoding module's parts; it has no window (no limit on
outstanding submit_sm), does not re-send what was in flight when the link dropped, and its
receive-side parsers refuse vendor command_status codes and lose the raw bytes that multipart
MO reassembly needs (see smpp_pdu). smpp34 (Rust core) is a capable client too, but it
acknowledges deliver_sm itself, so a receipt the sink failed to store could not be refused for
redelivery, and our tests use smpp34's *server* as the independent SMSC: a client on the same
codec would share its bugs instead of exposing them.

What this adapter does (the messaging service owns records, roll-up, retries and quotas):
- start(): bind_transceiver, enquire_link keep-alive, reconnect with jittered exponential
  backoff while running; submit() waits at most `bind_wait` for a bound link, else raises a
  transient SubmitError so the message stays queued.
- submit(): all segments from encoding.build_parts, each a submit_sm under a window shared by
  all callers and a token bucket (PDUs or messages per second). A segment in flight when the
  link drops is sent again on the next bind (at-least-once); the result comes only when every
  segment has its submit_sm_resp. Statuses map per smpp_status (throttle / transient /
  permanent); throttling also slows the bucket down.
- deliver_sm: receipts (smpp_receipts) and MO (smpp_inbound) go to the sink, a multipart MO
  part by part (the sink keeps the parts durably until the message is whole); the
  deliver_sm_resp is ESME_RX_T_APPN when the sink raised, so the SMSC redelivers.
Message ids, from submit_sm_resp and receipts alike, are normalised per SMSC (smpp_ids).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from comms.channels.sms import smpp_pdu as pdu
from comms.channels.sms.encoding import EmptyMessageError, Part, SegmentLimitError, build_parts
from comms.channels.sms.provider import OutboundSms, SmsSink, SubmitError, SubmitResult
from comms.channels.sms.smpp_config import SmppConfig
from comms.channels.sms.smpp_flow import TokenBucket, backoff_delay
from comms.channels.sms.smpp_ids import IdFormat, IdNormaliser
from comms.channels.sms.smpp_inbound import (
    decode_text,
    fragment_of,
    inbound_message,
    inbound_part,
)
from comms.channels.sms.smpp_pdu import Address, Cmd, PduError
from comms.channels.sms.smpp_receipts import is_receipt, parse_receipt
from comms.channels.sms.smpp_session import BindError, LinkLost, Session
from comms.channels.sms.smpp_status import (
    ESME_RSYSERR,
    ESME_RX_P_APPN,
    StatusClass,
    classify,
    submit_error,
)

__all__ = ["IdFormat", "SmppConfig", "SmppProvider"]

log = logging.getLogger(__name__)


class SmppProvider:
    """SmsProvider over one SMPP 3.4 transceiver bind (see the module docstring)."""

    def __init__(self, config: SmppConfig) -> None:
        self.config = config
        self.name = config.name
        self.ids = IdNormaliser(config.id_format)
        self.binds = 0  # successful binds so far: 1 + reconnects
        self._sink: SmsSink | None = None
        self._session: Session | None = None
        self._stopping = True
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._setup_flow()

    def _setup_flow(self) -> None:
        # asyncio primitives belong to the loop that first waits on them: made anew per start().
        self.bucket = TokenBucket(self.config.tps, self.config.bucket_size)
        self._window = asyncio.Semaphore(self.config.window)
        self._changed = asyncio.Event()  # set and replaced whenever the link goes up or down

    @property
    def bound(self) -> bool:
        return self._session is not None and self._session.is_open

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle

    async def start(self, sink: SmsSink) -> None:
        """Begin binding (in the background) and wait up to bind_wait for the first bind."""
        self._sink = sink
        loop = asyncio.get_running_loop()
        if self._tasks and self._loop is loop:
            return  # already running
        # Tasks from another loop (a forked worker inherits the parent's object): abandon them;
        # the inherited socket belongs to the parent.
        self._tasks, self._session, self._loop = [], None, loop
        self._stopping = False
        self._setup_flow()
        changed = self._changed
        self._tasks = [
            asyncio.create_task(self._run(), name="smpp-connect"),
        ]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.config.bind_wait):
                await changed.wait()
        if not self.bound:
            log.warning("SMPP %s not bound yet; retrying in the background", self._where)

    async def stop(self) -> None:
        """Unbind politely (bounded wait), then stop reconnecting."""
        self._stopping = True
        session = self._session
        if session is not None:
            await session.unbind(min(2.0, self.config.response_timeout))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if session is not None:
            await session.close()
        self._session = None
        self._notify()

    @property
    def _where(self) -> str:
        return self.config.redacted_url()  # never the password

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        attempt = 0
        while not self._stopping:
            try:
                session = await Session.open(self.config, self._on_deliver, self._link_down)
            except (OSError, TimeoutError, PduError, asyncio.IncompleteReadError) as exc:
                # BindError is a ConnectionError, hence an OSError: wrong credentials also
                # back off rather than hammer the SMSC (and lock the account).
                kind = "bind refused" if isinstance(exc, BindError) else "connect failed"
                log.warning("SMPP %s %s: %s", self._where, kind, exc)
            except Exception:  # a bug must not end reconnecting for good
                log.exception("SMPP %s connect failed unexpectedly", self._where)
            else:
                bound_at = loop.time()
                self._session, self.binds = session, self.binds + 1
                log.info("SMPP bound to %s as transceiver", self._where)
                self._notify()
                await session.closed.wait()
                await session.close()
                if self._stopping:
                    return
                if loop.time() - bound_at >= self.config.reconnect_max:
                    attempt = 0  # a bind that drops at once must not reset the backoff
                log.warning(
                    "SMPP link to %s down (%s); reconnecting", self._where, session.close_reason
                )
            delay = backoff_delay(attempt, self.config.reconnect_min, self.config.reconnect_max)
            attempt += 1
            await asyncio.sleep(delay)

    def _link_down(self, session: Session) -> None:
        if self._session is session:
            self._session = None
            self._notify()

    # ------------------------------------------------------------------ submit

    async def submit(self, sms: OutboundSms) -> SubmitResult:
        """Send every segment; raises SubmitError / Throttled (see smpp_status for the table)."""
        if self._stopping:
            raise SubmitError(
                "SMPP_NOT_STARTED", "the SMPP provider is not running", permanent=False
            )
        try:
            parts = build_parts(sms.text, sms.reference)
            source, dest = self._source(sms.sender), self._dest(sms.to)
        except (EmptyMessageError, SegmentLimitError, ValueError) as exc:
            raise SubmitError("SMPP_BAD_MESSAGE", str(exc), permanent=True) from exc
        await self._wait_bound()  # fail fast while the link is down
        if self.config.tps_unit == "message":
            await self._take_token()
        registered = 1 if sms.want_receipt else 0
        if len(parts) == 1:  # most SMS: no task and gather for one segment
            ids = [await self._submit_part(parts[0], source, dest, registered)]
            return SubmitResult(provider_message_ids=ids, segments=1)
        tasks = [
            asyncio.ensure_future(self._submit_part(part, source, dest, registered))
            for part in parts
        ]
        try:
            ids = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        log.debug("SMPP submitted %s as %s", sms.message_id, ids)
        return SubmitResult(provider_message_ids=ids, segments=len(parts))

    def _source(self, sender: str | None) -> Address:
        cfg = self.config
        number = sender or cfg.source_addr
        if not sender and cfg.source_ton is not None and cfg.source_npi is not None:
            return Address(number, cfg.source_ton, cfg.source_npi)
        if number.startswith("+"):
            return Address(number[1:], 1, 1)
        if number and not number.isdigit():
            return Address(number, 5, 0)  # alphanumeric sender id
        return Address(number, 0, 1)

    def _dest(self, to: str) -> Address:
        if to.startswith("+"):
            return Address(to[1:], self.config.dest_ton, self.config.dest_npi)
        return Address(to, 0, self.config.dest_npi)

    async def _wait_bound(self) -> Session:
        session = self._session
        if session is not None and session.is_open and not self._stopping:
            return session  # the usual case: no timer to arm
        try:
            async with asyncio.timeout(self.config.bind_wait):
                while not self._stopping:
                    session = self._session
                    if session is not None and session.is_open:
                        return session
                    await self._changed.wait()
        except TimeoutError:
            pass
        raise SubmitError("SMPP_NOT_BOUND", f"no bound SMPP link to {self._where}", permanent=False)

    async def _take_token(self) -> None:
        if self.bucket.try_take():
            return  # under the cap: no timer to arm for every PDU
        try:
            async with asyncio.timeout(self.config.queue_timeout):
                await self.bucket.take()
        except TimeoutError:
            raise SubmitError(
                "SMPP_QUEUE_TIMEOUT", "throughput cap wait too long", permanent=False
            ) from None

    async def _submit_part(self, part: Part, source: Address, dest: Address, reg: int) -> str:
        cfg = self.config
        try:
            if self._window.locked():  # the window is full: wait, but not for ever
                async with asyncio.timeout(cfg.queue_timeout):
                    await self._window.acquire()
            else:
                await self._window.acquire()
        except TimeoutError:
            raise SubmitError(
                "SMPP_QUEUE_TIMEOUT", "window wait too long", permanent=False
            ) from None
        try:
            resent = 0
            while True:
                session = await self._wait_bound()
                if cfg.tps_unit == "pdu":
                    await self._take_token()
                try:
                    header, body = await session.request(
                        lambda seq: pdu.submit_sm(
                            seq,
                            source,
                            dest,
                            part,
                            registered_delivery=reg,
                            service_type=cfg.service_type,
                        ),
                        cfg.response_timeout,
                    )
                except LinkLost as exc:
                    resent += exc.sent
                    if self._stopping or resent > cfg.resubmit_attempts:
                        raise SubmitError("SMPP_LINK_LOST", str(exc), permanent=False) from exc
                    log.info("SMPP link dropped with submit_sm in flight; sending it again")
                    continue
                except TimeoutError:
                    raise SubmitError(
                        "SMPP_TIMEOUT", "no submit_sm_resp in time", permanent=False
                    ) from None
                except ValueError as exc:  # the codec refused a field (address too long...)
                    raise SubmitError("SMPP_BAD_MESSAGE", str(exc), permanent=True) from exc
                status = header.status
                if header.command_id == Cmd.GENERIC_NACK:
                    status = status or ESME_RSYSERR
                if status == 0:
                    return self.ids.from_submit(pdu.message_id(body))
                if classify(status, cfg.status_overrides) is StatusClass.THROTTLE:
                    self.bucket.slow_down(
                        cfg.throttle_backoff, cfg.throttle_factor, cfg.throttle_cooldown
                    )
                raise submit_error(status, cfg.status_overrides, retry_after=cfg.throttle_backoff)
        finally:
            self._window.release()

    # ------------------------------------------------------------------ deliver_sm

    async def _on_deliver(self, body: bytes) -> int:
        """Handle one deliver_sm; the return value is the deliver_sm_resp command_status."""
        sink = self._sink
        assert sink is not None  # sessions only exist after start(sink)
        try:  # parsing only: a sink error must end in "try again", not in "refused"
            message = pdu.parse_deliver_sm(body)
            frag = None if is_receipt(message) else fragment_of(message)
            report = parse_receipt(message, self.name, self.ids) if frag is None else None
        except (PduError, ValueError) as exc:
            log.warning("SMPP deliver_sm unusable (%s); refused", exc)
            return ESME_RX_P_APPN
        if frag is None:  # a delivery receipt
            if report is None:
                log.warning("SMPP receipt without a message id; ignored")
            else:
                await sink.on_receipt(report)
            return 0
        if frag.total == 1:
            text = decode_text(frag.payload, message.data_coding)
            await sink.on_inbound(inbound_message(self.name, message, text))
            return 0
        # Acknowledged once stored: the sink keeps the part until the message is whole.
        await sink.on_inbound_part(inbound_part(self.name, message, frag, self.config.mo_timeout))
        return 0
