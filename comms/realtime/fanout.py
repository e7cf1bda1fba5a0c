"""The WebSocket fan-out: who is connected here, and how a push reaches them everywhere.

Connections are keyed by (tenant, user, role). A push names an audience — one user, a
tenant's supervisors, or a whole tenant — never a socket, so the publisher (a bus handler,
maybe in a Celery worker of another process) needs no idea where the user is connected. The
backend carries the push to every process holding sockets: `LocalBackend` within this process
(embedded shape), `RedisBackend` (comms/realtime/redis.py) over Redis pub/sub.

Sockets live on the API's event loop while handlers may run on another loop or thread (the
embedded worker), so each connection owns a queue filled with `call_soon_threadsafe`. A push
is serialised to JSON once, however many sockets it reaches: queues hold the text.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from comms.auth.models import Role

# The key under which the hub puts its Fanout in `hub.services` (handlers: ctx.services).
REALTIME = "realtime"
QUEUE_LIMIT = 1000
# Put in a connection's queue when it overflowed: the socket is closed so the client
# reconnects and re-reads its state, instead of silently missing pushes.
OVERFLOW = '{"type": "overflow"}'


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, default=str, separators=(",", ":"), ensure_ascii=False)


class Scope(enum.StrEnum):
    USER = "user"
    SUPERVISORS = "supervisors"
    TENANT = "tenant"


@dataclass(frozen=True)
class Audience:
    """Who a push is for; always within one tenant."""

    tenant_id: uuid.UUID
    scope: Scope
    user_id: uuid.UUID | None = None

    @classmethod
    def user(cls, tenant_id: uuid.UUID, user_id: uuid.UUID) -> Audience:
        return cls(tenant_id, Scope.USER, user_id)

    @classmethod
    def supervisors(cls, tenant_id: uuid.UUID) -> Audience:
        return cls(tenant_id, Scope.SUPERVISORS)

    @classmethod
    def tenant(cls, tenant_id: uuid.UUID) -> Audience:
        return cls(tenant_id, Scope.TENANT)

    def includes(self, conn: Connection) -> bool:
        if conn.tenant_id != self.tenant_id:
            return False
        if self.scope is Scope.USER:
            return conn.user_id == self.user_id
        if self.scope is Scope.SUPERVISORS:
            return conn.role.allows(Role.SUPERVISOR)
        return True

    def to_wire(self) -> dict[str, str | None]:
        return {
            "tenant_id": str(self.tenant_id),
            "scope": self.scope.value,
            "user_id": str(self.user_id) if self.user_id else None,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Audience:
        user = data.get("user_id")
        return cls(
            uuid.UUID(data["tenant_id"]), Scope(data["scope"]), uuid.UUID(user) if user else None
        )


@dataclass(eq=False)
class Connection:
    """One open socket of this process; `queue` belongs to the socket's event loop."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT + 1))
    overflowed: bool = False

    def offer(self, text: str) -> None:
        """Queue a push (on the connection's loop); a reader that fell behind is cut off."""
        if self.overflowed:
            return
        if self.queue.qsize() >= QUEUE_LIMIT:
            self.overflowed = True
            self.queue.put_nowait(OVERFLOW)
            return
        self.queue.put_nowait(text)


