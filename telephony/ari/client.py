"""The asyncio ARI client a Stasis app uses: REST over aiohttp, events over a WebSocket."""

from __future__ import annotations

import base64
import json
import logging
import random
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import httpx

from telephony.ari.channels_api import ChannelsApi
from telephony.ari.errors import AriConnectionError, http_error
from telephony.ari.events import ChannelDispatcher, EventListener, ReconnectPolicy
from telephony.ari.models import ConnectedHook, EventHandler
from telephony.ari.operations import CLIENT_OPERATIONS
from telephony.ari.resources import BridgesApi, PlaybacksApi, RecordingsApi

if TYPE_CHECKING:
    import aiohttp  # imported where used: only processes that talk to Asterisk pay ~6 MB

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
    """Sends one operation from CLIENT_OPERATIONS and turns error statuses into exceptions.

    aiohttp rather than httpx here: with a few hundred calls in flight, httpx's connection
    pool rescans every connection for every request (quadratic) and cost about ten times the
    CPU per request (bench/RESULTS.md, ARI section).
    """

    def __init__(self, base_url: str, user: str, password: str, timeout: float, trust_env: bool):
        import aiohttp

        self._base = base_url
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._trust_env = trust_env
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        import aiohttp

        # Made on first use: a ClientSession belongs to the running event loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=self._timeout,
                trust_env=self._trust_env,
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=60),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(
        self,
        key: str,
        path: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        import aiohttp
        import yarl

        op = CLIENT_OPERATIONS[key]
        query = {k: v for k, v in (query or {}).items() if v is not None}
        body = {k: v for k, v in (body or {}).items() if v is not None}
        # Guard: the table is what the contract test checks, so nothing may bypass it.
        stray = (set(query) - op.query) | (set(body) - op.body)
        if stray:
            raise ValueError(f"{key}: parameters {sorted(stray)} not declared in CLIENT_OPERATIONS")
        url = op.path.format(**{k: quote(v, safe="") for k, v in (path or {}).items()})
        params = urlencode({k: _encode(v) for k, v in query.items()})
        target = self._base + url + (f"?{params}" if params else "")
        try:
            async with self._client().request(
                op.method, yarl.URL(target, encoded=True), json=body or None
            ) as response:
                status, content = response.status, await response.read()
                reason = response.reason or ""
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise AriConnectionError(f"{op.method} {url}: {exc!r}") from exc
        if status >= 400:
            raise http_error(status, op.method, url, _message(content, reason), op.nickname)
        if status == 204 or not content:
            return None
        if key.endswith("_file"):
            return content  # a recording's audio, not JSON
        return json.loads(content)


def _message(content: bytes, reason: str) -> str:
    try:
        payload = json.loads(content)
    except ValueError:
        return content.decode(errors="replace") or reason
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
        transport = _HttpTransport(
            self.base_url, url.username, url.password, http_timeout, use_proxy_env
        )
        self._http = transport
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
        await self._http.close()

    async def __aenter__(self) -> AriClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
