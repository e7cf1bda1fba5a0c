"""The asyncio ARI client a Stasis app uses: REST over httpx, events over a WebSocket."""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from telephony.ari.channels_api import ChannelsApi
from telephony.ari.errors import AriConnectionError, http_error
from telephony.ari.events import ChannelDispatcher, EventListener, ReconnectPolicy
from telephony.ari.models import ConnectedHook, EventHandler
from telephony.ari.operations import CLIENT_OPERATIONS
from telephony.ari.resources import BridgesApi, PlaybacksApi, RecordingsApi

log = logging.getLogger(__name__)


def _encode(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence):
        # allowMultiple parameters (media, channel) travel comma-separated in one value.
        return ",".join(str(v) for v in value)
    return str(value)


class _HttpTransport:
    """Sends one operation from CLIENT_OPERATIONS and turns error statuses into exceptions."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def call(
        self,
        key: str,
        path: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        op = CLIENT_OPERATIONS[key]
        query = {k: v for k, v in (query or {}).items() if v is not None}
        body = {k: v for k, v in (body or {}).items() if v is not None}
        # Guard: the table is what the contract test checks, so nothing may bypass it.
        stray = (set(query) - op.query) | (set(body) - op.body)
        if stray:
            raise ValueError(f"{key}: parameters {sorted(stray)} not declared in CLIENT_OPERATIONS")
        url = op.path.format(**{k: quote(v, safe="") for k, v in (path or {}).items()})
        try:
            response = await self._http.request(
                op.method,
                url,
                params={k: _encode(v) for k, v in query.items()},
                json=body or None,
            )
        except httpx.TransportError as exc:
            raise AriConnectionError(f"{op.method} {url}: {exc!r}") from exc
        if response.status_code >= 400:
            raise http_error(response.status_code, op.method, url, _message(response), op.nickname)
        if response.status_code == 204 or not response.content:
            return None
        if key.endswith("_file"):
            return response.content  # a recording's audio, not JSON
        return response.json()


def _message(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text or response.reason_phrase
    if isinstance(payload, dict):
        # Asterisk errors are {"message": ...}; its auth failures use {"error": ...}.
        return str(payload.get("message") or payload.get("error") or payload)
    return str(payload)


class AriClient:
    """One Stasis application's connection to Asterisk: REST resources plus the event stream.

    ``base_url`` looks like ``http://user:password@host:8088/ari``. Events are handled by
    ``add_handler`` callbacks, in order per channel, once ``start_events`` has been awaited.
    """

    def __init__(
        self,
        base_url: str,
        app: str,
        *,
        subscribe_all: bool = False,
        http_timeout: float = 10.0,
        reconnect: ReconnectPolicy | None = None,
        on_connected: ConnectedHook | None = None,
        http_transport: httpx.AsyncBaseTransport | None = None,
        use_proxy_env: bool = False,
        lane_idle_timeout: float = 300.0,
        rng: random.Random | None = None,
    ) -> None:
        url = httpx.URL(base_url)
        if not url.username:
            raise ValueError("ARI base URL needs credentials: http://user:password@host:8088/ari")
        self.app = app
        clean = url.copy_with(username=None, password=None)
        self.base_url = str(clean).rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            auth=httpx.BasicAuth(url.username, url.password),
            timeout=http_timeout,
            transport=http_transport,
            trust_env=use_proxy_env,
        )
        transport = _HttpTransport(self._http)
        self.channels = ChannelsApi(transport)
        self.bridges = BridgesApi(transport)
        self.playbacks = PlaybacksApi(transport)
        self.recordings = RecordingsApi(transport)
        self.dispatcher = ChannelDispatcher(idle_timeout=lane_idle_timeout)
        params = {"app": app, "api_key": f"{url.username}:{url.password}"}
        if subscribe_all:
            params["subscribeAll"] = "true"
        ws_scheme = "wss" if url.scheme == "https" else "ws"
        ws_url = clean.copy_with(scheme=ws_scheme, path=clean.path.rstrip("/") + "/events")
        self.events = EventListener(
            f"{ws_url}?{urlencode(params)}",
            self.dispatcher.dispatch,
            on_connected=on_connected,
            policy=reconnect,
            rng=rng,
            display_url=str(ws_url),
            use_proxy_env=use_proxy_env,
        )

    def add_handler(self, handler: EventHandler, *event_types: str) -> None:
        """Call ``handler`` for these event types (all events when none given)."""
        self.dispatcher.add_handler(handler, *event_types)

    @property
    def on_connected(self) -> ConnectedHook | None:
        """Hook run after every (re)connect, before that session's events are dispatched."""
        return self.events.on_connected

    @on_connected.setter
    def on_connected(self, hook: ConnectedHook | None) -> None:
        self.events.on_connected = hook

    @property
    def connected(self) -> bool:
        """True while the event WebSocket is open and reconciled."""
        return self.events.connected

    async def start_events(self) -> None:
        """Start receiving events; reconnects on its own until ``close``."""
        await self.events.start()

    async def wait_connected(self) -> None:
        """Wait until the event WebSocket is open and on_connected has run."""
        await self.events.wait_connected()

    async def close(self) -> None:
        """Stop events, cancel pending handlers and close HTTP connections."""
        await self.events.stop()
        await self.dispatcher.close()
        await self._http.aclose()

    async def __aenter__(self) -> AriClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
