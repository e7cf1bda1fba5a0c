"""ARI call set-up under load: N concurrent calls through an IVR menu into VPMN dialling.

    python bench/ari_calls.py                       # 200 concurrent calls, SQLite
    python bench/ari_calls.py --calls 500 --database-url postgresql+asyncpg://...

Each call: StasisStart on a DID -> the app answers and plays the menu -> the caller presses 1
-> the flow routes to short number 6001 -> VPMN resolution -> the desk leg is created and
dialled (answering after 20 ms) -> bridged -> the caller hangs up. The in-process ARI
simulator plays Asterisk (spec-checked when HUITONG_ARI_SPEC_DIR or ../shared/ari exists).

The simulator and the callers run in a child process (as Asterisk would), so the app's event
loop and CPU figures are its own. Calls arrive at ``--rate`` per second (0 = all at once) and
stay bridged until every call is up, so ``--calls`` calls are concurrent at the peak.

Prints: calls/s set up (first StasisStart to last bridge), median and p99 time from a call's
StasisStart to the first ARI command the app sends for it (both stamped in the simulator's
process), and the app process's CPU per call. Target: 200 concurrent calls with p99 under
50 ms.

Before the measured calls, ``--warmup`` calls (10) run one by one and are reported apart:
the first call after the app starts pays one-off costs (SQLAlchemy compiling each statement
the first time, the first directory read, new pool connections) for about 200 ms, and the
calls arriving behind it in that moment queue for it. That is a cold start, printed as such;
the p99 is the running app's. ``--warmup 0`` measures from the cold start.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import event

from comms.auth.principal import Principal
from comms.db.migrate import upgrade
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from comms.modules import discover_modules
from comms.settings import Settings
from comms.tenants.service import create_tenant
from telephony.ari import AriClient, ReconnectPolicy
from telephony.ari.sim_routes import SimRoute
from telephony.ari.simulator import AriSimulator, RecordedRequest
from telephony.ari.spec import SpecNotFoundError, load_spec
from telephony.ivr import service as ivr
from telephony.stasis.app import StasisApp
from telephony.stasis.cli import freeze_startup_heap
from telephony.vpmn import service as vpmn
from telephony.vpmn.schemas import MemberIn, PlanIn

DID = "+861058001234"
FLOW: dict[str, Any] = {
    "start": "menu",
    "nodes": {
        "menu": {
            "type": "menu",
            "prompt": "sound:main-menu",
            "options": {"1": "desk"},
            "timeout": 5,
            "on_timeout": "bye",
        },
        "desk": {"type": "route", "target": {"kind": "short_number", "value": "6001"}},
        "bye": {"type": "hangup"},
    },
}


class TimedSimulator(AriSimulator):
    """Stamps each channel's first request; wakes the callers without polling."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.first_request: dict[str, float] = {}
        self.prompted: dict[str, asyncio.Future[None]] = {}
        self.bridged: dict[str, asyncio.Future[None]] = {}

    def _handle(
        self, route: SimRoute, request: Any, api_key: str | None, record: RecordedRequest
    ) -> tuple[int, Any]:
        channel = record.path_params.get("channelId")
        if channel and channel not in self.first_request:
            self.first_request[channel] = time.perf_counter()
        result = super()._handle(route, request, api_key, record)
        if route.nickname == "play" and record.query.get("media") == "sound:main-menu":
            _resolve(self.prompted.get(channel or ""))
        elif route.nickname == "addChannel":
            for ch in record.query.get("channel", "").split(","):
                _resolve(self.bridged.get(ch))
        return result


def _resolve(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)


