"""An in-process ARI server for tests: Asterisk's REST routes and event WebSocket on 127.0.0.1.

Tests play the far end (``inbound_call``, ``send_dtmf``, ``remote_hangup``, ``drop_connections``)
and assert on what the app did through ``requests``/``operations_on``. With a spec, every
emitted event is validated (problems land in ``violations``) and every request's query
string is checked; unlike Asterisk, which ignores unknown parameters, the simulator rejects
them with 400 so client drift shows up in tests.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from telephony.ari.sim_engine import SimEngine
from telephony.ari.sim_routes import SIM_ROUTES, Call, SimRoute
from telephony.ari.sim_state import SimHttpError, ari_timestamp
from telephony.ari.spec import AriSpec


@dataclass
class RecordedRequest:
    """One REST request the simulator received, for "the app answered then played X" checks."""

    method: str
    path: str
    route: str
    nickname: str
    path_params: dict[str, str]
    query: dict[str, str]
    body: Any
    status: int = 0


@dataclass(frozen=True)
class _Close:
    code: int
    reason: str


@dataclass
class _Session:
    apps: frozenset[str]
    queue: asyncio.Queue[dict[str, Any] | _Close] = field(default_factory=asyncio.Queue)
    active: bool = True
    closed: asyncio.Event = field(default_factory=asyncio.Event)


class AriSimulator(SimEngine):
    """A fake Asterisk serving ARI on a free loopback port; use as ``async with``."""

    def __init__(
        self,
        *,
        spec: AriSpec | None = None,
        username: str = "huitong",
        password: str = "sim-secret",  # noqa: S107 - a test double's credential
        app: str = "huitong",
        default_media_duration: float = 0.03,
        time_scale: float = 1.0,
        asterisk_id: str = "02:42:ac:11:00:02",
    ) -> None:
        super().__init__(
            app=app,
            default_media_duration=default_media_duration,
            time_scale=time_scale,
            asterisk_id=asterisk_id,
        )
        self.spec = spec
        self.username = username
        self.password = password
        self.requests: list[RecordedRequest] = []
        self.emitted: list[dict[str, Any]] = []
        # Emitted while the app had no WebSocket: Asterisk drops these and never replays them.
        self.dropped: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self.ws_attempts = 0
        self.ws_sessions = 0
        # Knobs for reconnect tests: refuse the next N upgrades with 503; or accept and
        # immediately close cleanly (code 1000) every time.
        self.reject_connections = 0
        self.close_on_accept = False
        self.port = 0
        self._sessions: list[_Session] = []
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None
        self._changed: asyncio.Event | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """What AriClient takes: http://user:password@127.0.0.1:PORT/ari."""
        return f"http://{self.username}:{self.password}@127.0.0.1:{self.port}/ari"

    async def start(self) -> None:
        """Bind a free port on 127.0.0.1 and serve until ``stop``."""
        # proto must say TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose
        # proto is IPPROTO_TCP, and without it every keep-alive request waits ~40 ms (Nagle
        # against delayed ACK).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._socket, self.port = sock, sock.getsockname()[1]
        config = uvicorn.Config(
            self._asgi_app(),
            lifespan="off",
            http="h11",
            ws="websockets-sansio",
            log_config=None,
            log_level="warning",
            access_log=False,
        )
        config.load()
        server = uvicorn.Server(config)
        # Drive uvicorn's startup directly rather than serve(): serve() polls for exit every
        # 0.1 s, sleeps 0.1 s on shutdown and swaps process signal handlers, none of which a
        # per-test server wants.
        server.lifespan = config.lifespan_class(config)
        await server.startup(sockets=[sock])
        self._server = server

    async def stop(self) -> None:
        """Stop timers, close every connection and the listening socket."""
        await self._cancel_tasks()
        server, self._server = self._server, None
        if server is not None:
            for listener in server.servers:
                listener.close()
            # Idle keep-alive connections close at once; WebSockets get close code 1012.
            for connection in list(server.server_state.connections):
                connection.shutdown()
            state = server.server_state
            try:
                async with asyncio.timeout(2):
                    # uvicorn offers no event for "all connections gone": poll briefly.
                    while state.connections or state.tasks:  # noqa: ASYNC110
                        await asyncio.sleep(0.002)
            except TimeoutError:
                for task in list(state.tasks):
                    task.cancel()
            for listener in server.servers:
                await listener.wait_closed()
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    async def __aenter__(self) -> AriSimulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -------------------------------------------------------------- test helpers

    async def drop_connections(self, code: int = 1011, reason: str = "simulated failure") -> None:
        """Close every event WebSocket from the server side; calls carry on without the app."""
        closing = [s for s in self._sessions if s.active]
        for session in closing:
            session.active = False
            session.queue.put_nowait(_Close(code, reason))
        async with asyncio.timeout(5):
            for session in closing:
                await session.closed.wait()

    def app_active(self, app: str) -> bool:
        """Whether some WebSocket currently receives ``app``'s events."""
        return self._session_for(app) is not None

    def requests_for(
        self, *, nickname: str | None = None, **path_params: str
    ) -> list[RecordedRequest]:
        """Received requests filtered by spec nickname and path parameters (e.g. channelId=...)."""
        return [
            r
            for r in self.requests
            if (nickname is None or r.nickname == nickname)
            and all(r.path_params.get(k) == v for k, v in path_params.items())
        ]

    def operations_on(self, channel_id: str) -> list[str]:
        """Nicknames of the successful requests on one channel, in order (answer, play...)."""
        return [
            r.nickname for r in self.requests_for(channelId=channel_id) if 200 <= r.status < 300
        ]

    def events_of(self, event_type: str) -> list[dict[str, Any]]:
        """Every emitted event of one type, delivered or dropped."""
        return [e for e in self.emitted if e["type"] == event_type]

    def add_stored_recording(self, name: str, fmt: str = "wav") -> None:
        """Seed a stored recording (as if recorded earlier)."""
        self.stored_recordings[name] = fmt

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate`` holds, re-checking after every event or request.

        Also re-checks every 10 ms, for predicates on the client's side of the socket.
        Unbounded on purpose: wrap it in ``asyncio.timeout``.
        """
        while not predicate():
            if self._changed is None:
                self._changed = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.01)

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    # ------------------------------------------------------------------- events

    def _session_for(self, app: str) -> _Session | None:
        for session in reversed(self._sessions):
            if session.active and app in session.apps:
                return session
        return None

    def _deliver(self, event: dict[str, Any]) -> None:
        if self.spec is not None:
            self.violations += self.spec.validate_event(event)
        self.emitted.append(event)
        session = self._session_for(event["application"])
        if session is None:
            self.dropped.append(event)
        else:
            session.queue.put_nowait(event)
        self._notify()

    # --------------------------------------------------------------------- HTTP

    def _asgi_app(self) -> Starlette:
        routes: list[Route | WebSocketRoute] = [
            Route("/ari" + r.path, self._endpoint(r), methods=[r.method]) for r in SIM_ROUTES
        ]
        routes.append(WebSocketRoute("/ari/events", self._events_socket))
        return Starlette(routes=routes)

    def _authorized(self, authorization: str | None, api_key: str | None) -> bool:
        # ARI accepts HTTP basic auth or an api_key=user:password query parameter.
        expected = f"{self.username}:{self.password}"
        if api_key is not None:
            return api_key == expected
        if authorization and authorization.lower().startswith("basic "):
            with contextlib.suppress(ValueError):
                return base64.b64decode(authorization[6:]).decode() == expected
        return False

    def _endpoint(self, route: SimRoute) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            query = dict(request.query_params)
            api_key = query.pop("api_key", None)
            raw = await request.body()
            record = RecordedRequest(
                method=request.method,
                path=request.url.path,
                route=route.path,
                nickname=route.nickname,
                path_params={k: str(v) for k, v in request.path_params.items()},
                query=query,
                body=None,
            )
            self.requests.append(record)
            try:
                record.body = json.loads(raw) if raw else None
                status, payload = self._handle(route, request, api_key, record)
            except ValueError:
                status, payload = 400, {"message": "Invalid JSON body"}
            except SimHttpError as exc:
                status, payload = exc.status, {"message": exc.message}
            record.status = status
            self._notify()
            if payload is None:
                return Response(status_code=status)
            if isinstance(payload, bytes):
                return Response(payload, status_code=status, media_type="audio/wav")
            return JSONResponse(payload, status_code=status)

        return endpoint

    def _handle(
        self, route: SimRoute, request: Request, api_key: str | None, record: RecordedRequest
    ) -> tuple[int, Any]:
        if not self._authorized(request.headers.get("authorization"), api_key):
            raise SimHttpError(401, "Authentication required")
        operation = self.spec.operation(route.method, route.path) if self.spec else None
        if operation is not None:
            problems = operation.check_query_values(record.query)
            if problems:
                raise SimHttpError(400, "; ".join(problems))
        return route.handler(self, Call(record.path_params, record.query, record.body))

    async def _events_socket(self, websocket: WebSocket) -> None:
        self.ws_attempts += 1
        query = dict(websocket.query_params)
        api_key = query.pop("api_key", None)
        if not self._authorized(websocket.headers.get("authorization"), api_key):
            await _deny(websocket, 401, "Authentication required")
            return
        operation = self.spec.operation("GET", "/events") if self.spec else None
        problems = operation.check_query_values(query) if operation else []
        if problems or not query.get("app"):
            await _deny(websocket, 400, "; ".join(problems) or "Missing param app")
            return
        if self.reject_connections > 0:
            self.reject_connections -= 1
            await _deny(websocket, 503, "Service Unavailable (simulated)")
            return
        offered = websocket.scope.get("subprotocols", [])
        await websocket.accept(subprotocol="ari" if "ari" in offered else None)
        self.ws_sessions += 1
        if self.close_on_accept:
            await websocket.close(1000)
            return
        session = _Session(apps=frozenset(query["app"].split(",")))
        self._replace_older_sessions(session)
        self._sessions.append(session)
        try:
            await _pump(websocket, session)
        finally:
            session.active = False
            self._sessions.remove(session)
            session.closed.set()

    def _replace_older_sessions(self, new: _Session) -> None:
        # A second socket for the same app takes over; the old one is told ApplicationReplaced.
        for old in [s for s in self._sessions if s.active and s.apps & new.apps]:
            for app in sorted(old.apps & new.apps):
                event = {
                    "type": "ApplicationReplaced",
                    "timestamp": ari_timestamp(),
                    "application": app,
                    "asterisk_id": self.asterisk_id,
                }
                if self.spec is not None:
                    self.violations += self.spec.validate_event(event)
                self.emitted.append(event)
                old.queue.put_nowait(event)
                old.active = False


async def _deny(websocket: WebSocket, status: int, message: str) -> None:
    """Refuse the upgrade with an HTTP status, as Asterisk does for bad auth or params."""
    await websocket.send_denial_response(JSONResponse({"message": message}, status_code=status))


async def _pump(websocket: WebSocket, session: _Session) -> None:
    """Send queued events until told to close or the client goes away."""

    async def send() -> None:
        while True:
            item = await session.queue.get()
            if isinstance(item, _Close):
                await websocket.close(item.code, item.reason)
                return
            await websocket.send_text(json.dumps(item))

    async def receive() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    tasks = [asyncio.create_task(send()), asyncio.create_task(receive())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
