"""The message lifecycle as an explicit state machine: one function changes status."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Protocol

from comms.db.base import utcnow
from comms.errors import Conflict


class MessageStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"  # the provider (SMSC, Twilio, SMTP relay) accepted it
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    RECEIVED = "received"  # inbound messages start and stay here


ALLOWED: dict[MessageStatus, frozenset[MessageStatus]] = {
    MessageStatus.QUEUED: frozenset({MessageStatus.SENDING, MessageStatus.FAILED}),
    # sending -> queued: the provider was down, or a crashed sender's claim went stale.
    MessageStatus.SENDING: frozenset(
        {MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.QUEUED}
    ),
    MessageStatus.SENT: frozenset(
        {MessageStatus.DELIVERED, MessageStatus.UNDELIVERED, MessageStatus.FAILED}
    ),
    MessageStatus.DELIVERED: frozenset(),
    MessageStatus.UNDELIVERED: frozenset(),
    MessageStatus.FAILED: frozenset(),
    MessageStatus.RECEIVED: frozenset(),
}

FINAL = frozenset(s for s, nxt in ALLOWED.items() if not nxt)


class IllegalTransition(Conflict):
    """A status change the lifecycle does not allow (e.g. delivered -> sending)."""


class Stateful(Protocol):
    """What transition() needs of a message: a status and one timestamp per status."""

    status: MessageStatus
    error_code: str | None
    error_text: str | None
    queued_at: datetime | None
    sending_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    undelivered_at: datetime | None
    failed_at: datetime | None
    received_at: datetime | None


def can_transition(current: MessageStatus, to: MessageStatus) -> bool:
    return to in ALLOWED[current]


def transition(
    msg: Stateful,
    to: MessageStatus,
    *,
    at: datetime | None = None,
    error_code: str | None = None,
    error_text: str | None = None,
) -> MessageStatus:
    """Move `msg` to `to`, stamping `<to>_at`; returns the previous status."""
    previous = msg.status
    if not can_transition(previous, to):
        raise IllegalTransition(f"message cannot go from {previous.value} to {to.value}")
    msg.status = to
    setattr(msg, f"{to.value}_at", at or utcnow())
    if error_code is not None or error_text is not None:
        msg.error_code, msg.error_text = error_code, error_text
    return previous
