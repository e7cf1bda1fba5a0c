"""Helpers shared by tests (import from here, never from conftest: several conftest.py
files exist, and `import conftest` would pick whichever was loaded last)."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

import bus_fixtures
from comms.audit.models import AuditEntry
from comms.bus.models import OutboxEvent
from comms.db.tenancy import unscoped
from comms.hub import Hub
from comms.modules import Module, discover_modules
from comms.settings import Settings
from comms.tenants.service import create_tenant

TESTS_DIR = Path(__file__).parent
PG_URL = os.environ.get("HUITONG_TEST_DATABASE_URL", "")
BROKER_URLS = [u for u in os.environ.get("HUITONG_TEST_BROKER_URLS", "").split(",") if u]
SECRET = "test-secret-key-that-is-long-enough-for-hs256"
PYTHON = sys.executable


def all_modules() -> list[Module]:
    return [*discover_modules(), bus_fixtures.module]


class RecordingDispatcher:
    """Stands in for the broker: keeps handed-over delivery ids for the test to run."""

    def __init__(self) -> None:
        self.sent: list[list[int]] = []

    def send(self, delivery_ids: Sequence[int]) -> None:
        self.sent.append(list(delivery_ids))

    def take(self) -> list[int]:
        ids = [i for chunk in self.sent for i in chunk]
        self.sent.clear()
        return ids


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "broker_url": "memory://",
        "secret_key": SECRET,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        "bus_retry_base": 0.0,
        "bus_poll_interval": 0.05,
        "bus_max_attempts": 3,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def drain(hub: Hub, rounds: int = 20) -> int:
    """Relay and run deliveries until nothing is left to hand over; returns runs made."""
    dispatcher = hub.dispatcher
    assert isinstance(dispatcher, RecordingDispatcher)
    runs = 0
    for _ in range(rounds):
        await hub.relay.run_once()
        ids = dispatcher.take()
        if not ids:
            if await undispatched(hub):
                continue  # a pass whose events all had no (matching) subscriber
            return runs
        await hub.run_deliveries(ids)
        runs += 1
    raise AssertionError("bus did not settle")


async def undispatched(hub: Hub) -> int:
    """Outbox events the relay has not looked at yet."""
    async with hub.db.session() as s:
        unscoped(s)
        n = await s.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))
        )
    return int(n or 0)


async def count_effects(hub: Hub, who: str | None = None) -> int:
    async with hub.db.session() as s:
        unscoped(s)
        q = (
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == bus_fixtures.EFFECT)
        )
        if who:
            q = q.where(AuditEntry.entity_type == who)
        return int(await s.scalar(q) or 0)


@dataclass
class TenantCtx:
    id: uuid.UUID
    name: str
    api_key: str
    admin_email: str
    admin_password: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def make_tenant(hub: Hub, name: str | None = None) -> TenantCtx:
    name = name or f"tenant-{uuid.uuid4().hex[:8]}"
    email = f"admin@{name}.example.cn"
    async with hub.db.session() as s:
        new = await create_tenant(s, hub.credentials, name, email, "admin-password-1")
    return TenantCtx(new.tenant.id, name, new.api_key_secret, email, "admin-password-1")


def subprocess_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment for a child `huitong` process sharing this test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUITONG_")}
    env.update(
        HUITONG_DATA_DIR=str(settings.data_dir),
        HUITONG_DATABASE_URL=settings.database_url,
        HUITONG_SECRET_KEY=SECRET,
        HUITONG_EXTRA_MODULES="bus_fixtures:module",
        HUITONG_ARGON2_TIME_COST="1",
        HUITONG_ARGON2_MEMORY_KIB="1024",
        PYTHONPATH=os.pathsep.join(
            [str(TESTS_DIR.parent), str(TESTS_DIR), env.get("PYTHONPATH", "")]
        ),
    )
    env.update(extra)
    return env
