"""`huitong smtp-in`: an SMTP receiver (aiosmtpd) that turns mail for the tenants' inbound
domains into inbound messages. It answers 250 only after the message is committed, so a
mail the sending server was told we took is never lost; on a database error it answers 451
and the sender retries."""

from __future__ import annotations

import asyncio
import email
import email.policy
import email.utils
import logging
import signal
import uuid
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import click

from comms.bus.loop import run as run_loop
from comms.channels.email.transport import Attachment
from comms.db.engine import Database
from comms.messages.inbound import InboundEmail, MessagingSink, tenant_for
from comms.messages.models import Channel
from comms.settings import Settings

if TYPE_CHECKING:
    # Imported in `serve`: only the `huitong smtp-in` process runs an SMTP server.
    from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)


def _payload(part: EmailMessage) -> bytes:
    data = part.get_payload(decode=True)  # transfer encoding undone, bytes as attached
    return data if isinstance(data, bytes) else b""


def parse_mail(raw: bytes, recipient: str, envelope_from: str) -> InboundEmail:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    sender = email.utils.parseaddr(str(msg.get("From", "")))[1] or envelope_from
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    attachments = [
        Attachment(
            part.get_filename() or "attachment",
            part.get_content_type(),
            _payload(part),
        )
        for part in msg.iter_attachments()
        if isinstance(part, EmailMessage)
    ]
    refs = str(msg.get("References", "")).split()
    return InboundEmail(
        sender=sender,
        recipient=recipient,
        subject=str(msg.get("Subject", "")),
        text=str(text_part.get_content()) if text_part is not None else "",
        html=str(html_part.get_content()) if html_part is not None else None,
        message_id=str(msg["Message-ID"]).strip() if msg.get("Message-ID") else None,
        in_reply_to=str(msg["In-Reply-To"]).strip() if msg.get("In-Reply-To") else None,
        references=refs,
        attachments=attachments,
    )


class InboundHandler:
    """aiosmtpd handler: RCPT checks the domain's tenant, DATA stores one message per tenant."""

    def __init__(self, db: Database, sink: MessagingSink) -> None:
        self.db = db
        self.sink = sink

    async def _tenant(self, address: str) -> uuid.UUID | None:
        async with self.db.session() as s:
            return await tenant_for(s, Channel.EMAIL, address.rpartition("@")[2])

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        try:
            tenant_id = await self._tenant(address)
        except Exception:
            log.exception("RCPT lookup failed")
            return "451 4.3.0 Temporary failure; try again later"
        if tenant_id is None:
            return f"550 5.1.1 <{address}>: no such recipient here (domain not served)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw).encode()
        try:
            for rcpt in envelope.rcpt_tos:
                tenant_id = await self._tenant(rcpt)
                if tenant_id is None:
                    continue  # settings changed since RCPT; nothing to store for it
                mail = parse_mail(raw, rcpt, envelope.mail_from or "")
                await self.sink.on_email(mail, tenant_id)
        except Exception:
            log.exception("storing inbound mail failed")
            return "451 4.3.0 Temporary failure; try again later"
        return "250 2.0.0 Message accepted"


async def serve(settings: Settings, host: str, port: int) -> None:
    from aiosmtpd.smtp import SMTP

    from comms.hub import Hub

    hub = Hub(settings)
    handler = InboundHandler(hub.db, MessagingSink(lambda: hub.db))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            data_size_limit=settings.smtp_in_max_bytes,  # beyond it: 552
            hostname="huitong",
            ident="Huitong smtp-in",
        ),
        host,
        port,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    click.echo(f"Huitong smtp-in listening on {host}:{port}", err=True)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
        await hub.stop()


@click.command("smtp-in", help="Receive mail for the tenants' inbound domains over SMTP.")
@click.option("--host", default=None, help="Overrides HUITONG_SMTP_IN_HOST.")
@click.option("--port", default=None, type=int, help="Overrides HUITONG_SMTP_IN_PORT.")
def smtp_in(host: str | None, port: int | None) -> None:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    run_loop(serve(settings, host or settings.smtp_in_host, port or settings.smtp_in_port))
