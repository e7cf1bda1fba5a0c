"""The lifecycle refuses illegal moves and stamps a time per status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest

from comms.channels.sms.provider import ReceiptState as R
from comms.messages.receipts import rollup
from comms.messages.state import ALLOWED, FINAL, IllegalTransition, MessageStatus, transition

S = MessageStatus


@dataclass
class Msg:
    status: MessageStatus = S.QUEUED
    error_code: str | None = None
    error_text: str | None = None
    queued_at: datetime | None = None
    sending_at: datetime | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    undelivered_at: datetime | None = None
    failed_at: datetime | None = None
    received_at: datetime | None = None


def test_happy_path_stamps_each_status() -> None:
    m = Msg()
    for to in (S.SENDING, S.SENT, S.DELIVERED):
        transition(m, to)
    assert m.status is S.DELIVERED
    assert m.sending_at and m.sent_at and m.delivered_at
    assert m.sending_at <= m.sent_at <= m.delivered_at


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (S.QUEUED, S.SENT),
        (S.QUEUED, S.DELIVERED),
        (S.SENT, S.SENDING),
        (S.DELIVERED, S.UNDELIVERED),
        (S.FAILED, S.QUEUED),
        (S.RECEIVED, S.SENT),
    ],
)
def test_illegal_transition_is_refused_and_changes_nothing(
    start: MessageStatus, to: MessageStatus
) -> None:
    m = Msg(status=start)
    with pytest.raises(IllegalTransition):
        transition(m, to)
    assert m.status is start and getattr(m, f"{to.value}_at") is None


def test_provider_outage_may_send_a_message_back_to_the_queue_with_its_error() -> None:
    m = Msg(status=S.SENDING)
    assert transition(m, S.QUEUED, error_code="unavailable", error_text="refused") is S.SENDING
    assert (m.status, m.error_code) == (S.QUEUED, "unavailable")


def test_final_states_are_delivered_undelivered_failed_and_received() -> None:
    assert {S.DELIVERED, S.UNDELIVERED, S.FAILED, S.RECEIVED} == FINAL
    assert set(ALLOWED) == set(MessageStatus)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([R.DELIVERED, R.DELIVERED], S.DELIVERED),
        ([R.DELIVERED, None], None),
        ([R.DELIVERED, R.ACCEPTED], None),
        ([R.DELIVERED, R.EXPIRED], S.UNDELIVERED),
        ([R.UNDELIVERED, R.REJECTED], S.FAILED),
        ([], None),
    ],
)
def test_segment_receipts_roll_up_to_one_status(
    parts: list[R | None], expected: MessageStatus | None
) -> None:
    assert rollup(parts) is expected


async def test_rate_limiter_spaces_submissions_per_provider() -> None:
    import time

    from comms.messages.sender import RateLimiter

    limiter = RateLimiter(rate=50)
    start = time.monotonic()
    for _ in range(5):
        await limiter.acquire("twilio")
    await limiter.acquire("smpp")  # another provider has its own bucket
    assert 0.07 <= time.monotonic() - start < 0.5