async def prepare(hub: Hub) -> None:
    async with hub.db.session() as s:
        made = await create_tenant(s, hub.credentials, "bench", "admin@bench.cn", "bench-pass-1")
    actor = Principal.system(made.tenant.id)
    async with hub.db.session() as s:
        scoped_to(s, made.tenant.id)
        await vpmn.set_plan(s, actor, PlanIn(short_length=4, prefixes=["6"]))
        await vpmn.create_member(
            s, actor, MemberIn(name="desk", short_number="6001", desk_endpoint="PJSIP/desk")
        )
        flow = await ivr.create_flow(s, actor, "bench", FLOW)
        await ivr.publish(s, actor, flow.id)
        await ivr.create_entry(s, actor, DID, flow.id)


async def one_call(sim: TimedSimulator, started: dict[str, float]) -> None:
    loop = asyncio.get_running_loop()
    channel = sim._new_uniqueid()
    sim.prompted[channel] = loop.create_future()
    sim.bridged[channel] = loop.create_future()
    started[channel] = time.perf_counter()
    sim.inbound_call(caller_number="+8613700000000", exten=DID, channel_id=channel)
    await sim.prompted[channel]
    sim.send_dtmf(channel, "1")
    await sim.bridged[channel]


async def warm_up(sim: TimedSimulator, n: int) -> float | None:
    """n calls one after another, each hung up before the next; the first one's latency.

    The first call after the app starts pays one-off costs (statement compilation, the
    first directory read, pool connections) that a long-running Stasis app pays once, and
    calls arriving behind it queue for them: measured separately, not in the p99."""
    cold = None
    for _ in range(n):
        started: dict[str, float] = {}
        await one_call(sim, started)
        [(channel, t)] = started.items()
        if cold is None:
            cold = (sim.first_request[channel] - t) * 1000
        sim.remote_hangup(channel)
        async with asyncio.timeout(30):
            await sim.wait_until(lambda: not sim.channels)
    return cold


async def drive(
    conn: Connection, calls: int, rate: float, check_spec: bool, warmup: int = 0
) -> None:
    """The simulator's process: serve ARI, place the calls, report the timings."""
    spec = None
    if check_spec:
        with contextlib.suppress(SpecNotFoundError):
            spec = load_spec()
    async with TimedSimulator(spec=spec) as sim:
        assert isinstance(sim, TimedSimulator)
        sim.media_durations["sound:main-menu"] = 0.05
        conn.send(sim.base_url)
        # Asterisk has no garbage collector: neither may its stand-in pause (it keeps every
        # request and event for the figures, a heap that full collections walk).
        gc.freeze()
        gc.disable()
        async with asyncio.timeout(30):
            await sim.wait_until(lambda: sim.app_active(sim.app))
        cold = await warm_up(sim, warmup)
        started: dict[str, float] = {}
        t0 = time.perf_counter()
        tasks = []
        for i in range(calls):
            if rate > 0:
                await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one_call(sim, started)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - t0
        for channel in list(started):
            if channel in sim.channels:
                sim.remote_hangup(channel)
        async with asyncio.timeout(60):
            await sim.wait_until(lambda: not sim.channels)
        firsts = sorted(
            (sim.first_request[c] - t) * 1000 for c, t in started.items() if c in sim.first_request
        )
        # -1: no spec found, so nothing was checked (never report that as 0 violations).
        conn.send((elapsed, firsts, len(sim.violations) if spec is not None else -1, cold))
        conn.recv()  # the app has closed its WebSocket


def simulator_process(
    conn: Connection, calls: int, rate: float, check_spec: bool, warmup: int
) -> None:
    asyncio.run(drive(conn, calls, rate, check_spec, warmup))


class StatementCount:
    """SQL statements and commits the app sends: load-independent figures beside the CPU."""

    def __init__(self, hub: Hub) -> None:
        self.statements = self.commits = 0
        engine = hub.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, *_: Any) -> None:
        self.statements += 1

    def _commit(self, *_: Any) -> None:
        self.commits += 1


