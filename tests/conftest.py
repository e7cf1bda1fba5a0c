"""Fixtures: a migrated database per test (SQLite always, PostgreSQL when
HUITONG_TEST_DATABASE_URL is set), a hub whose bus the test drives step by step, an API
client, and tenants built through the real services."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from comms.app import create_app
from comms.db.base import Base
from comms.db.migrate import upgrade
from comms.hub import Hub
from comms.settings import Settings
from hubtest import PG_URL, RecordingDispatcher, TenantCtx, all_modules, make_settings, make_tenant

# ---------------------------------------------------------------- databases


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}", all_modules())
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, migrated once; dropped at the end."""
    if not PG_URL:
        pytest.skip("HUITONG_TEST_DATABASE_URL not set")
    import asyncpg

    url = make_url(PG_URL)
    name = f"huitong_test_{os.getpid()}"
    admin_dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    test_url = url.set(database=name).render_as_string(hide_password=False)
    upgrade(test_url, all_modules())
    yield test_url
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "huitong.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url: str = request.getfixturevalue("pg_database")
    asyncio.run(_truncate_all(url))
    yield url


async def _truncate_all(url: str) -> None:
    from comms.db.engine import create_engine_for

    engine = create_engine_for(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


# ---------------------------------------------------------------- the hub


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    h = Hub(settings, all_modules(), dispatcher=RecordingDispatcher())
    yield h
    await h.stop()


# ---------------------------------------------------------------- API and tenants


@pytest.fixture
async def client(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(hub=hub, start_services=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as c:
        yield c


@pytest.fixture
async def tenant(hub: Hub) -> TenantCtx:
    return await make_tenant(hub, "acme")


@pytest.fixture
async def other_tenant(hub: Hub) -> TenantCtx:
    return await make_tenant(hub, "globex")
