"""The embedded default SMS provider: writes each message to the log and calls it sent."""

from __future__ import annotations

import logging
import uuid

from comms.channels.sms.encoding import analyse
from comms.channels.sms.provider import OutboundSms, SmsSink, SubmitResult

log = logging.getLogger(__name__)


class LogSmsProvider:
    name = "log"

    async def start(self, sink: SmsSink) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def submit(self, sms: OutboundSms) -> SubmitResult:
        info = analyse(sms.text)
        log.info(
            "SMS %s to %s (%s, %d segments): %s",
            sms.message_id,
            sms.to,
            info.encoding.value,
            info.segments,
            sms.text,
        )
        ids = [f"log-{uuid.uuid4().hex}" for _ in range(max(info.segments, 1))]
        return SubmitResult(provider_message_ids=ids, segments=info.segments)
