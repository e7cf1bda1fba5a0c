"""An inbound SMS to a number no tenant owns is kept (once) and counted, not dropped."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from comms.channels.sms.provider import InboundSms
from comms.db.base import utcnow
from comms.db.tenancy import unscoped
from comms.hub import Hub
from comms.messages.inbound import MessagingSink, unrouted_count
from comms.messages.models import Message, UnroutedInbound


async def test_sms_to_an_unowned_number_is_kept_once_and_logged_with_the_count(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    sink: MessagingSink = hub.services["messaging.sink"]
    sms = InboundSms("smpp", "13800138000", "10690999", "你好", utcnow(), ["abc1"])
    with caplog.at_level(logging.WARNING, logger="comms.messages.inbound"):
        assert await sink.receive_sms(sms) is None
        assert await sink.receive_sms(sms) is None  # the SMSC repeated the deliver_sm
        other = InboundSms("smpp", "+8613800138001", "10690999", "T", utcnow(), ["abc2"])
        assert await sink.receive_sms(other) is None
    async with hub.db.session() as s:
        unscoped(s)
        kept = list(await s.scalars(select(UnroutedInbound).order_by(UnroutedInbound.id)))
        assert await unrouted_count(s) == 2
        assert await s.scalar(select(Message.id)) is None
    assert [(k.sender, k.recipient, k.body) for k in kept] == [
        ("+8613800138000", "10690999", "你好"),
        ("+8613800138001", "10690999", "T"),
    ]
    assert "(2 kept in all)" in caplog.text
