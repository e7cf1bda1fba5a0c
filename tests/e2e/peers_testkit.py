"""Real peers for the journeys: smpp34's SMSC (an independent SMPP server library) in this
event loop, and aiosmtpd's SMTP server as a child process writing to a Maildir.

The SMSC keeps every submit_sm; `Smsc.messages()` joins concatenated parts (UDH) back into
the texts a handset would show, so a test counts messages, not segments."""

from __future__ import annotations

import asyncio
import mailbox
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from email.message import Message as Mail
from pathlib import Path
from typing import Any

import httpx
import pytest
import smpp34

from comms.app import create_app
from comms.hub import Hub
from hubtest import PYTHON, RecordingDispatcher, all_modules, make_settings
from messages_testkit import settle

# The number the tenant's customers (and staff) text; routed to the tenant in its settings.
INBOUND_NUMBER = "10690002"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Sms:
    """One message as the handset shows it (its parts joined)."""

    to: str
    text: str


# GSM 03.38 default alphabet and its escape table, one septet per byte (SMPP sends GSM 7-bit
# unpacked), written out here so the peer does not decode with the hub's own code.
GSM7 = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXT = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~"}
GSM7_EXT |= {0x3E: "]", 0x40: "|", 0x65: "€"}


def _text(data_coding: int, raw: bytes) -> str:
    """UCS-2 (data_coding 8) or unpacked GSM 7-bit (0), as the hub sends."""
    if data_coding == 8:
        return raw.decode("utf-16-be")
    out, escaped = [], False
    for b in raw:
        if escaped:
            out.append(GSM7_EXT.get(b, "?"))
            escaped = False
        elif b == 0x1B:
            escaped = True
        else:
            out.append(GSM7[b])
    return "".join(out)


class Smsc:
    """smpp34's server: accepts each submit_sm with a decimal id and keeps the events."""

    def __init__(self) -> None:
        self.port = free_port()
        self.server = smpp34.Server("127.0.0.1", self.port, system_id="TESTSMSC")
        self.submits: list[Any] = []
        self.esme: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.server.start()
        self._task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        while True:
            ev = await self.server.next()
            if isinstance(ev, smpp34.Esme):
                self.esme = ev
            elif not isinstance(ev, smpp34.Unbound):
                self.submits.append(ev)
                ev.accept(str(7000 + len(self.submits)))

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self.server.stop()

    def messages(self) -> list[Sms]:
        """Whole messages in submission order; parts of one message share a UDH reference."""
        whole: list[Sms] = []
        groups: dict[tuple[str, int, int], dict[int, str]] = {}
        for ev in self.submits:
            to = "+" + ev.destination_addr.lstrip("+")
            raw = bytes(ev.short_message)
            if not ev.esm_class & 0x40:
                whole.append(Sms(to, _text(ev.data_coding, raw)))
                continue
            udh, body = raw[1 : 1 + raw[0]], raw[1 + raw[0] :]
            iei, ref, total, seq = udh[0], udh[2], udh[3], udh[4]
            if iei == 0x08:  # 16-bit reference
                ref, total, seq = (udh[2] << 8) | udh[3], udh[4], udh[5]
            parts = groups.setdefault((to, ref, total), {})
            parts[seq] = _text(ev.data_coding, body)
            if len(parts) == total:
                whole.append(Sms(to, "".join(parts[i] for i in sorted(parts))))
                del groups[(to, ref, total)]
        return whole

    def to(self, number: str) -> list[Sms]:
        return [m for m in self.messages() if m.to == number]

    async def mo(self, sender: str, text: str, to: str = INBOUND_NUMBER) -> int:
        """A handset's SMS to the hub (deliver_sm, MO); returns the hub's command_status."""
        assert self.esme is not None, "the hub has not bound yet"
        resp = await self.esme.deliver_sm(
            to,
            text.encode("ascii"),
            source_addr=sender.lstrip("+"),
            source_addr_ton=1,
            dest_addr_ton=0,
        )
        return int(resp.command_status)


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port, maildir = free_port(), tmp_path / "maildir"
    argv = ["-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox", str(maildir)]
    proc = subprocess.Popen(
        [PYTHON, "-m", "aiosmtpd", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "no SMTP server"
                time.sleep(0.05)
        yield port, maildir
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
async def smsc() -> AsyncIterator[Smsc]:
    s = Smsc()
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def peer_hub(
    database_url: str, tmp_path: Path, smsc: Smsc, smtp_server: tuple[int, Path]
) -> AsyncIterator[Hub]:
    """Every installed package; SMS over SMPP to `smsc`, email over SMTP to `smtp_server`."""
    settings = make_settings(
        database_url,
        tmp_path,
        sms_provider="smpp",
        smpp_url=f"smpp://esme:secret@127.0.0.1:{smsc.port}?source_addr=HUITONG"
        "&enquire_link=5&response_timeout=2&connect_timeout=2&bind_wait=2",
        smtp_url=f"smtp://127.0.0.1:{smtp_server[0]}",
    )
    hub = Hub(settings, all_modules(), dispatcher=RecordingDispatcher())
    yield hub
    await hub.stop()


@pytest.fixture
async def api(peer_hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(hub=peer_hub, start_services=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub"
    ) as c:
        yield c


def mails(maildir: Path) -> list[Mail]:
    return list(mailbox.Maildir(maildir, create=True))


def mails_to(maildir: Path, address: str) -> list[Mail]:
    return [m for m in mails(maildir) if m["To"] == address]


def body_of(mail: Mail) -> str:
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


async def until(hub: Hub, check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Run the bus and the sender until `check()` holds (peers answer asynchronously)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await settle(hub)
        await asyncio.sleep(0.02)


async def quiet(hub: Hub) -> None:
    """Let anything still in flight reach the peers before counting "exactly one": settle,
    give the SMTP child and the SMSC a moment, settle again."""
    await settle(hub)
    await asyncio.sleep(0.3)
    await settle(hub)
