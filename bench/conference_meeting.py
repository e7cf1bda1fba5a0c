"""One-click meeting set-up: N members called at once, each answering after 20 ms.

    python bench/conference_meeting.py                  # 20 members, SQLite
    python bench/conference_meeting.py --members 50 --database-url postgresql+asyncpg://...

Runs `conference.service.start_meeting` (what `POST /api/v1/conferences` calls) against the
in-process ARI simulator with a Stasis app, and waits until every member is in the mixing
bridge. Prints: the time from the request to the last member bridged, the median and max
time from a leg's originate to its addition to the bridge, and process CPU per member (the
simulator's share included). No target was set in the issue; these are baseline figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

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
from telephony.conference import service as conference
from telephony.conference.schemas import MeetingIn
from telephony.stasis.app import StasisApp
from telephony.vpmn import service as vpmn
from telephony.vpmn.schemas import MemberIn, PlanIn


class TimedSimulator(AriSimulator):
    """Stamps each leg's originate and its addition to a bridge."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.originated: dict[str, float] = {}
        self.bridged: dict[str, float] = {}

    def _handle(
        self, route: SimRoute, request: Any, api_key: str | None, record: RecordedRequest
    ) -> tuple[int, Any]:
        now = time.perf_counter()
        if record.nickname == "originate":
            self.originated[record.query["channelId"]] = now
        elif record.nickname == "addChannel":
            for channel in record.query.get("channel", "").split(","):
                self.bridged.setdefault(channel, now)
        return super()._handle(route, request, api_key, record)


async def prepare(hub: Hub, members: int) -> Principal:
    async with hub.db.session() as s:
        made = await create_tenant(s, hub.credentials, "bench", "admin@bench.cn", "bench-pass-1")
    actor = Principal.system(made.tenant.id)
    async with hub.db.session() as s:
        scoped_to(s, made.tenant.id)
        await vpmn.set_plan(s, actor, PlanIn(short_length=4, prefixes=["6"]))
        for i in range(members):
            await vpmn.create_member(
                s,
                actor,
                MemberIn(name=f"m{i}", short_number=f"6{i:03d}", desk_endpoint=f"PJSIP/d{i}"),
            )
    return actor


async def run(members: int, database_url: str | None, check_spec: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        modules = discover_modules()
        await asyncio.to_thread(upgrade, url, modules)
        settings = Settings(  # type: ignore[call-arg]
            data_dir=Path(tmp), database_url=url, secret_key="bench-secret-key-long-enough-x"
        )
        hub = Hub(settings, modules)
        actor = await prepare(hub, members)
        spec = None
        if check_spec:
            with contextlib.suppress(SpecNotFoundError):
                spec = load_spec()
        async with TimedSimulator(spec=spec) as sim:
            policy = ReconnectPolicy(initial_delay=0.05)
            async with (
                AriClient(sim.base_url, sim.app, reconnect=policy) as ari,
                AriClient(sim.base_url, sim.app) as rest,
            ):
                app = StasisApp(ari, hub.db, settings=settings)
                await app.start()
                await ari.wait_connected()
                numbers = [f"6{i:03d}" for i in range(members)]
                cpu0, t0 = time.process_time(), time.perf_counter()
                async with hub.db.session() as s:
                    scoped_to(s, actor.tenant_id)
                    conf = await conference.start_meeting(
                        s, settings, rest, actor, MeetingIn(members=numbers, organiser="6000")
                    )
                    bridge_id = conf.bridge_id

                def all_in() -> bool:
                    bridge = sim.bridges.get(bridge_id)
                    return bridge is not None and len(bridge.channels) == members

                try:
                    async with asyncio.timeout(30):
                        await sim.wait_until(all_in)
                except BaseException as exc:
                    print("not all bridged:", repr(exc), sim.bridges, len(sim.originated))
                    raise
                elapsed = time.perf_counter() - t0
                cpu = time.process_time() - cpu0
                async with hub.db.session() as s:
                    scoped_to(s, actor.tenant_id)
                    await conference.end(s, rest, None, conf.id)
                async with asyncio.timeout(30):
                    await sim.wait_until(lambda: not sim.channels)
                await app.close()
            latencies = sorted(
                (sim.bridged[c] - t) * 1000 for c, t in sim.originated.items() if c in sim.bridged
            )
            violations = len(sim.violations)
        await hub.stop()
    return {
        "members": members,
        "all_bridged_ms": elapsed * 1000,
        "median_ms": statistics.median(latencies),
        "max_ms": latencies[-1],
        "cpu_ms_per_member": cpu * 1000 / members,
        "spec_violations": violations,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="an empty database to migrate")
    parser.add_argument("--no-spec", action="store_true", help="skip per-event spec checks")
    args = parser.parse_args()
    r = asyncio.run(run(args.members, args.database_url, not args.no_spec))
    print(
        f"{r['members']:.0f} members: all bridged after {r['all_bridged_ms']:.0f} ms; "
        f"originate -> bridged median {r['median_ms']:.0f} ms, max {r['max_ms']:.0f} ms; "
        f"CPU {r['cpu_ms_per_member']:.1f} ms/member; spec violations {r['spec_violations']:.0f}"
    )


if __name__ == "__main__":
    main()
