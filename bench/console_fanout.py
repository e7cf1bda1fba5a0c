"""Console fan-out: time for one queue update to reach 1,000 open console WebSockets.

    python bench/console_fanout.py [--clients 1000] [--rounds 50] [--client-procs 2]
                                   [--redis redis://127.0.0.1:6379/15]
    (also the "console fan-out" section of bench/acd.py)

Method (the production shape): a `huitong serve`-like API process (uvicorn, a subprocess of
this script) holds N real `/ws/console` WebSockets, each authenticated with its own
supervisor's JWT; the N clients (websockets library) run in `--client-procs` separate
processes (0: in this process, the old shape), so the bench's publisher is not queued behind
1,000 clients' parsing. Times are CLOCK_MONOTONIC (`time.monotonic`), one clock for every
process on the machine. This process also
plays the Celery worker whose bus handler publishes `telephony.queue.stats`: it publishes one
push to the tenant's supervisors through `Fanout` with the Redis backend, exactly as the
handler does. The API process's one Redis listener hands it to its N sockets.

Per round: t0 = just before the publish; a round ends when every client has the push.
Printed: median and p99 over rounds of "last client reached" (the target: < 250 ms), and the
median/p99 of every single delivery (publish -> one client's receive) over all rounds.
Clients parse every message in Python on the same 2 cores as the server: the figure
includes their share of the CPU, whichever process they run in.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
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
    options: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "log_level": "warning",
        "ws": "websockets-sansio",
        # As `huitong serve`: no permessage-deflate (it compresses every push once per socket).
        "ws_per_message_deflate": os.environ.get("BENCH_FANOUT_DEFLATE") == "1",
    }
    profile_to = os.environ.get("BENCH_FANOUT_PROFILE")
    if not profile_to:
        uvicorn.run(app, **options)
        return
    # --profile: where the API process spends its CPU. uvicorn re-raises SIGTERM after its
    # shutdown, with the handler found at start: this one writes the stats, then exits.
    import cProfile
    import signal

    profiler = cProfile.Profile()

    def dump(*_: object) -> None:
        profiler.disable()
        profiler.dump_stats(profile_to)
        os._exit(0)

    signal.signal(signal.SIGTERM, dump)
    profiler.enable()
    uvicorn.run(app, **options)
    dump()


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


async def open_consoles(url: str, tokens: list[str]) -> list[object]:
    """Open one authenticated `/ws/console` per token (50 handshakes at a time)."""
    from websockets.asyncio.client import connect

    sockets: list[object] = []
    gate = asyncio.Semaphore(50)

    async def open_one(token: str) -> None:
        async with gate:
            ws = await connect(url, max_queue=None, open_timeout=60)
            await ws.send(json.dumps({"token": token}))
            hello = json.loads(await ws.recv())
            assert hello["type"] == "hello", hello
            sockets.append(ws)

    await asyncio.gather(*(open_one(tok) for tok in tokens))
    return sockets


def clients_main(url: str, tokens: list[str], pipe: object) -> None:
    """A client process: its share of the consoles; reports each round's arrival times."""
    asyncio.run(_clients(url, tokens, pipe))


