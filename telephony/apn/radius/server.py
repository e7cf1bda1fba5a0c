"""The RADIUS server: UDP listeners, packet checks, replies, counters.

pyrad does the wire format (decoding, authenticators, Message-Authenticator); this module
decides what to do with a datagram. A packet we cannot trust -- unknown NAS, bad
authenticator, malformed -- is dropped without a reply (RFC 2865 §3: silently discarded) and
counted; nothing a client sends may take the server down.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast

from pyrad.packet import AccessReject, AccessRequest, AccountingRequest, AcctPacket, AuthPacket

from comms.db.engine import Database
from telephony.apn.crypto import SecretBox
from telephony.apn.radius import accounting
from telephony.apn.radius.auth import Decision, NeedsLease, decide, lease
from telephony.apn.radius.dictionary import dictionary
from telephony.apn.radius.directory import Directory, DirectoryLoader, NasEntry
from telephony.apn.radius.pool import PoolAllocator
from telephony.settings import TelephonySettings

log = logging.getLogger(__name__)


@dataclass
class Stats:
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    accounted: int = 0
    ignored: int = 0  # acknowledged, nothing to record (unknown device, Accounting-Failed, ...)
    dropped: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "accounted": self.accounted,
            "ignored": self.ignored,
            "dropped": dict(self.dropped),
        }


class _Listener(asyncio.DatagramProtocol):
    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        assert self.transport is not None
        self.handle(data, addr, self.transport)

    def error_received(self, exc: Exception) -> None:
        log.warning("UDP error: %s", exc)


def _factory(handler: Any) -> Any:
    return lambda: _Listener(handler)


class RadiusServer:
    def __init__(self, db: Database, box: SecretBox, settings: TelephonySettings) -> None:
        self.db = db
        self.box = box
        self.settings = settings
        self.directory = Directory()
        self.loader = DirectoryLoader(db, box, self.directory)
        self.pool = PoolAllocator(db, settings.radius_lease_grace)
        self.stats = Stats()
        self.auth_port = 0
        self.acct_port = 0
        self._transports: list[asyncio.DatagramTransport] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._poller: asyncio.Task[None] | None = None
        self._acct_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.dict = dictionary()

    async def start(
        self, host: str | None = None, auth_port: int | None = None, acct_port: int | None = None
    ) -> None:
        """Load the directory and leases, then listen (port 0 picks a free port)."""
        s = self.settings
        await self.loader.load_all()
        await self.pool.load()
        loop = asyncio.get_running_loop()
        bind = host or s.radius_host
        for port, handler, attr in (
            (s.radius_auth_port if auth_port is None else auth_port, self._on_auth, "auth_port"),
            (s.radius_acct_port if acct_port is None else acct_port, self._on_acct, "acct_port"),
        ):
            transport, _ = await loop.create_datagram_endpoint(
                _factory(handler), local_addr=(bind, port)
            )
            self._transports.append(transport)
            setattr(self, attr, transport.get_extra_info("sockname")[1])
        self._poller = asyncio.create_task(self._poll_forever(), name="apn-directory-poll")
        log.info("RADIUS listening on %s auth %d acct %d", bind, self.auth_port, self.acct_port)

    async def stop(self) -> None:
        for t in self._transports:
            t.close()
        self._transports.clear()
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        await self.pool.close()

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.radius_poll_interval)
            try:
                await self.loader.poll()
            except Exception:
                log.exception("directory refresh failed; keeping the last copy")

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _nas(self, addr: tuple[str, int]) -> NasEntry | None:
        nas = self.directory.nas_for(addr[0])
        if nas is None:
            self.stats.dropped["unknown_nas"] += 1
            log.warning("dropped packet from unknown NAS %s", addr[0])
        return nas

    # ------------------------------------------------------------ authentication

    def _on_auth(self, data: bytes, addr: tuple[str, int], tr: asyncio.DatagramTransport) -> None:
        self.stats.received += 1
        nas = self._nas(addr)
        if nas is None:
            return
        try:
            pkt = AuthPacket(secret=nas.secret, dict=self.dict, packet=data)
        except Exception:
            self.stats.dropped["malformed"] += 1
            return
        if pkt.code != AccessRequest:
            self.stats.dropped["wrong_code"] += 1
            return
        # Message-Authenticator (RFC 3579 §3.2): HMAC-MD5 over the whole packet keyed with
        # the shared secret -- the only proof an Access-Request knows the secret, since its
        # Request Authenticator is random. Required or not, a wrong one is dropped.
        if pkt.message_authenticator:
            if not pkt.verify_message_authenticator():
                self.stats.dropped["bad_authenticator"] += 1
                log.warning("dropped Access-Request from %s: bad Message-Authenticator", addr[0])
                return
        elif self.settings.radius_require_message_authenticator:
            self.stats.dropped["no_message_authenticator"] += 1
            return
        try:
            outcome = decide(self.directory, self.box, nas, pkt)
        except Exception as exc:
            self.stats.dropped["malformed"] += 1
            log.warning("dropped Access-Request from %s: %s", addr[0], exc)
            return
        if isinstance(outcome, NeedsLease):
            self._spawn(self._lease_then_reply(outcome, pkt, addr, tr))
        else:
            self._reply_auth(outcome, pkt, addr, tr)

    async def _lease_then_reply(
        self, need: NeedsLease, pkt: AuthPacket, addr: tuple[str, int], tr: Any
    ) -> None:
        try:
            decision = await lease(self.pool, need)
        except Exception:
            log.exception("lease failed; no reply, the NAS will retry")
            self.stats.dropped["internal_error"] += 1
            return
        self._reply_auth(decision, pkt, addr, tr)

    def _reply_auth(
        self, decision: Decision, pkt: AuthPacket, addr: tuple[str, int], tr: Any
    ) -> None:
        reply = pkt.CreateReply()  # signed with a Message-Authenticator (BlastRADIUS)
        if decision.accept:
            self.stats.accepted += 1
            reply["Service-Type"] = 2  # Framed-User
            reply["Framed-Protocol"] = 7  # GPRS-PDP-Context (RFC 2865 value 7)
            if decision.address:
                reply["Framed-IP-Address"] = decision.address
        else:
            self.stats.rejected += 1
            reply.code = AccessReject
            log.info("Access-Reject for %s: %s", addr[0], decision.reason)
        tr.sendto(reply.ReplyPacket(), addr)

    # ------------------------------------------------------------ accounting

    def _on_acct(self, data: bytes, addr: tuple[str, int], tr: asyncio.DatagramTransport) -> None:
        self.stats.received += 1
        nas = self._nas(addr)
        if nas is None:
            return
        try:
            pkt = AcctPacket(secret=nas.secret, dict=self.dict, packet=data)
            if pkt.code != AccountingRequest:
                self.stats.dropped["wrong_code"] += 1
                return
            # Unlike Access-Request, the Accounting Request Authenticator is
            # MD5(code+id+length+16 zero octets+attributes+secret) (RFC 2866 §3): a wrong
            # secret or a tampered packet shows here.
            if not pkt.VerifyAcctRequest():
                self.stats.dropped["bad_authenticator"] += 1
                log.warning("dropped Accounting-Request from %s: bad authenticator", addr[0])
                return
            rec = accounting.parse(self.directory, nas, pkt)
        except Exception as exc:
            self.stats.dropped["malformed"] += 1
            log.warning("dropped Accounting-Request from %s: %s", addr[0], exc)
            return
        self._spawn(self._account(nas, pkt, rec, addr, tr))

    async def _account(
        self,
        nas: NasEntry,
        pkt: AcctPacket,
        rec: accounting.Parsed,
        addr: tuple[str, int],
        tr: Any,
    ) -> None:
        key = (nas.address, rec.lock_key)
        lock = self._acct_locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                released = await accounting.apply(self.db, nas, rec)
        except Exception:
            # No Accounting-Response: the NAS retransmits and we try again (RFC 2866 §2).
            log.exception("accounting from %s not recorded", addr[0])
            self.stats.dropped["internal_error"] += 1
            return
        finally:
            if len(self._acct_locks) > 4096:  # forget idle per-session locks now and then
                self._acct_locks = {k: v for k, v in self._acct_locks.items() if v.locked()}
        for apn_id, device_id in released:
            self.pool.forget(apn_id, device_id)
        if rec.record is None and rec.nas_reset is None:
            self.stats.ignored += 1
        else:
            self.stats.accounted += 1
        tr.sendto(pkt.CreateReply().ReplyPacket(), addr)
