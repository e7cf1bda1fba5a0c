"""One SMPP connection: bind, sequence numbers, outstanding requests, keep-alive, unbind.

Requests are asynchronous: each gets the next sequence number and a future that the read loop
completes when the PDU with that sequence number comes back, so any number can be in flight
and responses may arrive in any order (the provider's window decides how many). When the
connection ends, every outstanding future fails with LinkLost and the provider re-sends.
deliver_sm is handed to a worker so a slow sink never stalls the responses behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from comms.channels.sms import smpp_pdu as pdu
from comms.channels.sms.smpp_config import SmppConfig
from comms.channels.sms.smpp_pdu import Cmd, Header, PduError
from comms.channels.sms.smpp_status import ESME_RX_T_APPN, status_name

log = logging.getLogger(__name__)

DeliverHandler = Callable[[bytes], Awaitable[int]]  # deliver_sm body -> command_status
MAX_SEQUENCE = 0x7FFFFFFF  # SMPP 3.4 §5.1.4: 0x00000001 - 0x7FFFFFFF, then wrap
INBOUND_QUEUE = 1024  # deliver_sm waiting for the sink; beyond it the SMSC is told to retry
DELIVER_CONCURRENCY = 256  # deliver_sm handled at once per bind


class LinkLost(ConnectionError):
    """The connection ended before a response arrived; `sent` says whether the PDU went out."""

    def __init__(self, reason: str, *, sent: bool = True) -> None:
        super().__init__(reason)
        self.sent = sent


class BindError(ConnectionError):
    """The SMSC refused bind_transceiver."""

    def __init__(self, status: int) -> None:
        super().__init__(f"bind_transceiver refused: {status_name(status)}")
        self.status = status


WRITE_HIGH_WATER = 256 * 1024  # bytes queued in the transport before a writer waits


class Session:
    """A bound transceiver connection; make one with `await Session.open(...)`."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        config: SmppConfig,
        on_deliver: DeliverHandler,
        on_close: Callable[[Session], None],
    ) -> None:
        self._reader, self._writer, self._config = reader, writer, config
        self._on_deliver, self._on_close = on_deliver, on_close
        self._seq = 0
        self._pending: dict[int, asyncio.Future[tuple[Header, bytes]]] = {}
        self._inbound: asyncio.Queue[tuple[Header, bytes]] = asyncio.Queue(INBOUND_QUEUE)
        self._write_lock = asyncio.Lock()
        self._out: list[bytes] = []  # PDUs written in this loop iteration, sent as one
        self.closed = asyncio.Event()
        self.close_reason = ""
        self._tasks = [
            asyncio.create_task(self._read_loop(), name="smpp-read"),
            asyncio.create_task(self._deliver_loop(), name="smpp-deliver"),
        ]

    @classmethod
    async def open(
        cls, config: SmppConfig, on_deliver: DeliverHandler, on_close: Callable[[Session], None]
    ) -> Session:
        """Connect and bind as a transceiver; raises OSError, TimeoutError or BindError."""
        async with asyncio.timeout(config.connect_timeout):
            reader, writer = await asyncio.open_connection(config.host, config.port)
        session = cls(reader, writer, config, on_deliver, on_close)
        try:
            header, _ = await session.request(
                lambda seq: pdu.bind_transceiver(
                    seq,
                    config.system_id,
                    config.password,
                    config.system_type,
                    0,  # addr_ton/addr_npi/address_range describe MO routing to this bind;
                    0,  # SMSCs route by their own configuration, so "unknown" is accepted
                ),
                config.connect_timeout,
            )
            if header.status != 0:
                raise BindError(header.status)
        except BaseException:
            await session.close()
            raise
        session._tasks.append(asyncio.create_task(session._keepalive(), name="smpp-keepalive"))
        return session

    @property
    def is_open(self) -> bool:
        return not self.closed.is_set()

    def _next_seq(self) -> int:
        self._seq = self._seq % MAX_SEQUENCE + 1
        return self._seq

    async def _write(self, data: bytes) -> None:
        # A window of submit_sm (or a burst of deliver_sm_resp) is written in one loop
        # iteration: coalesce them into one send() instead of a system call per PDU.
        if not self._out:
            asyncio.get_running_loop().call_soon(self._flush)
        self._out.append(data)
        if self._writer.transport.get_write_buffer_size() > WRITE_HIGH_WATER:
            async with self._write_lock:  # one drain at a time, as StreamWriter expects
                await self._writer.drain()

    def _flush(self) -> None:
        data, self._out = b"".join(self._out), []
        if data and not self._writer.transport.is_closing():
            self._writer.write(data)

    async def request(self, build: Callable[[int], bytes], wait: float) -> tuple[Header, bytes]:
        """Send the PDU `build(seq)` and wait for the response with the same sequence number."""
        if self.closed.is_set():
            raise LinkLost(self.close_reason or "not connected", sent=False)
        seq = self._next_seq()
        data = build(seq)  # ValueError from the codec propagates: nothing was sent
        future: asyncio.Future[tuple[Header, bytes]] = asyncio.get_running_loop().create_future()
        self._pending[seq] = future
        try:
            await self._write(data)
            async with asyncio.timeout(wait):
                return await future
        except ConnectionError as exc:
            if isinstance(exc, LinkLost):
                raise
            raise LinkLost(str(exc)) from exc
        finally:
            self._pending.pop(seq, None)

    async def _read_loop(self) -> None:
        reason = "closed by SMSC"
        try:
            while True:
                header, body = await pdu.read_pdu(self._reader)
                if header.is_response:  # generic_nack has the response bit too
                    future = self._pending.get(header.sequence)
                    if future is not None and not future.done():
                        future.set_result((header, body))
                    else:
                        log.debug("SMPP response for unknown sequence %d", header.sequence)
                elif header.command_id == Cmd.ENQUIRE_LINK:
                    await self._write(pdu.response(header))
                elif header.command_id == Cmd.DELIVER_SM:
                    try:
                        self._inbound.put_nowait((header, body))
                    except asyncio.QueueFull:
                        # Sink far behind: ask the SMSC to redeliver later instead of
                        # blocking the submit_sm_resps queued behind this PDU.
                        await self._write(pdu.response(header, ESME_RX_T_APPN))
                elif header.command_id == Cmd.ALERT_NOTIFICATION:
                    pass  # the one SMPP request that takes no response; we do not use it
                elif header.command_id == Cmd.UNBIND:
                    await self._write(pdu.response(header))
                    reason = "unbound by SMSC"
                    return
                else:
                    await self._write(pdu.response(header, 0x03))  # generic_nack RINVCMDID
        except asyncio.IncompleteReadError:
            reason = "connection closed by SMSC"
        except (ConnectionError, OSError) as exc:
            reason = f"connection lost: {exc!r}"
        except PduError as exc:
            reason = f"protocol error: {exc}"
        finally:
            self._mark_closed(reason)

    async def _deliver_loop(self) -> None:
        # Several deliver_sm in progress at once (SMPP answers by sequence number, in any
        # order): receipts then reach the sink together and commit in one transaction.
        slots = asyncio.Semaphore(DELIVER_CONCURRENCY)
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                header, body = await self._inbound.get()
                await slots.acquire()
                task = asyncio.create_task(self._deliver_one(header, body, slots))
                running.add(task)
                task.add_done_callback(running.discard)
        finally:
            for task in running:
                task.cancel()

    async def _deliver_one(self, header: Header, body: bytes, slots: asyncio.Semaphore) -> None:
        try:
            try:
                status = await self._on_deliver(body)
            except Exception:
                log.exception("SMPP deliver_sm handler failed; asking the SMSC to redeliver")
                status = ESME_RX_T_APPN
            if self.is_open:
                with contextlib.suppress(ConnectionError, OSError):
                    await self._write(pdu.response(header, status))
        finally:
            slots.release()

    async def _keepalive(self) -> None:
        # enquire_link on a fixed beat: it proves the SMSC (not just TCP) is alive, and keeps
        # NAT / firewall state and the SMSC's inactivity timer from dropping an idle bind.
        while True:
            await asyncio.sleep(self._config.enquire_link)
            try:
                await self.request(pdu.enquire_link, self._config.response_timeout)
            except TimeoutError:
                log.warning("SMPP enquire_link unanswered; dropping the link")
                self._mark_closed("enquire_link timed out")
                return
            except LinkLost:
                return

    def _mark_closed(self, reason: str) -> None:
        if self.closed.is_set():
            return
        self.close_reason = reason
        self.closed.set()
        self._flush()  # what was written before the close (an unbind_resp) still goes out
        self._writer.transport.abort()  # no half-open sockets: the provider reconnects
        for future in self._pending.values():
            if not future.done():
                future.set_exception(LinkLost(reason))
        self._on_close(self)

    async def unbind(self, wait: float) -> None:
        """Polite goodbye: unbind, wait (bounded) for unbind_resp or EOF, then close."""
        if self.is_open:
            with contextlib.suppress(LinkLost, TimeoutError, ConnectionError, OSError):
                # Some SMSCs close the socket instead of answering: that is fine too.
                await self.request(pdu.unbind, wait)
        await self.close("unbound")

    async def close(self, reason: str = "closed") -> None:
        """Tear down: close the socket and reap the tasks. Safe to call more than once."""
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        if not self.closed.is_set():
            self._writer.close()
        self._mark_closed(reason)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()
