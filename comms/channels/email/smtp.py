"""Outgoing mail over SMTP with aiosmtplib: multipart text + HTML, attachments, our
Message-ID, STARTTLS or implicit TLS."""

from __future__ import annotations

import email.utils
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

from comms.channels.email.transport import MailError, OutboundEmail


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False  # smtps:// (port 465): TLS from the first byte
    starttls: bool = True  # smtp://: upgrade when the server offers STARTTLS
    timeout: float = 30.0
    ca_file: str | None = None  # PEM CA bundle that signs the relay's cert; None = system CAs

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        starttls: bool = True,
        timeout: float = 30.0,
        ca_file: str | None = None,
    ) -> SmtpConfig:
        """smtp://user:pass@host:port or smtps://…; user and password may be %-encoded."""
        u = urlsplit(url)
        if u.scheme not in ("smtp", "smtps") or not u.hostname:
            raise ValueError("HUITONG_SMTP_URL must look like smtp://user:pass@host:port")
        implicit = u.scheme == "smtps"
        return cls(
            host=u.hostname,
            port=u.port or (465 if implicit else 587),
            username=unquote(u.username) if u.username else None,
            password=unquote(u.password) if u.password else None,
            implicit_tls=implicit,
            starttls=starttls and not implicit,
            timeout=timeout,
            ca_file=ca_file or None,
        )


def build_mime(mail: OutboundEmail) -> EmailMessage:
    """text/plain, with an HTML alternative and attachments wrapped in multipart/mixed."""
    m = EmailMessage()
    m["From"] = mail.sender
    m["To"] = ", ".join(mail.to)
    m["Subject"] = mail.subject
    m["Date"] = email.utils.formatdate(localtime=False)
    m["Message-ID"] = mail.message_id
    if mail.in_reply_to:
        m["In-Reply-To"] = mail.in_reply_to
    if mail.references:
        m["References"] = " ".join(mail.references)
    for name, value in mail.headers.items():
        m[name] = value
    m.set_content(mail.text)
    if mail.html:
        m.add_alternative(mail.html, subtype="html")
    for a in mail.attachments:
        maintype, _, subtype = a.content_type.partition("/")
        m.add_attachment(
            a.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=a.filename,
        )
    return m


def _cert_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate failure behind an error; aiosmtplib wraps it differently for
    implicit TLS (a connect error) and STARTTLS."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


class SmtpTransport:
    name = "smtp"

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    async def send(self, mail: OutboundEmail) -> str:
        c = self.config
        try:
            await aiosmtplib.send(
                build_mime(mail),
                hostname=c.host,
                port=c.port,
                username=c.username,
                password=c.password,
                use_tls=c.implicit_tls,
                # None: STARTTLS if the server offers it; False: never.
                start_tls=None if c.starttls else False,
                timeout=c.timeout,
                validate_certs=True,
                cert_bundle=c.ca_file,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0]
            raise MailError(str(first.code), first.message, permanent=first.code >= 500) from exc
        except aiosmtplib.SMTPResponseException as exc:
            # 5xx is the server's final word; 4xx (greylisting, full queue) is worth a retry.
            raise MailError(str(exc.code), exc.message, permanent=exc.code >= 500) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            bad_cert = _cert_error(exc)
            if bad_cert is not None:
                # Not retried into success by itself, but a fixed HUITONG_SMTP_CA_FILE or
                # relay certificate lets the queued mail go: transient, with a clear reason.
                raise MailError(
                    "tls_certificate",
                    f"the certificate of {c.host}:{c.port} is not trusted "
                    f"({bad_cert.verify_message}); check HUITONG_SMTP_CA_FILE",
                    permanent=False,
                ) from exc
            raise MailError("unavailable", str(exc) or type(exc).__name__, permanent=False) from exc
        return mail.message_id