async def _clients(url: str, tokens: list[str], pipe: object) -> None:
    sockets = await open_consoles(url, tokens)
    pipe.send(("ready", len(sockets)))  # type: ignore[attr-defined]
    arrivals: dict[int, list[float]] = {}

    async def reader(ws: object) -> None:
        async for raw in ws:  # type: ignore[attr-defined]
            now = time.monotonic()
            msg = json.loads(raw)
            if msg.get("type") == "queue":
                got = arrivals.setdefault(msg["seq"], [])
                got.append(now)
                if len(got) == len(sockets):
                    pipe.send(("round", msg["seq"], arrivals.pop(msg["seq"])))  # type: ignore[attr-defined]

    readers = [asyncio.create_task(reader(ws)) for ws in sockets]
    await asyncio.to_thread(pipe.recv)  # type: ignore[attr-defined]  # "stop"
    for task in readers:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)  # type: ignore[attr-defined]


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc), whatever else loads the box."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def bench(args: argparse.Namespace) -> None:
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
    if args.deflate:
        env["BENCH_FANOUT_DEFLATE"] = "1"
    if args.profile:
        env["BENCH_FANOUT_PROFILE"] = args.profile
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], env=env)  # noqa: ASYNC220
    try:
        await wait_port(port, proc)
        url = f"ws://127.0.0.1:{port}/ws/console"
        t = time.perf_counter()
        procs, pipes = [], []
        in_process: list[object] = []
        arrivals: dict[int, list[float]] = {}
        done: dict[int, asyncio.Event] = {}
        if args.client_procs:
            spawn = multiprocessing.get_context("spawn")
            for k in range(args.client_procs):
                mine, theirs = spawn.Pipe()
                share = tokens[k :: args.client_procs]
                proc_k = spawn.Process(target=clients_main, args=(url, share, theirs), daemon=True)
                proc_k.start()
                procs.append(proc_k)
                pipes.append(mine)
            ready = await asyncio.gather(*(asyncio.to_thread(p.recv) for p in pipes))
            connected = sum(r[1] for r in ready)
        else:
            in_process = await open_consoles(url, tokens)
            connected = len(in_process)

            async def reader(ws: object) -> None:
                async for raw in ws:  # type: ignore[attr-defined]
                    now = time.monotonic()
                    msg = json.loads(raw)
                    if msg.get("type") == "queue":
                        got = arrivals.setdefault(msg["seq"], [])
                        got.append(now)
                        if len(got) == connected:
                            done[msg["seq"]].set()

            readers = [asyncio.create_task(reader(ws)) for ws in in_process]
        print(
            f"{connected} consoles connected in {time.perf_counter() - t:.1f} s "
            f"({args.client_procs or 'no'} client processes)"
        )

        registry = Registry()
        publisher = Fanout(RedisBackend(args.redis, registry), registry)
        reach_all: list[float] = []
        each: list[float] = []
        watched = {"API process": [proc.pid], "clients": [p.pid for p in procs] or [os.getpid()]}
        cpu_before: dict[str, float] = {}
        for seq in range(args.rounds + args.warmup):
            if seq == args.warmup:
                cpu_before = {k: sum(map(cpu_seconds, v)) for k, v in watched.items()}
            done[seq] = asyncio.Event()
            t0 = time.monotonic()
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
            if pipes:
                reports = await asyncio.wait_for(
                    asyncio.gather(*(asyncio.to_thread(p.recv) for p in pipes)), 30
                )
                assert all(r[:2] == ("round", seq) for r in reports), reports
                arrivals[seq] = [a for r in reports for a in r[2]]
            else:
                await asyncio.wait_for(done[seq].wait(), 30)
            if seq >= args.warmup:
                reach_all.append((max(arrivals[seq]) - t0) * 1000)
                each.extend((a - t0) * 1000 for a in arrivals[seq])
            await asyncio.sleep(args.gap)
        cpu = {
            k: (sum(map(cpu_seconds, v)) - cpu_before[k]) * 1000 / args.rounds
            for k, v in watched.items()
        }
        await publisher.close()
        for pipe in pipes:
            pipe.send("stop")
        for proc_k in procs:
            proc_k.join(30)
        if in_process:
            for task in readers:
                task.cancel()
            await asyncio.gather(*(ws.close() for ws in in_process), return_exceptions=True)  # type: ignore[attr-defined]

        print(
            f"{args.clients} consoles, {args.rounds} queue updates (Redis fan-out, 1 API process, "
            f"permessage-deflate {'on' if args.deflate else 'off'})"
        )
        print(
            f"  last console reached: median {statistics.median(reach_all):.1f} ms, "
            f"p99 {pct(reach_all, 99):.1f} ms, max {max(reach_all):.1f} ms  (target < 250 ms)"
        )
        print(
            f"  each delivery:        median {statistics.median(each):.1f} ms, "
            f"p99 {pct(each, 99):.1f} ms"
        )
        print(
            "  CPU per update:       "
            + ", ".join(f"{k} {v:.1f} ms" for k, v in cpu.items())
            + (" (incl. this process)" if not procs else "")
        )
    finally:
        proc.terminate()
        proc.wait(10)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=50)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--gap", type=float, default=0.1, help="seconds between updates")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    p.add_argument(
        "--deflate", action="store_true", help="serve with permessage-deflate (uvicorn's default)"
    )
    p.add_argument("--profile", help="write the API process's cProfile stats to this file")
    p.add_argument(
        "--client-procs", type=int, default=2, help="processes holding the clients (0: this one)"
    )
    p.add_argument("--serve", type=int, help=argparse.SUPPRESS)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_arguments(p)
    args = p.parse_args()
    if args.serve:
        serve_main(args.serve)
        return
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
