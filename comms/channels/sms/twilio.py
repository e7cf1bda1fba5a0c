"""Twilio Programmable Messaging through the official SDK (async client)."""

from __future__ import annotations

import base64
import functools
import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from comms.channels.sms.provider import OutboundSms, SmsSink, SubmitError, SubmitResult, Throttled

# The SDK (with requests and aiohttp, ~11 MB) is imported on first use: every process
# imports this module for the webhook paths, few send through Twilio.

log = logging.getLogger(__name__)

STATUS_PATH = "/webhooks/twilio/sms/status"
INBOUND_PATH = "/webhooks/twilio/sms/inbound"


@functools.cache
def _http_client_class() -> type[Any]:
    from twilio.http.async_http_client import AsyncTwilioHttpClient

    class _HttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
        """The SDK's own aiohttp client, optionally sent to another base URL (a test double
        or a proxy). Basic auth goes in a header: aiohttp 3.14 deprecates its BasicAuth
        helper, which the SDK still uses."""

        def __init__(self, base: str = "", **kw: Any) -> None:
            super().__init__(**kw)
            self._base = urlsplit(base) if base else None

        async def request(
            self,
            method: str,
            url: str,
            params: Any = None,
            data: Any = None,
            headers: dict[str, str] | None = None,
            auth: tuple[str, str] | None = None,
            **kw: Any,
        ) -> Any:
            if self._base is not None:
                u = urlsplit(url)
                path = self._base.path.rstrip("/") + u.path
                url = urlunsplit((self._base.scheme, self._base.netloc, path, u.query, ""))
            headers = dict(headers or {})
            if auth is not None:
                token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
                headers["Authorization"] = f"Basic {token}"
            return await super().request(method, url, params, data, headers, None, **kw)

    return _HttpClient


class TwilioSmsProvider:
    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        sender: str,
        *,
        public_url: str = "",
        api_base: str = "",
        timeout: float = 30.0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sender = sender
        self.status_callback = f"{public_url.rstrip('/')}{STATUS_PATH}" if public_url else None
        self.api_base = api_base
        self.timeout = timeout
        self._http: Any = None
        self._client: Any = None

    def _sdk(self) -> Any:
        # Made on first use, inside the running loop: aiohttp sessions belong to one loop.
        if self._client is None:
            from twilio.rest import Client

            kw: dict[str, Any] = {"timeout": self.timeout}
            self._http = _http_client_class()(self.api_base, **kw)
            self._client = Client(self.account_sid, self.auth_token, http_client=self._http)
        return self._client

    async def start(self, sink: SmsSink) -> None:
        # Receipts and inbound messages reach us through webhooks, not a connection.
        pass

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        self._http = self._client = None

    async def submit(self, sms: OutboundSms) -> SubmitResult:
        import aiohttp
        from twilio.base.exceptions import TwilioRestException

        kw: dict[str, Any] = {"to": sms.to, "from_": sms.sender or self.sender, "body": sms.text}
        if self.status_callback and sms.want_receipt:
            kw["status_callback"] = self.status_callback
        try:
            created = await self._sdk().messages.create_async(**kw)
        except TwilioRestException as exc:
            code = str(exc.code or exc.status)
            if exc.status == 429 or exc.code == 20429:
                raise Throttled(code, exc.msg) from exc
            # 4xx is Twilio's verdict on this message (bad number, opted out): final.
            raise SubmitError(code, exc.msg, permanent=exc.status < 500) from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise SubmitError(
                "unavailable", str(exc) or type(exc).__name__, permanent=False
            ) from exc
        segments = int(getattr(created, "num_segments", None) or 1)
        # Twilio gives one SID for the whole message; its callbacks carry that SID.
        return SubmitResult(provider_message_ids=[str(created.sid)], segments=segments)
