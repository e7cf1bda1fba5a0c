"""SMTP out over TLS against aiosmtpd with a certificate from a throwaway CA: STARTTLS and
implicit TLS succeed when HUITONG_SMTP_CA_FILE names that CA, and a certificate from any
other CA fails with a clear `tls_certificate` error instead of being sent in the clear."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from comms.channels.email.smtp import SmtpTransport
from comms.channels.email.transport import MailError, OutboundEmail
from comms.messages.runtime import build_mail_transport
from comms.settings import Settings
from hubtest import make_settings


class Recorder:
    """aiosmtpd handler keeping each mail and whether it came over TLS."""

    def __init__(self) -> None:
        self.got: list[tuple[str, bool, bytes]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        # session.ssl is set after STARTTLS; with implicit TLS the transport is TLS itself.
        t = server.transport
        tls = session.ssl is not None or (t is not None and t.get_extra_info("ssl_object"))
        self.got.append((envelope.mail_from or "", bool(tls), content))
        return "250 OK"


@pytest.fixture(autouse=True)
async def tls_closed() -> AsyncIterator[None]:
    """Closing a TLS connection sends close_notify and closes the socket when the peer's
    answer comes, after `send()` returned: left to the loop, not cut off by the test's end
    (the socket then leaked, and its ResourceWarning failed a later test at random)."""
    yield
    await asyncio.sleep(0.2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx


def ca_file(ca: trustme.CA, tmp_path: Path, name: str = "ca.pem") -> str:
    path = tmp_path / name
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def running(controller: Controller) -> Iterator[Controller]:
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def starttls_server(server_tls: ssl.SSLContext) -> Iterator[tuple[int, Recorder]]:
    """Plain on connect, refuses mail until STARTTLS (a typical submission port)."""
    rec, port = Recorder(), free_port()
    ctl = Controller(
        rec, hostname="127.0.0.1", port=port, tls_context=server_tls, require_starttls=True
    )
    for _ in running(ctl):
        yield port, rec


@pytest.fixture
def implicit_tls_server(server_tls: ssl.SSLContext) -> Iterator[tuple[int, Recorder]]:
    """TLS from the first byte (smtps, port 465)."""
    rec, port = Recorder(), free_port()
    ctl = Controller(rec, hostname="127.0.0.1", port=port, ssl_context=server_tls)
    for _ in running(ctl):
        yield port, rec


def mail() -> OutboundEmail:
    return OutboundEmail(
        sender="service@acme.example.cn",
        to=["customer@example.com"],
        subject="账单",
        text="您的账单已生成。",
        message_id="<tls-test@acme.example.cn>",
    )


def settings_for(tmp_path: Path, url: str, ca: str) -> Settings:
    return make_settings("sqlite+aiosqlite://", tmp_path, smtp_url=url, smtp_ca_file=ca)


async def test_starttls_with_the_configured_ca_file_delivers_over_tls(
    tmp_path: Path, ca: trustme.CA, starttls_server: tuple[int, Recorder]
) -> None:
    port, rec = starttls_server
    url = f"smtp://127.0.0.1:{port}"
    transport = build_mail_transport(settings_for(tmp_path, url, ca_file(ca, tmp_path)))
    assert isinstance(transport, SmtpTransport)
    assert await transport.send(mail()) == "<tls-test@acme.example.cn>"
    assert [(frm, tls) for frm, tls, _ in rec.got] == [("service@acme.example.cn", True)]
    assert b"<tls-test@acme.example.cn>" in rec.got[0][2]


async def test_implicit_tls_with_the_configured_ca_file_delivers(
    tmp_path: Path, ca: trustme.CA, implicit_tls_server: tuple[int, Recorder]
) -> None:
    port, rec = implicit_tls_server
    url = f"smtps://127.0.0.1:{port}"
    transport = build_mail_transport(settings_for(tmp_path, url, ca_file(ca, tmp_path)))
    await transport.send(mail())
    assert [(frm, tls) for frm, tls, _ in rec.got] == [("service@acme.example.cn", True)]


@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
async def test_a_certificate_from_another_ca_fails_clearly_and_sends_nothing(
    tmp_path: Path,
    scheme: str,
    starttls_server: tuple[int, Recorder],
    implicit_tls_server: tuple[int, Recorder],
) -> None:
    port, rec = starttls_server if scheme == "smtp" else implicit_tls_server
    other = ca_file(trustme.CA(), tmp_path, "other-ca.pem")
    transport = build_mail_transport(settings_for(tmp_path, f"{scheme}://127.0.0.1:{port}", other))
    with pytest.raises(MailError) as err:
        await transport.send(mail())
    assert err.value.code == "tls_certificate"
    assert "not trusted" in err.value.text and "HUITONG_SMTP_CA_FILE" in err.value.text
    assert not err.value.permanent
    assert rec.got == []
