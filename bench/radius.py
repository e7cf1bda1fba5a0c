"""RADIUS Access-Requests answered per second, and their latency, with 10,000 devices.

    python bench/radius.py                                  # the default run
    python bench/radius.py --devices 10000 --rate 2000 --seconds 10 --db postgresql+asyncpg://...

Setup: a fresh SQLite file (or --db, the URL of an empty PostgreSQL database), migrated;
one tenant, one PAP APN with a /18 pool, one NAS (127.0.0.1) and --devices devices imported
through the CSV service (every fifth with a static address, the rest from the pool).
`huitong radius` then runs as its own process (as in production) on free UDP ports.

The client is this process: asyncio UDP sockets (16 of them, so that 8-bit RADIUS ids never
collide in flight), sending real Access-Requests prebuilt with pyrad (User-Name,
Calling-Station-Id, 3GPP-IMSI, PAP User-Password, Message-Authenticator, as a PGW sends
them). The mix: 80 % right password (accept), 10 % wrong password, 10 % unknown MSISDN
(reject). A reply is matched to its request by (socket, id); latency is send -> receive.

Phases:
* cold: --rate requests/s until every device attached once (first attaches: pool devices
  take a lease, i.e. a database write);
* warm: --rate requests/s for --seconds seconds (re-attaches: devices keep their address);
* max: a closed loop with --window requests in flight for --seconds seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pyrad.packet import AccessRequest, AuthPacket

from comms.auth.principal import Principal
from comms.db.migrate import upgrade
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from comms.modules import discover_modules
from comms.settings import Settings
from comms.tenants.service import create_tenant
from telephony.apn import csv_import, service
from telephony.apn.deps import secret_box
from telephony.apn.models import AuthMode
from telephony.apn.radius.dictionary import dictionary
from telephony.apn.schemas import ApnIn, NasIn

SECRET = "bench-shared-secret"
SOCKETS = 16
ROOT = Path(__file__).resolve().parent.parent


def msisdn(i: int) -> str:
    return f"86139{i:08d}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def prepare(settings: Settings, devices: int) -> None:
    hub = Hub(settings)
    try:
        async with hub.db.session() as s:
            t = await create_tenant(s, hub.credentials, "bench", "bench@bench.cn", "bench-pass-1")
        actor = Principal.system(t.tenant.id)
        box = secret_box(hub)
        async with hub.db.session() as s:
            scoped_to(s, actor.tenant_id)
            apn = await service.create_apn(
                s,
                actor,
                ApnIn(name="bench.iot.cn", auth_mode=AuthMode.PAP, pool_cidr="10.64.0.0/18"),
            )
            await service.add_nas(s, box, actor, apn.id, NasIn(address="127.0.0.1", secret=SECRET))
            rows = ["name,msisdn,imsi,password,static_address"]
            for i in range(devices):
                static = f"10.128.{i // 250}.{i % 250 + 1}" if i % 5 == 0 else ""
                rows.append(f"d{i},{msisdn(i)},46000{i:010d},pw-{i},{static}")
            result = await csv_import.import_devices(
                s, box, actor, "\n".join(rows), default_apn=apn.id
            )
            assert not result.errors, result.errors[:3]
    finally:
        await hub.db.dispose()


def build_packets(
    n: int, devices: int, seed: int, *, each_once: bool = False
) -> list[tuple[bytes, bool]]:
    """n raw Access-Requests (id 0 placeholder) and whether each should be accepted; with
    each_once, device k of a shuffled list for request k (every device once)."""
    rng = random.Random(seed)
    order = list(range(devices))
    rng.shuffle(order)
    d = dictionary()
    out = []
    for k in range(n):
        i = order[k % devices] if each_once else rng.randrange(devices)
        roll = rng.random()
        pw, calling, accept = f"pw-{i}", msisdn(i), True
        if roll < 0.10:
            pw, accept = "wrong", False
        elif roll < 0.20:
            calling, accept = f"86188{k:08d}", False
        pkt = AuthPacket(code=AccessRequest, id=0, secret=SECRET.encode(), dict=d)
        pkt["User-Name"] = calling
        pkt["Calling-Station-Id"] = calling
        if accept or roll < 0.10:
            pkt["3GPP-IMSI"] = f"46000{i:010d}"
        pkt["Called-Station-Id"] = "bench.iot.cn"
        pkt["User-Password"] = pkt.PwCrypt(pw)
        pkt.add_message_authenticator()
        out.append((pkt.RequestPacket(), accept))
    return out


def with_id(raw: bytes, ident: int, secret: bytes = SECRET.encode()) -> bytes:
    # Changing the id changes what the Message-Authenticator covers: re-sign (HMAC-MD5).
    body = bytearray(raw)
    body[1] = ident
    pos = 20
    while pos < len(body):
        if body[pos] == 80:
            body[pos + 2 : pos + 18] = b"\0" * 16
            mac = hmac.new(secret, bytes(body), "md5").digest()
            body[pos + 2 : pos + 18] = mac
            break
        pos += body[pos + 1]
    return bytes(body)


@dataclass
class Run:
    sent: int = 0
    latencies: list[float] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    wrong: int = 0  # accept where reject was expected or the reverse
    started: float = 0.0
    ended: float = 0.0


class Client(asyncio.DatagramProtocol):
    def __init__(
        self, run: Run, idx: int, waiting: dict[tuple[int, int], tuple[float, bool]]
    ) -> None:
        self.run, self.idx, self.waiting = run, idx, waiting
        self.done = asyncio.Event()

    def datagram_received(self, data: bytes, addr: object) -> None:
        hit = self.waiting.pop((self.idx, data[1]), None)
        if hit is None:
            return
        t0, expect = hit
        self.run.latencies.append(time.perf_counter() - t0)
        accepted = data[0] == 2
        self.run.accepted += accepted
        self.run.rejected += not accepted
        self.run.wrong += accepted != expect
        self.run.ended = time.perf_counter()
        self.done.set()


async def phase(
    port: int, packets: list[tuple[bytes, bool]], *, rate: float | None, window: int, seconds: float
) -> Run:
    """Open loop at `rate` requests/s, or (rate None) closed loop with `window` in flight."""
    loop = asyncio.get_running_loop()
    run = Run()
    waiting: dict[tuple[int, int], tuple[float, bool]] = {}
    socks = []
    for i in range(SOCKETS):
        tr, proto = await loop.create_datagram_endpoint(
            lambda i=i: Client(run, i, waiting), remote_addr=("127.0.0.1", port)
        )
        socks.append((tr, proto))
    next_id = [0] * SOCKETS
    run.started = time.perf_counter()
    deadline = run.started + seconds

    def send(k: int) -> bool:
        s = k % SOCKETS
        ident = next_id[s]
        if (s, ident) in waiting:
            return False  # all 256 ids of this socket in flight
        next_id[s] = (ident + 1) % 256
        raw, expect = packets[k % len(packets)]
        waiting[(s, ident)] = (time.perf_counter(), expect)
        socks[s][0].sendto(with_id(raw, ident))
        run.sent += 1
        return True

    k = 0
    while time.perf_counter() < deadline and k < len(packets):
        if rate is not None:
            due = int((time.perf_counter() - run.started) * rate)
            while k < due and k < len(packets):
                send(k)
                k += 1
            await asyncio.sleep(0.002)
        else:
            while len(waiting) < window and k < len(packets):
                send(k)
                k += 1
            await asyncio.sleep(0)
    await asyncio.sleep(1.0)  # stragglers
    for tr, _ in socks:
        tr.close()
    return run


def report(name: str, run: Run) -> str:
    lat = sorted(run.latencies)
    answered = len(lat)
    span = max(run.ended - run.started, 1e-9)

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    return (
        f"| {name} | {run.sent:,} | {answered:,} | {answered / span:,.0f} | "
        f"{run.accepted:,} / {run.rejected:,} | {run.wrong} | {run.sent - answered} | "
        f"{pct(0.5):.2f} | {pct(0.99):.2f} | {pct(1.0) if lat else float('nan'):.2f} | "
        f"{statistics.fmean(lat) * 1000 if lat else float('nan'):.2f} |"
    )


async def bench(args: argparse.Namespace, port: int) -> list[str]:
    cold = build_packets(args.devices, args.devices, 1, each_once=True)
    warm = build_packets(int(args.rate * args.seconds), args.devices, 2)
    rows = []
    rows.append(report("cold", await phase(port, cold, rate=args.rate, window=0, seconds=600)))
    rows.append(
        report("warm", await phase(port, warm, rate=args.rate, window=0, seconds=args.seconds))
    )
    many = warm * 4
    rows.append(
        report(
            f"max w={args.window}",
            await phase(port, many, rate=None, window=args.window, seconds=args.seconds),
        )
    )
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--devices", type=int, default=10_000)
    p.add_argument("--rate", type=float, default=2000)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--window", type=int, default=64)
    p.add_argument(
        "--db", default="", help="an empty database's URL (default: a fresh SQLite file)"
    )
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="huitong-radius-bench-"))
    url = args.db or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    settings = Settings(data_dir=tmp, database_url=url, secret_key="bench-" + "k" * 40)  # type: ignore[arg-type]
    upgrade(url, discover_modules())
    t0 = time.perf_counter()
    asyncio.run(prepare(settings, args.devices))
    print(f"prepared {args.devices:,} devices in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    auth, acct = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUITONG_")}
    env.update(
        HUITONG_DATA_DIR=str(tmp),
        HUITONG_DATABASE_URL=url,
        HUITONG_SECRET_KEY=settings.ensure_secret_key(),
        HUITONG_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "comms.cli",
            "radius",
            "--host",
            "127.0.0.1",
            "--auth-port",
            str(auth),
            "--acct-port",
            str(acct),
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        line = server.stderr.readline()  # "RADIUS auth udp/..., printed once listening
        if "RADIUS" not in line:
            raise SystemExit(f"radius did not start: {line}{server.stderr.read()}")
        # Keep reading its log so that a full pipe never stalls the server.
        threading.Thread(target=server.stderr.read, daemon=True).start()
        load0 = os.getloadavg()[0]
        cpu0 = _cpu(server.pid)
        rows = asyncio.run(bench(args, auth))
        cpu = _cpu(server.pid) - cpu0
    finally:
        server.terminate()
        server.wait(10)
    print(
        f"devices={args.devices} rate={args.rate:.0f}/s seconds={args.seconds:g} "
        f"window={args.window} db={'sqlite' if not args.db else 'postgresql'}"
    )
    print(
        "| phase | sent | answered | answered/s | accept / reject | wrong answers | lost "
        "| p50 ms | p99 ms | max ms | mean ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(r)
    print(
        f"server CPU over all phases: {cpu:.1f} s; 1-min load average before/after: "
        f"{load0:.2f}/{os.getloadavg()[0]:.2f} (anything else busy on the machine shows here)"
    )


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
