"""One rule end to end against real peers: smpp34's SMSC takes the SMS and reports it
undelivered, and the notice falls back to email into aiosmtpd's server (a child process)."""

from __future__ import annotations

import asyncio
import mailbox
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import smpp34

from comms.app import create_app
from comms.hub import Hub
from hubtest import PYTHON, RecordingDispatcher, TenantCtx, all_modules, make_settings, make_tenant
from messages_testkit import settle
from notif_testkit import FAKE_ERP, add_rule, attempts, fire, make_user, notices, stock_low

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    settings = make_settings(
        database_url,
        tmp_path,
        sms_provider="smpp",
        smpp_url=f"smpp://esme:secret@127.0.0.1:{smsc.port}?source_addr=HUITONG"
        "&enquire_link=5&response_timeout=2&connect_timeout=2&bind_wait=2",
        smtp_url=f"smtp://127.0.0.1:{smtp_server[0]}",
    )
    hub = Hub(settings, [*all_modules(), FAKE_ERP], dispatcher=RecordingDispatcher())
    yield hub
    await hub.stop()


async def until(hub: Hub, check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Run the bus and the sender until `check()` holds (receipts arrive asynchronously)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await settle(hub)
        await asyncio.sleep(0.02)


async def test_undelivered_sms_at_a_real_smsc_falls_back_to_one_real_email(
    peer_hub: Hub, smsc: Smsc, smtp_server: tuple[int, Path]
) -> None:
    _, maildir = smtp_server
    hub = peer_hub
    tenant: TenantCtx = await make_tenant(hub, "acme")
    app = create_app(hub=hub, start_services=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub"
    ) as c:
        manager = await make_user(c, tenant, mobile="+8613800138009")
        await add_rule(
            c,
            tenant,
            recipients=[{"kind": "payload_user", "value": "manager_id"}],
            channels=["sms", "email"],
        )
    await fire(hub, tenant, stock_low(manager_id=manager["id"], summary="库存低: M3"))
    await until(hub, lambda: len(smsc.submits) == 1)
    assert smsc.submits[0].destination_addr.lstrip("+") == "8613800138009"

    def mails() -> list[Any]:
        return list(mailbox.Maildir(maildir, create=True))

    receipt = await smsc.esme.deliver_sm(
        "8613800138009",
        b"id:7001 sub:001 dlvrd:000 submit date:2401011200 done date:2401011201 "
        b"stat:UNDELIV err:001 text:x",
        esm_class=0x04,
    )
    assert receipt.command_status == 0
    await until(hub, lambda: len(mails()) == 1)
    await settle(hub)
    await asyncio.sleep(0.2)
    await settle(hub)

    assert len(smsc.submits) == 1
    [mail] = mails()
    assert mail["To"] == manager["email"]
    assert "库存低: M3" in mail.get_payload(decode=True).decode()
    [n] = await notices(hub)
    tried = await attempts(hub, n.id)
    assert [(a.channel, a.status) for a in tried] == [("sms", "undelivered"), ("email", "sent")]
    assert n.status == "sent"
