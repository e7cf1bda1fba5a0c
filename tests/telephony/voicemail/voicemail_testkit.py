"""Voicemail test data built through the real services, and a real SMTP server process."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from comms.auth.principal import Principal
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import PYTHON
from telephony.vpmn import service as vpmn
from telephony.vpmn.models import Member
from telephony.vpmn.schemas import MemberIn, PlanIn

ZHANG_DESK = "PJSIP/zhang-desk"
ZHANG_MOBILE = "PJSIP/+8613912345678@carrier"
CUSTOMER = "+8613700000000"


async def setup_zhang(hub: Hub, tenant_id: uuid.UUID) -> Member:
    """Plan 4 digits (6/8); 张伟 6001, desk then mobile."""
    actor = Principal.system(tenant_id)
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        await vpmn.set_plan(s, actor, PlanIn(short_length=4, prefixes=["6", "8"]))
        return await vpmn.create_member(
            s,
            actor,
            MemberIn(
                name="张伟",
                department="Sales",
                short_number="6001",
                mobile="+8613912345678",
                desk_endpoint=ZHANG_DESK,
                desk_timeout=15,
                mobile_timeout=20,
            ),
        )


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_smtp(port: int, maildir: Path) -> subprocess.Popen[bytes]:
    """aiosmtpd's own server as a separate process storing mail in a Maildir."""
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(maildir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("smtp server exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise AssertionError("smtp server did not listen")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stderr:
        proc.stderr.close()
