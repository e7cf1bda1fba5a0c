"""The embedded default mail transport: writes each mail to the log and calls it sent."""

from __future__ import annotations

import logging

from comms.channels.email.transport import OutboundEmail

log = logging.getLogger(__name__)


class LogMailTransport:
    name = "log"

    async def send(self, mail: OutboundEmail) -> str:
        log.info(
            "mail %s from %s to %s: %s (%d attachments)\n%s",
            mail.message_id,
            mail.sender,
            ", ".join(mail.to),
            mail.subject,
            len(mail.attachments),
            mail.text,
        )
        return mail.message_id
