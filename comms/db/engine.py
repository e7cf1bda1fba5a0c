"""Engine and session factory, with the SQLite settings that make it safe for concurrent use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

# Importing tenancy registers its Session listeners before any session exists.
from comms.db import tenancy as _tenancy  # noqa: F401


def _sqlite_file(url: str) -> Path | None:
    u = make_url(url)
    if not u.drivername.startswith("sqlite") or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def create_engine_for(url: str, **kw: Any) -> AsyncEngine:
    """An async engine; on SQLite: WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE."""
    path = _sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    if make_url(url).drivername == "postgresql+asyncpg":
        # Statements are prepared once per connection and kept in this LRU: the default 100
        # is fewer than the hub's distinct hot statements, so they were prepared again and
        # again (an extra round trip and a plan each time).
        kw.setdefault("connect_args", {}).setdefault("prepared_statement_cache_size", 1000)
    engine = create_async_engine(url, **kw)
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take over transaction control from the driver so that BEGIN IMMEDIATE can be sent:
        # a deferred transaction that reads and then writes gets SQLITE_BUSY at once (no busy
        # wait) when another connection wrote in between, which would fail bus deliveries.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """An engine plus its session factory; one per process and event loop."""

    def __init__(self, url: str, info: dict[str, Any] | None = None, **engine_kw: Any) -> None:
        self.url = url
        self.engine = create_engine_for(url, **engine_kw)
        self.sessionmaker = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=Session, info=info or {}
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
