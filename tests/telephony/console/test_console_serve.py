"""The embedded shape, as shipped: `huitong serve` (relay and Celery worker in-process) pushes
an agent's state change to their open console socket."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest
from console_testkit import free_port, recv_type, ws_url
from websockets.asyncio.client import connect

from hubtest import PYTHON, SECRET

pytestmark = pytest.mark.slow


async def test_huitong_serve_pushes_an_agent_state_change_to_the_console(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUITONG_")}
    env.update(
        HUITONG_PORT=str(port),
        HUITONG_DATA_DIR=str(tmp_path),
        HUITONG_SECRET_KEY=SECRET,
        HUITONG_ARGON2_TIME_COST="1",
        HUITONG_ARGON2_MEMORY_KIB="1024",
        HUITONG_LOG_LEVEL="WARNING",
    )
    proc = subprocess.Popen(
        [PYTHON, "-m", "comms.cli", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as c:
            async with asyncio.timeout(60):
                while True:
                    try:
                        if (await c.get("/readyz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.3)
            init = await asyncio.to_thread(
                subprocess.run,
                [PYTHON, "-m", "comms.cli", "init", "--tenant", "Acme", "--admin-email",
                 "a@acme.cn", "--admin-password", "secret-123"],
                env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            admin = {"Authorization": f"Bearer {json.loads(init.stdout)['api_key']}"}
            user = await c.post(
                "/api/v1/users",
                headers=admin,
                json={"email": "li@acme.cn", "password": "agent-pass-1", "role": "agent"},
            )
            assert user.status_code == 201, user.text
            queue = await c.post("/api/v1/callcentre/queues", headers=admin, json={"name": "q"})
            assert queue.status_code == 201, queue.text
            agent = await c.post(
                "/api/v1/callcentre/agents",
                headers=admin,
                json={
                    "user_id": user.json()["id"],
                    "name": "Li",
                    "endpoint": "PJSIP/li",
                    "queue_ids": [queue.json()["id"]],
                },
            )
            assert agent.status_code == 201, agent.text
            login = await c.post(
                "/api/v1/auth/login", json={"email": "li@acme.cn", "password": "agent-pass-1"}
            )
            token = login.json()["access_token"]
            async with connect(ws_url(base, token)) as ws:
                assert (await recv_type(ws, "hello"))["user_id"] == user.json()["id"]
                # The client offered permessage-deflate; `huitong serve` declines it (fan-out
                # cost, docs/console.md).
                assert ws.response is not None
                assert "Sec-WebSocket-Extensions" not in ws.response.headers
                r = await c.post(
                    "/api/v1/callcentre/agents/me/state",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"state": "available"},
                )
                assert r.status_code == 200, r.text
                push = await recv_type(ws, "agent", timeout=20)
                assert (push["from_state"], push["to_state"]) == ("logged_out", "available")
    finally:
        proc.terminate()
        out, _ = await asyncio.to_thread(proc.communicate, timeout=30)
    assert "Traceback" not in out, out
