"""Console fan-out: time for one queue update to reach 1,000 open console WebSockets.

    python bench/console_fanout.py [--clients 1000] [--rounds 50] [--redis redis://127.0.0.1:6379/15]

Method (the production shape): a `huitong serve`-like API process (uvicorn, a subprocess of
this script) holds N real `/ws/console` WebSockets, each authenticated with its own
supervisor's JWT; the N clients (websockets library) run in this process. This process also
plays the Celery worker whose bus handler publishes `telephony.queue.stats`: it publishes one
push to the tenant's supervisors through `Fanout` with the Redis backend, exactly as the
handler does. The API process's one Redis listener hands it to its N sockets.

Per round: t0 = just before the publish; a round ends when every client has the push.
Printed: median and p99 over rounds of "last client reached" (the target: < 250 ms), and the
median/p99 of every single delivery (publish -> one client's receive) over all rounds.
Clients parse every message in Python here, on the same 2 cores as the server: the figure
includes their share.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import insert

SECRET = "bench-console-fanout-secret-key-long-enough-for-hs256"
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_main(port: int) -> None:
    """The API process: the app with its hub, no relay (nothing is published through the bus)."""
    import uvicorn

    from comms.app import create_app
    from comms.hub import Hub
    from comms.settings import Settings

    app = create_app(hub=Hub(Settings()), start_services=False)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio")


async def make_people(db_url: str, n: int) -> tuple[uuid.UUID, list[str]]:
    """A tenant with n supervisors; their console JWTs."""
    from comms.auth.credentials import Tokens
    from comms.auth.models import Role, User
    from comms.db.engine import Database
    from comms.db.tenancy import unscoped
    from comms.tenants.models import Tenant

    db = Database(db_url)
    tenant_id = uuid.uuid4()
    users = [uuid.uuid4() for _ in range(n)]
    async with db.session() as s:
        unscoped(s)
        s.add(Tenant(id=tenant_id, name=f"bench-{tenant_id.hex[:6]}"))
        await s.flush()
        await s.execute(
            insert(User),
            [
                {
                    "id": u,
                    "tenant_id": tenant_id,
                    "email": f"sup{i}@{tenant_id.hex[:6]}.bench",
                    "name": f"sup {i}",
                    "password_hash": "-",  # never signs in: tokens are minted below
                    "role": Role.SUPERVISOR,
                }
                for i, u in enumerate(users)
            ],
        )
        await s.commit()
    await db.dispose()
    tokens = Tokens(SECRET, 3600)
    return tenant_id, [tokens.issue(u, tenant_id, Role.SUPERVISOR) for u in users]


async def wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"API process exited with {proc.returncode}")
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise SystemExit("API process did not start")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def bench(args: argparse.Namespace) -> None:
    from websockets.asyncio.client import connect

    from comms.auth.models import Role  # noqa: F401 - models must load before migrations
    from comms.db.migrate import upgrade
    from comms.modules import discover_modules
    from comms.realtime.fanout import Fanout, Registry
    from comms.realtime.redis import RedisBackend

    data = Path(tempfile.mkdtemp(prefix="huitong-fanout-"))
    db_url = f"sqlite+aiosqlite:///{data / 'bench.db'}"
    await asyncio.to_thread(upgrade, db_url, discover_modules())
    tenant_id, tokens = await make_people(db_url, args.clients)

    port = free_port()
    env = {
        **os.environ,
        "HUITONG_DATA_DIR": str(data),
        "HUITONG_DATABASE_URL": db_url,
        "HUITONG_SECRET_KEY": SECRET,
        "HUITONG_REALTIME_REDIS_URL": args.redis,
        "HUITONG_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], env=env)  # noqa: ASYNC220
    try:
        await wait_port(port, proc)
        url = f"ws://127.0.0.1:{port}/ws/console"
        arrivals: dict[int, list[float]] = {}
        done: dict[int, asyncio.Event] = {}
        sockets = []

        gate = asyncio.Semaphore(50)

        async def open_one(token: str) -> None:
            async with gate:
                ws = await connect(url, max_queue=None, open_timeout=60)
                await ws.send(json.dumps({"token": token}))
                hello = json.loads(await ws.recv())
                assert hello["type"] == "hello", hello
                sockets.append(ws)

        t = time.perf_counter()
        await asyncio.gather(*(open_one(tok) for tok in tokens))
        print(f"{len(sockets)} consoles connected in {time.perf_counter() - t:.1f} s")

        async def reader(ws: object) -> None:
            async for raw in ws:  # type: ignore[attr-defined]
                now = time.perf_counter()
                msg = json.loads(raw)
                if msg.get("type") == "queue":
                    got = arrivals.setdefault(msg["seq"], [])
                    got.append(now)
                    if len(got) == len(sockets):
                        done[msg["seq"]].set()

        readers = [asyncio.create_task(reader(ws)) for ws in sockets]
        registry = Registry()
        publisher = Fanout(RedisBackend(args.redis, registry), registry)
        reach_all: list[float] = []
        each: list[float] = []
        for seq in range(args.rounds + args.warmup):
            done[seq] = asyncio.Event()
            t0 = time.perf_counter()
            await publisher.to_supervisors(
                tenant_id,
                {
                    "type": "queue",
                    "seq": seq,
                    "queue_id": str(uuid.uuid4()),
                    "waiting": seq,
                    "longest_wait_seconds": 12,
                    "available_agents": 3,
                },
            )
            await asyncio.wait_for(done[seq].wait(), 30)
            if seq >= args.warmup:
                reach_all.append((max(arrivals[seq]) - t0) * 1000)
                each.extend((a - t0) * 1000 for a in arrivals[seq])
            await asyncio.sleep(args.gap)
        await publisher.close()
        for task in readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)

        print(
            f"{args.clients} consoles, {args.rounds} queue updates (Redis fan-out, 1 API process)"
        )
        print(
            f"  last console reached: median {statistics.median(reach_all):.1f} ms, "
            f"p99 {pct(reach_all, 99):.1f} ms, max {max(reach_all):.1f} ms  (target < 250 ms)"
        )
        print(
            f"  each delivery:        median {statistics.median(each):.1f} ms, "
            f"p99 {pct(each, 99):.1f} ms"
        )
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=50)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--gap", type=float, default=0.1, help="seconds between updates")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    p.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve_main(args.serve)
        return
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
