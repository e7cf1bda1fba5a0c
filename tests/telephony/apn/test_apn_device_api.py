"""The device-facing API: device tokens, source-address enforcement, data, WebSocket pushes."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
import websockets
from sqlalchemy import select

from apn_factories import device_token, make_apn, make_device
from comms.app import create_app
from comms.bus.models import OutboxEvent
from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
from hubtest import TenantCtx, drain
from telephony.apn import sessions
from telephony.apn.sessions import AcctRecord, AcctStatus


async def start_session(hub: Hub, tenant: TenantCtx, device: dict[str, str], address: str) -> None:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        await sessions.record(
            s,
            AcctRecord(
                status=AcctStatus.START,
                nas_address="192.0.2.1",
                acct_session_id=f"s-{address}",
                device_id=uuid.UUID(device["id"]),
                apn_id=uuid.UUID(device["apn_id"]),
                at=datetime.now(UTC),
                address=address,
            ),
        )
        await s.commit()


async def test_device_routes_take_device_tokens_only(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    body = {"values": {"temperature_c": 4.5}}
    r = await client.post("/api/v1/device/readings", headers=tenant.auth, json=body)
    assert r.status_code == 401
    r = await client.post("/api/v1/device/readings", json=body)
    assert r.status_code == 401


async def test_a_device_posts_readings_checkins_and_confirms_deliveries(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    apn = await make_apn(client, tenant)
    device = await make_device(client, tenant, apn["id"])
    auth = {"Authorization": f"Bearer {await device_token(client, tenant, device['id'])}"}

    r = await client.post("/api/v1/device/readings", headers=auth, json={"values": {"t": 4.5}})
    assert r.status_code == 201, r.text
    r = await client.post(
        "/api/v1/device/checkins", headers=auth, json={"latitude": 31.23, "longitude": 121.47}
    )
    assert r.status_code == 201
    r = await client.post(
        "/api/v1/device/checkins", headers=auth, json={"latitude": 91, "longitude": 0}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "latitude"
    r = await client.post(
        "/api/v1/device/deliveries",
        headers=auth,
        json={"order_number": "SO-2026-0042", "latitude": 31.2, "longitude": 121.4},
    )
    assert r.status_code == 201

    listed = await client.get(f"/api/v1/apn/devices/{device['id']}/data", headers=tenant.auth)
    assert [d["kind"] for d in listed.json()] == ["delivery", "checkin", "reading"]
    async with hub.db.session() as s:
        unscoped(s)
        events = {
            e.topic: e.payload
            for e in await s.scalars(select(OutboxEvent))
            if e.topic.startswith("apn.")
        }
    assert set(events) == {"apn.reading.recorded", "apn.checkin.recorded", "apn.delivery.confirmed"}
    confirmed = events["apn.delivery.confirmed"]
    assert confirmed["order_number"] == "SO-2026-0042"
    assert confirmed["device_id"] == device["id"]


async def test_enforced_apn_accepts_only_the_address_of_the_current_session(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    apn = await make_apn(client, tenant, enforce_source_address=True)
    device = await make_device(client, tenant, apn["id"])
    auth = {"Authorization": f"Bearer {await device_token(client, tenant, device['id'])}"}
    reading = {"values": {"t": 1.0}}

    # No session yet: refused (httpx's ASGI transport calls from 127.0.0.1).
    r = await client.post("/api/v1/device/readings", headers=auth, json=reading)
    assert r.status_code == 403
    await start_session(hub, tenant, device, "10.64.0.9")
    r = await client.post("/api/v1/device/readings", headers=auth, json=reading)
    assert r.status_code == 403
    await start_session(hub, tenant, device, "127.0.0.1")  # supersedes the first
    r = await client.post("/api/v1/device/readings", headers=auth, json=reading)
    assert r.status_code == 201

    r = await client.patch(
        f"/api/v1/apn/devices/{device['id']}", headers=tenant.auth, json={"enabled": False}
    )
    r = await client.post("/api/v1/device/readings", headers=auth, json=reading)
    assert r.status_code == 401


# ---------------------------------------------------------------- the WebSocket, for real


@pytest.fixture
async def live_url(hub: Hub) -> AsyncIterator[str]:
    """The app served by uvicorn on a free port, in this test's event loop."""
    app = create_app(hub=hub, start_services=False)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_device_socket_receives_pushes_published_on_the_bus(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, live_url: str
) -> None:
    apn = await make_apn(client, tenant)
    device = await make_device(client, tenant, apn["id"])
    token = await device_token(client, tenant, device["id"])

    async with websockets.connect(
        f"ws://{live_url}/ws/device", additional_headers={"Authorization": f"Bearer {token}"}
    ) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert hello == {"type": "hello", "device_id": device["id"]}
        r = await client.post(
            f"/api/v1/apn/devices/{device['id']}/push",
            headers=tenant.auth,
            json={"kind": "job.assigned", "body": {"order": "SO-1"}},
        )
        assert r.status_code == 202
        await drain(hub)
        push = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert (push["type"], push["kind"], push["body"]) == (
            "push",
            "job.assigned",
            {"order": "SO-1"},
        )
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "pong"}


async def test_device_socket_takes_the_token_as_first_message_and_refuses_bad_ones(
    client: httpx.AsyncClient, tenant: TenantCtx, live_url: str
) -> None:
    apn = await make_apn(client, tenant)
    device = await make_device(client, tenant, apn["id"])
    token = await device_token(client, tenant, device["id"])
    async with websockets.connect(f"ws://{live_url}/ws/device") as ws:
        await ws.send(json.dumps({"token": token}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "hello"
    async with websockets.connect(f"ws://{live_url}/ws/device") as ws:
        await ws.send(json.dumps({"token": tenant.api_key}))  # an admin key is no device
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