async def run(
    calls: int,
    database_url: str | None,
    check_spec: bool = True,
    rate: float = 100.0,
    profile: str | None = None,
    warmup: int = 10,
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        modules = discover_modules()
        await asyncio.to_thread(upgrade, url, modules)
        settings = Settings(
            data_dir=Path(tmp), database_url=url, secret_key="bench-secret-key-long-enough-x"
        )
        hub = Hub(settings, modules)
        await prepare(hub)
        ctx = mp.get_context("spawn")
        here, there = ctx.Pipe()
        child = ctx.Process(target=simulator_process, args=(there, calls, rate, check_spec, warmup))
        child.start()
        try:
            base_url = await asyncio.to_thread(here.recv)
            async with AriClient(
                base_url, "huitong", reconnect=ReconnectPolicy(initial_delay=0.05)
            ) as ari:
                app = StasisApp(ari, hub.db)
                await app.start()
                await ari.wait_connected()
                freeze_startup_heap()  # as `huitong ari` does once connected
                counted = StatementCount(hub)
                profiler = cProfile.Profile() if profile else None
                cpu0 = time.process_time()
                if profiler:
                    profiler.enable()
                elapsed, firsts, violations, cold = await asyncio.to_thread(here.recv)
                async with asyncio.timeout(30):
                    while app.active_calls:  # noqa: ASYNC110 - no event for "all ended"
                        await asyncio.sleep(0.01)
                cpu = time.process_time() - cpu0
                if profiler and profile:
                    profiler.disable()
                    profiler.dump_stats(profile)
                await app.close()
            here.send("done")
            await asyncio.to_thread(child.join, 30)
        finally:
            if child.is_alive():
                child.kill()
        await hub.stop()
    p99 = firsts[min(len(firsts) - 1, int(len(firsts) * 0.99))]
    return {
        "calls": calls,
        "rate": rate,
        "calls_per_s": calls / elapsed,
        "median_ms": statistics.median(firsts),
        "p99_ms": p99,
        "max_ms": firsts[-1],
        # The warm-up calls ran inside the CPU and statement counts: share them out.
        "cpu_ms_per_call": cpu * 1000 / (calls + warmup),
        "statements_per_call": counted.statements / (calls + warmup),
        "commits_per_call": counted.commits / (calls + warmup),
        "warmup": warmup,
        "cold_ms": cold if cold is not None else float("nan"),
        "spec_violations": violations,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument(
        "--rate", type=float, default=100.0, help="calls arriving per second (0: all at once)"
    )
    parser.add_argument("--database-url", default=None, help="an empty database to migrate")
    parser.add_argument(
        "--no-spec", action="store_true", help="skip the simulator's per-event spec checks"
    )
    parser.add_argument(
        "--profile", default=None, help="write a cProfile of the app's event loop to this file"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=10,
        help="calls placed one by one before the measured ones (0: measure from a cold start)",
    )
    args = parser.parse_args()
    r = asyncio.run(
        run(args.calls, args.database_url, not args.no_spec, args.rate, args.profile, args.warmup)
    )
    print(f"load average {os.getloadavg()[0]:.2f} (2 cores shared; compare runs at similar load)")
    print(
        f"{r['calls']:.0f} concurrent calls arriving at {r['rate']:.0f}/s: "
        f"{r['calls_per_s']:.1f} calls/s set up; "
        f"StasisStart -> first ARI command median {r['median_ms']:.1f} ms, "
        f"p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms; "
        f"app CPU {r['cpu_ms_per_call']:.1f} ms/call; "
        f"SQL {r['statements_per_call']:.1f} statements, {r['commits_per_call']:.1f} commits/call; "
        + (
            f"spec violations {r['spec_violations']:.0f}"
            if r["spec_violations"] >= 0
            else "spec NOT checked (set HUITONG_ARI_SPEC_DIR)"
        )
    )
    if r["warmup"]:
        print(
            f"first call after the app started (cold, not in the figures above): "
            f"{r['cold_ms']:.1f} ms; then {r['warmup']:.0f} warm-up calls one by one"
        )
    print("target p99 < 50 ms:", "met" if r["p99_ms"] < 50 else "NOT met")


if __name__ == "__main__":
    main()
