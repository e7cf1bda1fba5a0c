"""The contract for outgoing mail transports (SMTP, log)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class OutboundEmail:
    message_id: str  # the RFC 5322 Message-ID we generate, e.g. <uuid@hub.example.cn>
    sender: str
    to: list[str]
    subject: str
    text: str
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


class MailError(Exception):
    def __init__(self, code: str, text: str, *, permanent: bool) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text
        self.permanent = permanent


class MailTransport(Protocol):
    name: str

    async def send(self, mail: OutboundEmail) -> str:
        """Send; returns the provider's queue id or the Message-ID. Raises MailError."""
