"""Helpers for console tests: a real uvicorn server on a free port, users, console sockets."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from comms.bus import publish
from comms.db.base import utcnow
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from comms.modules import Module
from comms.settings import Settings
from hubtest import RecordingDispatcher, TenantCtx, all_modules, drain


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Run `app` under uvicorn on this loop (real HTTP and WebSockets); yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ws="websockets-sansio",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class Person:
    user_id: str
    email: str
    password: str
    token: str
    role: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_person(
    client: httpx.AsyncClient, t: TenantCtx, role: str = "agent", name: str = "", **extra: Any
) -> Person:
    """A console user created by the tenant's admin, signed in."""
    email = f"{role}-{name or 'x'}-{t.name}-{len(extra)}@example.cn".lower().replace(" ", "")
    password = "agent-password-1"
    r = await client.post(
        "/api/v1/users",
        headers=t.auth,
        json={"email": email, "name": name, "password": password, "role": role, **extra},
    )
    assert r.status_code == 201, r.text
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    return Person(r.json()["id"], email, password, login.json()["access_token"], role)


def ws_url(base: str, token: str | None = None) -> str:
    url = base.replace("http://", "ws://") + "/ws/console"
    return f"{url}?token={token}" if token else url


@contextlib.asynccontextmanager
async def console(base: str, person: Person) -> AsyncIterator[ClientConnection]:
    """An open, greeted console socket for `person`."""
    async with connect(ws_url(base, person.token)) as ws:
        hello = await recv(ws)
        assert hello["type"] == "hello" and hello["user_id"] == person.user_id
        yield ws


async def recv(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return data


async def recv_type(ws: ClientConnection, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next push of type `kind`, skipping others."""
    async with asyncio.timeout(timeout):
        while True:
            msg = await recv(ws, timeout)
            if msg["type"] == kind:
                return msg


async def silent(ws: ClientConnection, wait: float = 0.3) -> bool:
    """True when nothing arrives within `wait` seconds."""
    try:
        await asyncio.wait_for(ws.recv(), wait)
    except TimeoutError:
        return True
    return False


def modules_answering(answers: dict[str, Any], unanswered: tuple[str, ...] = ()) -> list[Module]:
    """The test modules, with `answers` (name -> query) standing in for whichever package
    would answer those names (erp may or may not be installed on this branch), and nobody
    answering `unanswered` (a package that is not installed)."""
    gone = set(answers) | set(unanswered)
    mods = [
        dataclasses.replace(m, queries={k: v for k, v in m.queries.items() if k not in gone})
        for m in all_modules()
    ]
    return [*mods, Module(name="console-test-answers", queries=answers)]


def hub_answering(
    settings: Settings, answers: dict[str, Any], unanswered: tuple[str, ...] = ()
) -> Hub:
    return Hub(settings, modules_answering(answers, unanswered), dispatcher=RecordingDispatcher())


async def make_contact(
    client: httpx.AsyncClient, t: TenantCtx, name: str, **fields: Any
) -> dict[str, Any]:
    """A CRM contact, through crm's API (the console only reads it through queries)."""
    r = await client.post("/api/v1/crm/contacts", headers=t.auth, json={"name": name, **fields})
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def emit(hub: Hub, tenant_id: uuid.UUID, topic: str, **facts: Any) -> None:
    """Publish `topic` for the tenant (stamped with tenant_id and at) and run the bus."""
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        publish(s, topic, {"tenant_id": str(tenant_id), "at": utcnow().isoformat(), **facts})
        await s.commit()
    await drain(hub)


# One SIP-over-WebSocket test peer port per run, named in the tenant's WebRTC account below
# (the browser tests register JsSIP there).
SIP_PORT = free_port()


async def sip_account(_: Any, args: Mapping[str, str]) -> dict[str, str]:
    """Answers `telephony.agent_webrtc`: the agent's browser phone account."""
    return {
        "wss_url": f"ws://127.0.0.1:{SIP_PORT}/ws",
        "sip_uri": "sip:1001@pbx.example.cn",
        "password": "sip-secret",
        "display_name": "Li",
    }
