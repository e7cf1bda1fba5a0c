"""Mail both ways against real SMTP peers: our transport into an aiosmtpd server process,
and a real SMTP client into `huitong smtp-in`."""

from __future__ import annotations

import asyncio
import base64
import mailbox
import smtplib
import socket
import subprocess
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from comms.channels.email.smtp import SmtpConfig, SmtpTransport
from comms.hub import Hub
from hubtest import PYTHON, TenantCtx, subprocess_env
from messages_testkit import events, settle

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read() if proc.stderr else ''!r}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listening on {port}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream:
            stream.close()


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """aiosmtpd's own server as a separate process, storing what it gets in a Maildir."""
    port, maildir = free_port(), tmp_path / "maildir"
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
    try:
        wait_port(port, proc)
        yield port, maildir
    finally:
        stop(proc)


async def test_email_goes_out_multipart_with_attachment_to_a_real_smtp_server(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, smtp_server: tuple[int, Path]
) -> None:
    port, maildir = smtp_server
    hub.services["mail.transport"] = SmtpTransport(SmtpConfig.from_url(f"smtp://127.0.0.1:{port}"))
    r = await client.post(
        "/api/v1/messages",
        headers=tenant.auth,
        json={
            "channel": "email",
            "to": "customer@example.com",
            "from": "service@acme.example.cn",
            "subject": "您的发票",
            "body": "Invoice attached.",
            "html": "<p>Invoice <b>attached</b>.</p>",
            "attachments": [
                {
                    "filename": "invoice.pdf",
                    "content_type": "application/pdf",
                    "content_base64": base64.b64encode(b"%PDF-1.4 fake").decode(),
                }
            ],
        },
    )
    assert r.status_code == 202, r.text
    await settle(hub)
    got = (await client.get(f"/api/v1/messages/{r.json()['id']}", headers=tenant.auth)).json()
    assert got["status"] == "sent" and got["provider"] == "smtp"

    stored = list(mailbox.Maildir(maildir, create=False))
    assert len(stored) == 1
    mail = stored[0]
    assert mail["Message-ID"] == got["rfc_message_id"]
    assert mail["To"] == "customer@example.com"
    assert mail.get_content_type() == "multipart/mixed"
    kinds = [p.get_content_type() for p in mail.walk()]
    assert {"multipart/alternative", "text/plain", "text/html", "application/pdf"} <= set(kinds)
    pdf = next(p for p in mail.walk() if p.get_content_type() == "application/pdf")
    assert pdf.get_filename() == "invoice.pdf"
    assert pdf.get_payload(decode=True) == b"%PDF-1.4 fake"


async def test_smtp_server_down_leaves_the_mail_queued_for_a_retry(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    hub.services["mail.transport"] = SmtpTransport(
        SmtpConfig.from_url(f"smtp://127.0.0.1:{free_port()}", timeout=2)
    )
    r = await client.post(
        "/api/v1/messages",
        headers=tenant.auth,
        json={"channel": "email", "to": "a@example.com", "subject": "s", "body": "b"},
    )
    await settle(hub)
    got = (await client.get(f"/api/v1/messages/{r.json()['id']}", headers=tenant.auth)).json()
    assert got["status"] == "queued" and got["error_code"] == "unavailable"


def send_mail(port: int, msg: EmailMessage) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        return smtp.send_message(msg)


async def test_smtp_in_threads_a_reply_into_the_conversation_by_in_reply_to(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await client.put(
        "/api/v1/messaging/settings",
        headers=tenant.auth,
        json={"inbound_email_domains": ["support.acme.cn"], "email_from": "help@support.acme.cn"},
    )
    out = await client.post(
        "/api/v1/messages",
        headers=tenant.auth,
        json={"channel": "email", "to": "customer@example.com", "subject": "Ticket", "body": "Hi"},
    )
    outbound = out.json()
    port = free_port()
    env = subprocess_env(
        hub.settings, HUITONG_SMTP_IN_PORT=str(port), HUITONG_SMTP_IN_MAX_BYTES="20000"
    )
    proc = subprocess.Popen(
        [PYTHON, "-m", "comms.cli", "smtp-in"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        await asyncio.to_thread(wait_port, port, proc)
        reply = EmailMessage()
        # Another address of the same customer: only In-Reply-To ties it to the thread.
        reply["From"] = "Customer <customer.alias@example.org>"
        reply["To"] = "help@support.acme.cn"
        reply["Subject"] = "Re: Ticket"
        reply["Message-ID"] = "<reply-1@example.org>"
        reply["In-Reply-To"] = outbound["rfc_message_id"]
        reply.set_content("Thanks!")
        reply.add_attachment(b"log", maintype="text", subtype="plain", filename="log.txt")
        assert await asyncio.to_thread(send_mail, port, reply) == {}

        unknown = EmailMessage()
        unknown["From"], unknown["To"], unknown["Subject"] = "a@b.org", "x@elsewhere.cn", "?"
        unknown.set_content("?")
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            await asyncio.to_thread(send_mail, port, unknown)
        code, text = refused.value.recipients["x@elsewhere.cn"]
        assert code == 550 and b"no such recipient" in text

        big = EmailMessage()
        big["From"], big["To"], big["Subject"] = "a@b.org", "help@support.acme.cn", "big"
        big.set_content("x" * 30000)
        with pytest.raises(smtplib.SMTPException) as too_big:
            await asyncio.to_thread(send_mail, port, big)
        assert "552" in str(too_big.value)
    finally:
        await asyncio.to_thread(stop, proc)

    thread = await client.get(
        f"/api/v1/conversations/{outbound['conversation_id']}/messages", headers=tenant.auth
    )
    items = thread.json()["items"]
    assert [m["direction"] for m in items] == ["inbound", "outbound"]
    inbound = items[0]
    assert inbound["from"] == "customer.alias@example.org"
    assert inbound["subject"] == "Re: Ticket" and inbound["body"].strip() == "Thanks!"
    assert inbound["status"] == "received"
    assert [e["message_id"] for e in await events(hub, "comms.message.inbound")] == [inbound["id"]]


def test_smtp_url_gives_credentials_port_and_tls_mode() -> None:
    plain = SmtpConfig.from_url("smtp://mailer:p%40ss@relay.example.cn:2525")
    assert (plain.host, plain.port, plain.username, plain.password) == (
        "relay.example.cn",
        2525,
        "mailer",
        "p@ss",
    )
    assert plain.starttls and not plain.implicit_tls
    tls = SmtpConfig.from_url("smtps://relay.example.cn")
    assert (tls.port, tls.implicit_tls, tls.starttls) == (465, True, False)
    with pytest.raises(ValueError, match="HUITONG_SMTP_URL"):
        SmtpConfig.from_url("http://relay.example.cn")
