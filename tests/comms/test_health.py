from __future__ import annotations

from pathlib import Path

import httpx

from comms.app import create_app
from comms.hub import Hub
from hubtest import all_modules, make_settings


async def get(app: object, path: str) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
        base_url="http://hub",
    ) as c:
        return await c.get(path)


async def test_healthz_and_readyz_answer_when_all_is_up(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "broker": "ok (embedded)"}


async def test_readyz_is_503_naming_an_unreachable_broker(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, broker_url="redis://127.0.0.1:1/0")
    hub = Hub(settings, all_modules())
    r = await get(create_app(hub=hub, start_services=False), "/readyz")
    await hub.stop()
    assert r.status_code == 503
    assert r.json()["checks"]["database"] == "ok"
    assert r.json()["checks"]["broker"].startswith("unreachable")
    assert r.json()["detail"] == "not ready: broker unreachable"


async def test_readyz_is_503_naming_an_unreachable_database(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    hub = Hub(make_settings(url, tmp_path), all_modules())
    r = await get(create_app(hub=hub, start_services=False), "/readyz")
    await hub.stop()
    assert r.status_code == 503
    assert r.json()["detail"] == "not ready: database unreachable"
