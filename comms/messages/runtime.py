"""Wiring of the messaging slice into a hub: adapters from settings, the sender, the sink,
and the background sweep."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from importlib import import_module
from typing import Any

from comms.channels.email.log import LogMailTransport
from comms.channels.email.smtp import SmtpConfig, SmtpTransport
from comms.channels.email.transport import MailTransport
from comms.channels.sms.log import LogSmsProvider
from comms.channels.sms.provider import SmsProvider
from comms.db.engine import Database
from comms.messages.handlers import SENDER
from comms.messages.inbound import MessagingSink
from comms.messages.sender import MAIL_TRANSPORT, SMS_PROVIDER, Sender
from comms.messages.sweep import sweep
from comms.settings import Settings

log = logging.getLogger(__name__)

SINK = "messaging.sink"


def sms_provider_name(settings: Settings) -> str:
    if settings.sms_provider:
        return settings.sms_provider
    if settings.smpp_url:
        return "smpp"
    if settings.twilio_account_sid:
        return "twilio"
    return "log"


def build_sms_provider(settings: Settings) -> SmsProvider:
    name = sms_provider_name(settings)
    if name == "log":
        return LogSmsProvider()
    if name == "twilio":
        from comms.channels.sms.twilio import TwilioSmsProvider

        return TwilioSmsProvider(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            settings.twilio_from,
            public_url=settings.public_url,
            api_base=settings.twilio_api_base,
        )
    if name == "smpp":
        # Imported by name: the SMPP adapter is its own module and may not be installed.
        smpp = import_module("comms.channels.sms.smpp")
        config = getattr(smpp, "SmppConfig", None)
        if config is None:
            config = import_module("comms.channels.sms.smpp_config").SmppConfig
        provider: SmsProvider = smpp.SmppProvider(config.from_url(settings.smpp_url))
        return provider
    raise ValueError(f"HUITONG_SMS_PROVIDER must be log, twilio or smpp, not {name!r}")


def build_mail_transport(settings: Settings) -> MailTransport:
    if not settings.smtp_url:
        return LogMailTransport()
    return SmtpTransport(
        SmtpConfig.from_url(
            settings.smtp_url,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout,
            ca_file=settings.smtp_ca_file,
        )
    )


class Messaging:
    """Puts the adapters, the sender and the sink into `services` (what handlers see as
    ctx.services) and runs the sweep in processes that do background work."""

    def __init__(
        self, settings: Settings, db: Callable[[], Database], services: dict[str, Any]
    ) -> None:
        self.settings = settings
        self.db = db
        self.services = services
        self.sink = MessagingSink(db)
        self.sender = Sender(services, db, settings, self.sink)
        services.setdefault(SMS_PROVIDER, build_sms_provider(settings))
        services.setdefault(MAIL_TRANSPORT, build_mail_transport(settings))
        services[SINK] = self.sink
        services[SENDER] = self.sender
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            await self.sender.provider()  # bind now rather than on the first message
        except Exception:
            log.exception("SMS provider did not start; messages stay queued until it does")
        self._task = asyncio.create_task(self._sweep_forever(), name="messages-sweep")
        self.sender.accepting = True

    async def _sweep_forever(self) -> None:
        # The first pass runs at once: it resumes what a previous process left `sending`.
        while True:
            try:
                result = await sweep(self.db(), self.settings)
                if result.resumed or result.expired:
                    log.info("messages sweep: %s", result)
                await self.sink.deliver_overdue()
            except Exception:
                log.exception("messages sweep failed; next try in an interval")
            await asyncio.sleep(self.settings.messages_sweep_interval)

    async def stop(self) -> None:
        self.sender.accepting = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await self.sender.wait_idle()
        sms: SmsProvider = self.services[SMS_PROVIDER]
        with contextlib.suppress(Exception):
            await sms.stop()