class Registry:
    """This process's open connections, per tenant; safe to use from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_tenant: dict[uuid.UUID, set[Connection]] = {}

    def add(self, conn: Connection) -> None:
        with self._lock:
            self._by_tenant.setdefault(conn.tenant_id, set()).add(conn)

    def remove(self, conn: Connection) -> None:
        with self._lock:
            conns = self._by_tenant.get(conn.tenant_id)
            if conns is not None:
                conns.discard(conn)
                if not conns:
                    del self._by_tenant[conn.tenant_id]

    def count(self, tenant_id: uuid.UUID | None = None) -> int:
        with self._lock:
            if tenant_id is not None:
                return len(self._by_tenant.get(tenant_id, ()))
            return sum(len(c) for c in self._by_tenant.values())

    def deliver(self, audience: Audience, message: dict[str, Any]) -> int:
        """Hand `message` to every local connection in `audience`; returns how many."""
        return self.deliver_text(audience, encode(message))

    def deliver_text(self, audience: Audience, text: str) -> int:
        """As `deliver`, for a push already serialised (as it comes off Redis)."""
        with self._lock:
            here = self._by_tenant.get(audience.tenant_id, set())
            targets = [c for c in here if audience.includes(c)]
        by_loop: dict[asyncio.AbstractEventLoop, list[Connection]] = {}
        for conn in targets:
            by_loop.setdefault(conn.loop, []).append(conn)
        for loop, batch in by_loop.items():
            # One wake-up per loop, not per socket: 1,000 consoles cost one callback.
            with contextlib.suppress(RuntimeError):  # loop closed while we looked
                loop.call_soon_threadsafe(_offer_all, batch, text)
        return len(targets)

    def deliver_all(self, message: dict[str, Any]) -> int:
        """Hand `message` to every local connection of every tenant (resync after a gap)."""
        with self._lock:
            tenants = list(self._by_tenant)
        return sum(self.deliver(Audience.tenant(t), message) for t in tenants)


def _offer_all(conns: list[Connection], text: str) -> None:
    for conn in conns:
        conn.offer(text)


class Backend(Protocol):
    """Carries a push to every process that may hold sockets of its audience."""

    async def publish(self, audience: Audience, message: dict[str, Any]) -> None: ...

    async def ensure_listening(self) -> None: ...

    async def close(self) -> None: ...


class LocalBackend:
    """Embedded shape: publisher and sockets share this process."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    async def publish(self, audience: Audience, message: dict[str, Any]) -> None:
        self._registry.deliver(audience, message)

    async def ensure_listening(self) -> None:
        return None

    async def close(self) -> None:
        return None


class Fanout:
    """Publish to a user, a tenant's supervisors or a tenant; hold this process's sockets."""

    def __init__(self, backend: Backend | None = None, registry: Registry | None = None) -> None:
        self.registry = registry or Registry()
        self.backend: Backend = backend or LocalBackend(self.registry)

    async def to_user(self, tenant_id: uuid.UUID, user_id: uuid.UUID, msg: dict[str, Any]) -> None:
        await self.backend.publish(Audience.user(tenant_id, user_id), msg)

    async def to_supervisors(self, tenant_id: uuid.UUID, msg: dict[str, Any]) -> None:
        await self.backend.publish(Audience.supervisors(tenant_id), msg)

    async def to_tenant(self, tenant_id: uuid.UUID, msg: dict[str, Any]) -> None:
        await self.backend.publish(Audience.tenant(tenant_id), msg)

    async def publish(self, audience: Audience, msg: dict[str, Any]) -> None:
        await self.backend.publish(audience, msg)

    @contextlib.asynccontextmanager
    async def connect(
        self, tenant_id: uuid.UUID, user_id: uuid.UUID, role: Role
    ) -> AsyncIterator[Connection]:
        """Register a socket for the duration of the block (and start listening here)."""
        await self.backend.ensure_listening()
        conn = Connection(tenant_id, user_id, role, asyncio.get_running_loop())
        self.registry.add(conn)
        try:
            yield conn
        finally:
            self.registry.remove(conn)

    def connected(self, tenant_id: uuid.UUID | None = None) -> int:
        return self.registry.count(tenant_id)

    async def close(self) -> None:
        await self.backend.close()


def build_fanout(redis_url: str) -> Fanout:
    """In-process fan-out, or Redis pub/sub when a Redis URL is configured."""
    if not redis_url:
        return Fanout()
    from comms.realtime.redis import RedisBackend

    registry = Registry()
    return Fanout(RedisBackend(redis_url, registry), registry)


def fanout_of(services: dict[str, Any]) -> Fanout | None:
    found = services.get(REALTIME)
    return found if isinstance(found, Fanout) else None
