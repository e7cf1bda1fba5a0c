"""The contract every SMS provider adapter (log, SMPP, Twilio) fulfils.

Adapters speak the carrier's protocol and nothing else: they submit, and they report receipts
and inbound messages to a sink. Message records, status rules, retries and roll-up of
per-segment receipts belong to the messaging service, which is the sink.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class OutboundSms:
    message_id: uuid.UUID  # ours; adapters may log it, never send it
    to: str  # E.164, e.g. +8613800138000
    text: str  # final text, signature and opt-out line already applied
    sender: str | None = None  # source address / sender id; None = provider default
    reference: int = 0  # 0-255, concatenation reference for multipart (UDH IEI 0x00)
    want_receipt: bool = True


@dataclass(frozen=True)
class SubmitResult:
    # One id per segment, in segment order, normalised by the adapter (see ReceiptState).
    provider_message_ids: list[str]
    segments: int


class SubmitError(Exception):
    """The provider refused or could not take the message."""

    def __init__(self, code: str, text: str, *, permanent: bool) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text
        self.permanent = permanent  # True: mark failed; False: keep queued, retry with backoff


class Throttled(SubmitError):
    """The provider asked us to slow down (ESME_RTHROTTLED, ESME_RMSGQFUL, HTTP 429)."""

    def __init__(self, code: str, text: str, retry_after: float | None = None) -> None:
        super().__init__(code, text, permanent=False)
        self.retry_after = retry_after


class ReceiptState(enum.StrEnum):
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    EXPIRED = "expired"
    REJECTED = "rejected"
    ACCEPTED = "accepted"  # intermediate (ENROUTE/ACCEPTD): no final state yet
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class DeliveryReceipt:
    provider: str
    provider_message_id: str  # normalised the same way as SubmitResult ids
    state: ReceiptState
    error_code: str | None = None
    done_at: datetime | None = None
    raw: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InboundSms:
    provider: str
    sender: str  # E.164 where parseable
    recipient: str  # our number / service code the customer wrote to
    text: str  # multipart already reassembled
    received_at: datetime
    provider_message_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class InboundPart:
    """One part of a multipart inbound SMS, as the carrier sent it (not yet decoded).

    Parts are given to the sink one by one and kept durably there, because the adapter
    acknowledges each part as it arrives: a partial message must survive a restart."""

    provider: str
    sender: str  # E.164 where parseable
    recipient: str
    reference: int  # concatenation reference (UDH or SAR), per sender
    total: int
    seq: int  # 1-based
    payload: bytes
    data_coding: int  # SMPP data_coding of the message (every part carries the same)
    received_at: datetime
    wait: float  # seconds after the first part before what arrived is delivered with gaps


class SmsSink(Protocol):
    """Where an adapter reports what the carrier tells it (the messaging service).

    Each call returns once what it reports is stored: the adapter acknowledges only then."""

    async def on_receipt(self, receipt: DeliveryReceipt) -> None: ...

    async def on_inbound(self, message: InboundSms) -> None: ...

    async def on_inbound_part(self, part: InboundPart) -> None: ...


class SmsProvider(Protocol):
    name: str

    async def start(self, sink: SmsSink) -> None:
        """Connect (bind) and begin reporting receipts and inbound messages to `sink`."""

    async def stop(self) -> None: ...

    async def submit(self, sms: OutboundSms) -> SubmitResult:
        """Hand one message (all its segments) to the carrier; raises SubmitError."""
