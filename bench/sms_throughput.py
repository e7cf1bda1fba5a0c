"""SMS campaign throughput, end to end: API -> campaign -> messages -> SMPP -> receipts.

    python bench/sms_throughput.py                        # 100,000 recipients, then Kannel
    python bench/sms_throughput.py --recipients 5000 --no-kannel
    python bench/sms_throughput.py --smsc-only            # the SMSC alone, driven by smpp34

What runs, each in its own process:

* the SMSC: smpp34's `Server` (an independent SMPP implementation), started by this script
  as `python bench/sms_throughput.py smsc --port P`. It accepts every submit_sm with a hex id
  and answers each with a text delivery receipt (deliver_sm, esm_class 0x04): `UNDELIV`
  for destinations ending in 7, `DELIVRD` otherwise, so the hub's final statuses can be
  checked one by one;
* the hub: `huitong serve` (API, relay, SMPP bind) and `huitong worker` (relay + Celery
  prefork on Redis db 14, SMPP binds of its own), on a PostgreSQL database
  `huitong_sms_bench_<pid>` created and dropped here.

The script POSTs one campaign with --recipients inline numbers, waits until every message
has its final status, then prints from the database's own timestamps: accepted/s (the
POST), queued/s (campaign chunks -> messages), submitted/s (sent_at), receipts/s
(delivered/undelivered), end-to-end SMS/s (POST start -> last final status), the peak
memory of the hub processes (sampled every 0.5 s from before the POST to the end) and
whether every final status is the expected one. `--smsc-only` measures the SMSC without
the hub: a smpp34 `Client` submits windowed and counts the receipts, to show whether the
SMSC is the bottleneck.

Memory is printed two ways, summed over serve, the worker and its prefork children. Summed
RSS counts every page once per process that maps it, so the pages the children share with
the worker copy-on-write (its imports, frozen by gc.freeze() before the fork) are counted
three times. Summed PSS (/proc/<pid>/smaps_rollup) splits each shared page between the
processes sharing it, so it adds up to what the processes cost the machine: the 500 MB
target is judged on peak PSS. Peak RSS stays printed, as the upper bound and for comparison
with earlier figures.

CPU per 1,000 SMS is printed for the hub's processes, the bench database's PostgreSQL
backends (not this script's own polling, but its autovacuum stand-in's) and the SMSC: what two
cores can carry at that cost, a figure that moves far less with other load than SMS/s.

Where the server runs with autovacuum off (as this machine's does), the script stands in for
it (`--autovacuum none` does not): every 10 s it runs VACUUM (ANALYZE), or ANALYZE alone, on
each growing table past autovacuum's default thresholds, and prints how often it did. Without
ANALYZE a fresh database is planned as if empty; without VACUUM every non-HOT update leaves a
dead row and index entries behind that later scans wade through. Diagnostics:
`BENCH_PG_LOG_MS=20` logs the statements slower than 20 ms in the server log,
`BENCH_PG_EXPLAIN_MS=20` their plans too (auto_explain), `--pg-stats` prints live/dead rows,
HOT updates, scans and sizes of the growing tables, `--keep` keeps the database for EXPLAIN.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
# Per run, so that two benches on one machine (or a bench beside the tests) never share a
# database or a Celery queue: a stranger's worker would take this run's deliveries.
PG_DB = os.environ.get("BENCH_PG_DB", f"huitong_sms_bench_{os.getpid()}")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
SECRET = "bench-secret-key-that-is-long-enough-for-hs256"
SIGNATURE = "【汇通测试】"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def phone(i: int) -> str:
    return f"+86139{i:08d}"


def expected_final(number: str) -> str:
    return "undelivered" if number.endswith("7") else "delivered"


# ---------------------------------------------------------------- the SMSC process


async def run_smsc(port: int, stats_path: Path) -> None:
    """smpp34 server: accept, then receipt each submit_sm on the session that sent it."""
    import smpp34

    server = smpp34.Server("127.0.0.1", port, system_id="BENCHSMSC")
    await server.start()
    esmes: dict[Any, Any] = {}
    stats = {
        "submits": 0,
        "receipts": 0,
        "receipt_retries": 0,
        "receipt_errors": 0,
        "first": 0.0,
        "last_submit": 0.0,
        "last": 0.0,
    }
    # Receipts outstanding per bind: an SMSC's window is per SMPP session, as the ESME's is.
    inflight: dict[Any, asyncio.Semaphore] = {}
    tasks: set[asyncio.Task[None]] = set()
    counter = 0

    async def receipt(esme: Any, session_id: Any, mid: str, dest: str) -> None:
        stat, err = ("UNDELIV", "034") if dest.endswith("7") else ("DELIVRD", "000")
        text = (
            f"id:{mid} sub:001 dlvrd:001 submit date:2611270000 done date:2611270000 "
            f"stat:{stat} err:{err} text:"
        ).encode()
        # Like a real SMSC, retry a receipt the ESME did not take (busy: a non-zero
        # deliver_sm_resp, or no answer) until it does.
        for attempt in range(100):
            async with inflight.setdefault(session_id, asyncio.Semaphore(64)):
                try:
                    resp = await esme.deliver_sm(dest, text, esm_class=0x04, source_addr=dest)
                    if resp.command_status == 0:
                        stats["receipts"] += 1
                        stats["last"] = time.time()
                        return
                    stats["receipt_retries"] += 1
                except Exception:
                    stats["receipt_errors"] += 1
            await asyncio.sleep(min(0.2 * 2**attempt, 5.0))

    def dump() -> None:
        stats_path.write_text(json.dumps(stats))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)

    async def pump() -> None:
        nonlocal counter
        while True:
            ev = await server.next()
            if isinstance(ev, smpp34.Esme):
                esmes[ev.session_id] = ev
            elif isinstance(ev, smpp34.Unbound):
                continue
            else:
                counter += 1
                mid = f"{counter:08X}"
                ev.accept(mid)
                stats["submits"] += 1
                stats["first"] = stats["first"] or time.time()
                stats["last_submit"] = time.time()
                esme = esmes.get(ev.session_id)
                if esme is not None:
                    t = asyncio.create_task(receipt(esme, ev.session_id, mid, ev.destination_addr))
                    tasks.add(t)
                    t.add_done_callback(tasks.discard)

    pumping = asyncio.create_task(pump())
    while not stop.is_set():
        dump()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)
    pumping.cancel()
    dump()
    await server.stop()


def start_smsc(tmp: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    port, stats = free_port(), tmp / "smsc.json"
    proc = subprocess.Popen(
        [sys.executable, __file__, "smsc", "--port", str(port), "--stats", str(stats)],
        stdout=(tmp / "smsc.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_port(port, proc)
    return proc, port, stats


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process for port {port} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


def stop_proc(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # pool children left in the group


# ---------------------------------------------------------------- SMSC alone


async def smsc_only(n: int, window: int) -> dict[str, float]:
    """A smpp34 Client against the SMSC process: how fast it takes submits and receipts."""
    import smpp34

    tmp = Path(tempfile.mkdtemp(prefix="huitong-smsc-"))
    proc, port, _ = start_smsc(tmp)
    try:
        client = smpp34.Client("127.0.0.1", port, "bench", "bench", window_size=window)
        smsc = await client.connect()
        receipts = 0
        done = asyncio.Event()

        async def read() -> None:
            nonlocal receipts
            while receipts < n:
                ev = await smsc.next()
                if isinstance(ev, smpp34.Disconnected):
                    break
                receipts += 1
            done.set()

        reader = asyncio.create_task(read())
        slots = asyncio.Semaphore(window)

        async def one(i: int) -> None:
            async with slots:
                await smsc.submit_sm(phone(i)[1:], b"bench", source_addr="10690000")

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        t_sub = time.perf_counter()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 120)
        t_rec = time.perf_counter()
        reader.cancel()
        await smsc.unbind()
        return {
            "messages": n,
            "submit_per_s": n / (t_sub - t0),
            "receipts": receipts,
            "receipts_end_to_end_per_s": receipts / (t_rec - t0),
        }
    finally:
        stop_proc(proc)


# ---------------------------------------------------------------- Kannel (reference)

KANNEL_CONF = """group = core
admin-port = {admin}
admin-password = bench
smsbox-port = {box}
box-allow-ip = "127.0.0.1"
log-file = "{tmp}/bearerbox.log"
log-level = 2
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = bench
host = 127.0.0.1
port = {smsc}
transceiver-mode = true
smsc-username = bench
smsc-password = bench
system-type = ""
max-pending-submits = 100
msg-id-type = 0x03

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = {sendsms}
log-file = "{tmp}/smsbox.log"
log-level = 2

group = sendsms-user
username = bench
password = bench
max-messages = 1

group = sms-service
keyword = default
text = "ok"
"""


async def run_kannel(n: int, concurrency: int) -> dict[str, Any]:
    """The same SMSC and numbers through Kannel: HTTP sendsms in, DLR callbacks out."""
    import httpx

    tmp = Path(tempfile.mkdtemp(prefix="huitong-kannel-"))
    smsc, port, stats = start_smsc(tmp)
    admin, box, sendsms, dlr_port = free_port(), free_port(), free_port(), free_port()
    conf = tmp / "kannel.conf"
    conf.write_text(KANNEL_CONF.format(admin=admin, box=box, smsc=port, sendsms=sendsms, tmp=tmp))
    finals: dict[int, int] = {}
    last_dlr = 0.0
    all_in = asyncio.Event()

    async def dlr(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal last_dlr
        with contextlib.suppress(Exception):
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            q = dict(p.split("=", 1) for p in path.partition("?")[2].split("&") if "=" in p)
            if q.get("s") in ("1", "2"):
                finals[int(q["i"])] = int(q["s"])
                last_dlr = time.time()
                if len(finals) >= n:
                    all_in.set()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(dlr, "127.0.0.1", dlr_port)
    procs = [
        subprocess.Popen(  # noqa: ASYNC220 - started once, before the clock runs
            [binary, str(conf)],
            stdout=(tmp / f"{Path(binary).name}.out").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for binary in (KANNEL_BIN,)
    ]
    out: dict[str, Any] = {"messages": n}
    peaks: MemoryPeaks | None = None
    try:
        wait_port(box, procs[0])
        procs.append(
            subprocess.Popen(  # noqa: ASYNC220
                ["/usr/sbin/smsbox", str(conf)],
                stdout=(tmp / "smsbox.out").open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        wait_port(sendsms, procs[1])
        await asyncio.sleep(2)  # the SMPP bind
        peaks = MemoryPeaks({"bearerbox": procs[0].pid, "smsbox": procs[1].pid})
        peaks.start()
        groups = {p.pid for p in procs}
        cpu0 = cpu_seconds(groups), cpu_seconds({smsc.pid})
        slots = asyncio.Semaphore(concurrency)
        refused = 0
        async with httpx.AsyncClient(timeout=60) as client:

            async def one(i: int) -> None:
                nonlocal refused
                dlr_url = f"http://127.0.0.1:{dlr_port}/dlr?i={i}&s=%d"
                async with slots:
                    r = await client.get(
                        f"http://127.0.0.1:{sendsms}/cgi-bin/sendsms",
                        params={
                            "username": "bench",
                            "password": "bench",
                            "from": "10690000",
                            "to": phone(i)[1:],
                            "text": f"员工{i}您好，明早九点全员会议。【汇通测试】",
                            "charset": "UTF-8",
                            "coding": "2",
                            "dlr-mask": "3",
                            "dlr-url": dlr_url,
                        },
                    )
                    if r.status_code != 202:
                        refused += 1

            t0 = time.time()
            await asyncio.gather(*(one(i) for i in range(n)))
            t_acc = time.time()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_in.wait(), 120)
        cpu1 = cpu_seconds(groups), cpu_seconds({smsc.pid})
        wrong = sum(1 for i in range(n) if finals.get(i) != (2 if phone(i).endswith("7") else 1))
        st = json.loads(stats.read_text()) if stats.exists() else {}
        span = st.get("last_submit", 0.0) - st.get("first", 0.0)
        out.update(
            accepted_per_s=n / (t_acc - t0),
            refused=refused,
            submitted_per_s=st.get("submits", 0) / span if span > 0 else float("nan"),
            dlrs=len(finals),
            end_to_end_per_s=len(finals) / max(last_dlr - t0, 1e-9),
            wrong_final_status=wrong,
            cpu_per_1000={
                "kannel": (cpu1[0] - cpu0[0]) * 1000 / n,
                "SMSC": (cpu1[1] - cpu0[1]) * 1000 / n,
            },
            **peaks.stop(),
        )
        peaks = None
    finally:
        if peaks is not None:
            peaks.stop()
        server.close()
        for p in procs:
            stop_proc(p)
        stop_proc(smsc)
        print(f"  kannel logs in {tmp}", file=sys.stderr)
    return out


# ---------------------------------------------------------------- the hub


async def pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def hub_env(db_url: str, tmp: Path, smsc_port: int, args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUITONG_")}
    env.update(
        HUITONG_DATABASE_URL=db_url,
        HUITONG_BROKER_URL=REDIS_URL,
        HUITONG_DATA_DIR=str(tmp),
        HUITONG_SECRET_KEY=SECRET,
        HUITONG_LOG_LEVEL="WARNING",
        # A carrier caps each bind (tps); the bench SMSC does not, so open the window wide.
        HUITONG_SMPP_URL=f"smpp://bench:bench@127.0.0.1:{smsc_port}?{args.smpp_query}",
        HUITONG_SMS_DUPLICATE_WINDOW="0",
        HUITONG_ARGON2_TIME_COST="1",
        HUITONG_ARGON2_MEMORY_KIB="1024",
        HUITONG_WORKER_CONCURRENCY=str(args.concurrency),
        PYTHONPATH=os.pathsep.join(p for p in [str(ROOT), env.get("PYTHONPATH", "")] if p),
    )
    for key, value in args.set:
        env[f"HUITONG_{key.upper()}"] = value
    return env


def huitong_cmd(without: str = "") -> list[str]:
    if without:
        # Diagnostic only: the hub without one package's bus subscribers (e.g. crm's
        # timeline, which takes one bus delivery per comms.message.status event).
        code = (
            "import sys, dataclasses, comms.modules as m; d = m.discover_modules; "
            "m.discover_modules = lambda extra='': [dataclasses.replace(x, subscribers=()) "
            f"if x.name == {without!r} else x for x in d(extra)]; "
            "from comms.cli import main; sys.argv[0] = 'huitong'; main()"
        )
        return [sys.executable, "-c", code]
    exe = Path(sys.executable).parent / "huitong"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "comms.cli"]


def _kib(text: str, field: str) -> int:
    for line in text.splitlines():
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    return 0


def memory_of_groups(pgids: set[int]) -> dict[str, Any]:
    """Memory, in bytes, of every process in these process groups: summed RSS, PSS and USS.

    RSS counts a page once per process mapping it, so prefork children, which share their
    parent's pages copy-on-write, are counted several times over. PSS (/proc/<pid>/
    smaps_rollup) splits each shared page between the processes sharing it: summed over the
    processes it is what they cost the machine. USS is each process's private pages only.
    """
    total = {"rss": 0, "pss": 0, "uss": 0}
    procs: list[dict[str, Any]] = []
    page = os.sysconf("SC_PAGE_SIZE")
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            rest = (d / "stat").read_text().rsplit(")", 1)[1].split()
            if int(rest[2]) not in pgids:
                continue
            rss = int(rest[21]) * page
            rollup = (d / "smaps_rollup").read_text()
        except (OSError, IndexError, ValueError):
            continue  # exited meanwhile
        pss = _kib(rollup, "Pss:")
        uss = _kib(rollup, "Private_Clean:") + _kib(rollup, "Private_Dirty:")
        procs.append({"pid": int(d.name), "pgid": int(rest[2]), "rss": rss, "pss": pss})
        total["rss"] += rss
        total["pss"] += pss
        total["uss"] += uss
    return {**total, "processes": sorted(procs, key=lambda p: (p["pgid"], p["pid"]))}


def rss_of_groups(pgids: set[int]) -> int:
    """Resident memory, in bytes, of every process in these process groups."""
    return int(memory_of_groups(pgids)["rss"])


class MemoryPeaks:
    """Samples the hub's process groups every 0.5 s, POST included; keeps each peak."""

    def __init__(self, groups: dict[str, int]) -> None:
        self.groups = groups  # name -> pgid (the group leader's pid)
        self.rss = self.pss = self.uss = 0
        self.at_pss_peak: list[str] = []
        # Each process's own peak: PSS as sampled, RSS as the kernel's high-water mark (VmHWM).
        self.own: dict[str, list[float]] = {}
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        m = memory_of_groups(set(self.groups.values()))
        self.rss, self.uss = max(self.rss, m["rss"]), max(self.uss, m["uss"])
        names = {pgid: name for name, pgid in self.groups.items()}
        for p in m["processes"]:
            label = f"{names[p['pgid']]}{'' if p['pid'] == p['pgid'] else ' child'}"
            peak = self.own.setdefault(label, [0.0, 0.0])
            peak[0] = max(peak[0], _hwm(p["pid"]))
            peak[1] = max(peak[1], p["pss"] / 2**20)
        if m["pss"] > self.pss:
            self.pss = m["pss"]
            self.at_pss_peak = [
                f"{names[p['pgid']]}{'' if p['pid'] == p['pgid'] else ' child'} "
                f"{p['rss'] / 2**20:.0f}/{p['pss'] / 2**20:.0f}"
                for p in m["processes"]
            ]

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(0.5)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def stop(self) -> dict[str, Any]:
        if self._task is not None:
            self._task.cancel()
        self.sample()
        return {
            "peak_rss_mb": self.rss / 2**20,
            "peak_pss_mb": self.pss / 2**20,
            "peak_uss_mb": self.uss / 2**20,
            "at_pss_peak": self.at_pss_peak,
            "own_peaks": [f"{k} {v[0]:.0f}/{v[1]:.0f}" for k, v in self.own.items()],
        }


def _hwm(pid: int) -> float:
    """A process's peak RSS in MB since it started (0 if it exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    return _kib(status, "VmHWM:") / 2**20


def cpu_seconds(pgids: set[int] = frozenset(), pids: set[int] = frozenset()) -> float:
    """User + system CPU, in seconds, of every process in these groups or with these pids:
    a load-independent figure (other work on the machine slows the run, not this)."""
    total = 0
    tick = os.sysconf("SC_CLK_TCK")
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            rest = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(rest[2]) in pgids or int(d.name) in pids:
            total += int(rest[11]) + int(rest[12])
    return total / tick


# Autovacuum's defaults (PostgreSQL 15): a table is vacuumed once its dead rows pass
# 50 + 20 % of its rows, or its inserts since the last vacuum 1,000 + 20 %, and analysed once
# its changes since the last analyse pass 50 + 10 %. Autovacuum looks once a minute
# (autovacuum_naptime); the stand-in looks every 10 s because a run lasts a minute or two.
NAPTIME = 10.0
VACUUM_THRESHOLD, VACUUM_SCALE = 50, 0.2
VACUUM_INSERT_THRESHOLD, VACUUM_INSERT_SCALE = 1000, 0.2
ANALYZE_THRESHOLD, ANALYZE_SCALE = 50, 0.1
HOT_TABLES = (
    "messages",
    "message_parts",
    "message_pending_receipts",
    "conversations",
    "sms_campaign_recipients",
    "sms_campaigns",
    "bus_outbox",
    "bus_deliveries",
)


class AutovacuumStandIn:
    """What autovacuum would do, for a server that runs without it: VACUUM (ANALYZE) or
    ANALYZE each growing table past autovacuum's default thresholds, on one connection of
    its own whose backend's CPU is counted with PostgreSQL's (autovacuum's workers cost the
    server CPU too)."""

    def __init__(self, vacuum: bool = True) -> None:
        self.vacuum = vacuum  # False: ANALYZE only (what the bench did before; a diagnostic)
        self.conn: Any = None
        self.pid = 0
        self.vacuums: dict[str, int] = {}
        self.analyses: dict[str, int] = {}
        self.seconds = 0.0

    async def start(self, dsn: str) -> None:
        import asyncpg

        self.conn = await asyncpg.connect(dsn)
        self.pid = int(await self.conn.fetchval("SELECT pg_backend_pid()"))

    async def tick(self) -> None:
        rows = await self.conn.fetch(
            """SELECT s.relname, c.reltuples, s.n_dead_tup, s.n_ins_since_vacuum,
                      s.n_mod_since_analyze
               FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
               WHERE s.relname = ANY($1::text[])""",
            list(HOT_TABLES),
        )
        t0 = time.perf_counter()
        for r in rows:
            n = max(float(r["reltuples"]), 0.0)  # -1: never vacuumed nor analysed
            name = r["relname"]
            if self.vacuum and (
                r["n_dead_tup"] > VACUUM_THRESHOLD + VACUUM_SCALE * n
                or r["n_ins_since_vacuum"] > VACUUM_INSERT_THRESHOLD + VACUUM_INSERT_SCALE * n
            ):
                await self.conn.execute(f"VACUUM (ANALYZE) {name}")
                self.vacuums[name] = self.vacuums.get(name, 0) + 1
            elif r["n_mod_since_analyze"] > ANALYZE_THRESHOLD + ANALYZE_SCALE * n:
                await self.conn.execute(f"ANALYZE {name}")
                self.analyses[name] = self.analyses.get(name, 0) + 1
        self.seconds += time.perf_counter() - t0

    async def stop(self) -> None:
        if self.conn is not None:
            await self.conn.close()

    def summary(self) -> str:
        return (
            f"VACUUM (ANALYZE) {sum(self.vacuums.values())}x "
            f"({', '.join(f'{k} {v}' for k, v in sorted(self.vacuums.items())) or 'none'}), "
            f"ANALYZE {sum(self.analyses.values())}x, {self.seconds:.1f} s wall"
        )


TABLE_STATS = """SELECT s.relname, s.n_live_tup, s.n_dead_tup, s.n_tup_upd, s.n_tup_hot_upd,
       s.seq_scan, s.seq_tup_read, coalesce(s.idx_tup_fetch, 0) AS idx_tup_fetch,
       pg_relation_size(s.relid) AS heap, pg_indexes_size(s.relid) AS indexes
FROM pg_stat_user_tables s WHERE s.relname = ANY($1::text[]) ORDER BY s.relname"""


async def table_stats(dsn: str) -> list[dict[str, Any]]:
    """pg_stat_user_tables of the growing tables at the end of the run (diagnostics)."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await asyncio.sleep(0.6)  # backends report their counters at most every 0.5 s
        return [dict(r) for r in await conn.fetch(TABLE_STATS, list(HOT_TABLES))]
    finally:
        await conn.close()


def smsc_receipts(stats: Path) -> int:
    """Receipts the SMSC process has had accepted so far (its stats file, every 0.5 s)."""
    try:
        return int(json.loads(stats.read_text()).get("receipts", 0))
    except (OSError, ValueError):
        return 0


async def autovacuum_off(engine: Any) -> bool:
    from sqlalchemy import text

    async with engine.connect() as conn:
        return str(await conn.scalar(text("SHOW autovacuum"))) == "off"


async def pg_backends(engine: Any) -> set[int]:
    from sqlalchemy import text

    async with engine.connect() as conn:
        rows = await conn.execute(
            # The hub's backends: not this script's own (its polling is not the hub's work;
            # the pool hands the script this one connection each time).
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": PG_DB},
        )
        return {int(r[0]) for r in rows}


async def run_hub(args: argparse.Namespace) -> dict[str, Any]:
    import httpx
    import redis
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from comms.db.migrate import upgrade
    from comms.hub import Hub
    from comms.modules import discover_modules
    from comms.settings import Settings
    from comms.tenants.service import create_tenant

    tmp = Path(tempfile.mkdtemp(prefix="huitong-sms-bench-"))
    db_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}"
    out: dict[str, Any] = {"recipients": args.recipients}
    procs: list[subprocess.Popen[bytes]] = []
    smsc, port, smsc_stats = start_smsc(tmp)
    await pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
    await pg_admin(f'CREATE DATABASE "{PG_DB}"')
    if os.environ.get("BENCH_PG_LOG_MS"):  # diagnostics: PostgreSQL logs slower statements
        ms = int(os.environ["BENCH_PG_LOG_MS"])
        await pg_admin(f'ALTER DATABASE "{PG_DB}" SET log_min_duration_statement = {ms}')
    if os.environ.get("BENCH_PG_EXPLAIN_MS"):  # diagnostics: and the plans of those (no timing)
        ms = int(os.environ["BENCH_PG_EXPLAIN_MS"])
        for setting in (
            "session_preload_libraries = 'auto_explain'",
            f"auto_explain.log_min_duration = {ms}",
            "auto_explain.log_buffers = on",
        ):
            await pg_admin(f'ALTER DATABASE "{PG_DB}" SET {setting}')
    r = redis.Redis.from_url(REDIS_URL)
    db = r.connection_pool.connection_kwargs.get("db", 0)
    others = [
        c
        for c in r.client_list()
        if int(c.get("db", -1)) == db and not c["cmd"].startswith("client")
    ]
    if others:
        # Someone else's worker on this Redis db would take our tasks (same queue name).
        raise SystemExit(f"Redis db {db} is in use by {len(others)} clients; set BENCH_REDIS_URL")
    r.flushdb()
    engine = create_async_engine(db_url)
    try:
        await asyncio.to_thread(upgrade, db_url, discover_modules())
        settings = Settings(
            database_url=db_url, data_dir=tmp, secret_key=SECRET, broker_url=REDIS_URL
        )
        hub = Hub(settings)
        async with hub.db.session() as s:
            new = await create_tenant(
                s, hub.credentials, "bench", "admin@bench.example.cn", "bench-password-1"
            )
        await hub.db.dispose()
        auth = {"Authorization": f"Bearer {new.api_key_secret}"}
        env = hub_env(db_url, tmp, port, args)
        api_port = free_port()
        logs = {"serve": tmp / "serve.log", "worker": tmp / "worker.log"}
        cmds = {
            "serve": [
                *huitong_cmd(args.without),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(api_port),
            ],
            "worker": [
                *huitong_cmd(args.without),
                "worker",
                "--concurrency",
                str(args.concurrency),
            ],
        }
        for name, cmd in cmds.items():
            procs.append(
                subprocess.Popen(  # noqa: ASYNC220 - started once, before the clock runs
                    cmd,
                    env=env,
                    cwd=str(tmp),
                    stdout=logs[name].open("wb"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        wait_port(api_port, procs[0])
        memory = MemoryPeaks(dict(zip(cmds, (p.pid for p in procs), strict=True)))
        memory.start()
        base = f"http://127.0.0.1:{api_port}"
        async with httpx.AsyncClient(base_url=base, timeout=600) as client:
            r = await client.put(
                "/api/v1/messaging/settings", headers=auth, json={"sms_signature": SIGNATURE}
            )
            r.raise_for_status()
            recipients = [{"phone": phone(i), "name": f"员工{i}"} for i in range(args.recipients)]
            body = {
                "name": "bench",
                "body": "{{name}}您好，明早九点全员会议。",
                "recipients": recipients,
            }
            print(f"  POST campaign of {args.recipients}", file=sys.stderr, flush=True)
            vacuum: AutovacuumStandIn | None = None
            if args.autovacuum != "none" and await autovacuum_off(engine):
                # Stand in for autovacuum, which this machine's PostgreSQL runs without:
                # a fresh database is otherwise planned as empty, and dead rows pile up.
                vacuum = AutovacuumStandIn(vacuum=args.autovacuum == "stand-in")
                await vacuum.start(db_url.replace("+asyncpg", ""))
                print("  autovacuum is off: the bench stands in for it", file=sys.stderr)
            backends = await pg_backends(engine)
            if vacuum is not None:
                backends.add(vacuum.pid)
            cpu0 = (
                cpu_seconds({p.pid for p in procs}),
                cpu_seconds(pids=backends),
                cpu_seconds(pids={smsc.pid}),
            )
            t0 = time.time()
            r = await client.post("/api/v1/sms/campaigns", headers=auth, json=body)
            t_accepted = time.time()
            r.raise_for_status()
            campaign_id = r.json()["id"]
            del recipients, body
            finals = 0
            last_change, last_finals = time.time(), -1
            looked = time.time()
            counted = 0.0
            while finals < args.recipients:
                await asyncio.sleep(0.5)
                if vacuum is not None and time.time() - looked > NAPTIME:
                    looked = time.time()
                    await vacuum.tick()
                # Counting final statuses reads the whole table (no index names `status`):
                # every 5 s, and every 0.5 s once the SMSC has sent all its receipts.
                receipts = smsc_receipts(smsc_stats)
                if receipts < args.recipients and time.time() - counted < 5:
                    continue
                counted = time.time()
                async with engine.connect() as conn:
                    finals = int(
                        await conn.scalar(
                            text(
                                "SELECT count(*) FROM messages WHERE status IN "
                                "('delivered','undelivered','failed')"
                            )
                        )
                        or 0
                    )
                if finals != last_finals:
                    last_change, last_finals = time.time(), finals
                    print(f"    final {finals}/{args.recipients}", file=sys.stderr, flush=True)
                if time.time() - last_change > args.stall:
                    out["error"] = f"stalled at {finals} final statuses"
                    break
                if any(p.poll() is not None for p in procs):
                    out["error"] = "a hub process exited"
                    break
            backends |= await pg_backends(engine)
            cpu1 = (
                cpu_seconds({p.pid for p in procs}),
                cpu_seconds(pids=backends),
                cpu_seconds(pids={smsc.pid}),
            )
            if vacuum is not None:
                out["autovacuum"] = vacuum.summary()
                await vacuum.stop()
            counts = (
                await client.get(f"/api/v1/sms/campaigns/{campaign_id}", headers=auth)
            ).json()["counts"]
        async with engine.connect() as conn:
            q = """SELECT min(created_at), max(created_at), min(sent_at), max(sent_at),
                   min(coalesce(delivered_at, undelivered_at, failed_at)),
                   max(coalesce(delivered_at, undelivered_at, failed_at)), count(*)
                   FROM messages"""
            row = (await conn.execute(text(q))).one()
            wrong = int(
                await conn.scalar(
                    text(
                        "SELECT count(*) FROM messages WHERE status <> CASE WHEN "
                        "right(recipient, 1) = '7' THEN 'undelivered' ELSE 'delivered' END"
                    )
                )
                or 0
            )
        c0, c1, s0, s1, f0, f1, n = row
        span = lambda a, b: max((b - a).total_seconds(), 1e-9) if a and b else float("nan")  # noqa: E731
        out.update(
            accepted_per_s=args.recipients / (t_accepted - t0),
            post_seconds=t_accepted - t0,
            queued_per_s=n / span(c0, c1),
            submitted_per_s=n / span(s0, s1),
            receipts_per_s=n / span(f0, f1),
            end_to_end_per_s=n / max(f1.timestamp() - t0, 1e-9) if f1 else float("nan"),
            end_to_end_seconds=(f1.timestamp() - t0) if f1 else float("nan"),
            messages=n,
            wrong_final_status=wrong,
            **memory.stop(),
            # CPU seconds per 1,000 SMS, POST to last final status (PostgreSQL: the bench
            # database's backends, sampled at the start and end of the run).
            cpu_per_1000={
                k: (b - a) * 1000 / max(n, 1)
                for k, a, b in zip(("hub", "postgres", "smsc"), cpu0, cpu1, strict=True)
            },
            counts=counts,
            smsc=json.loads(smsc_stats.read_text()) if smsc_stats.exists() else {},
        )
        if args.pg_stats:
            out["tables"] = await table_stats(db_url.replace("+asyncpg", ""))
    finally:
        for p in procs:
            stop_proc(p)
        stop_proc(smsc)
        await engine.dispose()
        if not args.keep:
            with contextlib.suppress(Exception):
                await pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        print(f"  logs in {tmp}", file=sys.stderr)
    return out


def report(r: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        f"huitong: {r['recipients']} recipients, PostgreSQL + Redis, `huitong serve` + "
        f"`huitong worker --concurrency {args.concurrency}`, smpp34 SMSC in its own process"
        + (f", WITHOUT the {args.without} package's subscribers" if args.without else ""),
    ]
    if "error" in r:
        lines.append(f"  ERROR: {r['error']}")
    if "messages" in r:
        lines += [
            f"  accepted   {r['accepted_per_s']:8.0f} recipients/s (POST took "
            f"{r['post_seconds']:.1f} s)",
            f"  queued     {r['queued_per_s']:8.0f} messages/s (campaign chunks)",
            f"  submitted  {r['submitted_per_s']:8.0f} SMS/s (sent_at span)",
            f"  receipts   {r['receipts_per_s']:8.0f} /s (final status span)",
            f"  end to end {r['end_to_end_per_s']:8.0f} SMS/s ({r['end_to_end_seconds']:.1f} s "
            "from POST to the last final status)",
            f"  peak PSS   {r['peak_pss_mb']:8.0f} MB (serve + worker process groups; the "
            "target: shared pages counted once)",
            f"  peak RSS   {r['peak_rss_mb']:8.0f} MB (the same, summed RSS: pages shared "
            "copy-on-write counted once per process)",
            f"  peak USS   {r['peak_uss_mb']:8.0f} MB (private pages only)",
            f"  at the PSS peak, RSS/PSS MB: {', '.join(r['at_pss_peak'])}",
            f"  each process's own peak, RSS (VmHWM)/PSS MB: {', '.join(r['own_peaks'])}",
            "  CPU per 1,000 SMS: "
            + ", ".join(f"{k} {v:.2f} s" for k, v in r["cpu_per_1000"].items())
            + f" (2 cores at this cost: ~{2000 / sum(r['cpu_per_1000'].values()):.0f} SMS/s)",
            f"  final statuses wrong: {r['wrong_final_status']} of {r['messages']}",
            f"  campaign counts: {json.dumps(r['counts'], ensure_ascii=False)}",
            f"  SMSC: {json.dumps(r['smsc'])}",
            f"  autovacuum stand-in: {r.get('autovacuum', 'not run')}",
        ]
    for t in r.get("tables", []):
        lines.append(
            f"  table {t['relname']:<24} live {t['n_live_tup']:>7} dead {t['n_dead_tup']:>7} "
            f"upd {t['n_tup_upd']:>7} (HOT {t['n_tup_hot_upd']:>7}) seq scans "
            f"{t['seq_scan']:>5} ({t['seq_tup_read']:>9} rows) idx fetches "
            f"{t['idx_tup_fetch']:>9} heap {t['heap'] / 2**20:6.1f} MB indexes "
            f"{t['indexes'] / 2**20:6.1f} MB"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", nargs="?", default="hub", choices=["hub", "smsc"])
    p.add_argument("--recipients", type=int, default=100_000)
    p.add_argument("--concurrency", type=int, default=2, help="Celery prefork processes")
    p.add_argument("--stall", type=float, default=120, help="give up after N s without progress")
    p.add_argument("--keep", action="store_true", help="keep the bench database")
    p.add_argument(
        "--autovacuum",
        choices=["stand-in", "analyze", "none"],
        default="stand-in",
        help="where the server runs without autovacuum: stand in for it (VACUUM (ANALYZE) / "
        "ANALYZE past its thresholds), only ANALYZE (diagnostic: dead rows stay), or leave "
        "the tables as they grow",
    )
    p.add_argument(
        "--pg-stats", action="store_true", help="print pg_stat_user_tables of the growing tables"
    )
    p.add_argument("--smsc-only", action="store_true")
    p.add_argument("--kannel", action="store_true", help="the Kannel reference run only")
    p.add_argument(
        "--no-kannel", action="store_true", help="skip the Kannel reference after the hub's run"
    )
    p.add_argument(
        "--without",
        default="",
        help="diagnostic: run the hub without this package's subscribers (e.g. crm)",
    )
    p.add_argument("--window", type=int, default=100)
    p.add_argument("--smpp-query", default="window=100&tps=10000", help="query of HUITONG_SMPP_URL")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--stats", type=Path, default=Path("smsc.json"))
    p.add_argument(
        "--set",
        nargs=2,
        action="append",
        default=[],
        metavar=("SETTING", "VALUE"),
        help="extra HUITONG_<SETTING> for the hub processes",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.mode == "smsc":
        asyncio.run(run_smsc(args.port, args.stats))
        return 0
    if args.smsc_only:
        print(json.dumps(asyncio.run(smsc_only(args.recipients, args.window))))
        return 0
    if args.kannel:
        print(kannel_report(asyncio.run(run_kannel(args.recipients, args.window))))
        return 0
    result = asyncio.run(run_hub(args))
    print(report(result, args), flush=True)
    ok = "error" not in result and result.get("wrong_final_status") == 0
    if args.no_kannel:
        return 0 if ok else 1
    if not Path(KANNEL_BIN).exists():
        print(f"kannel reference: skipped, {KANNEL_BIN} not installed (apt-get install kannel)")
    else:
        print(kannel_report(asyncio.run(run_kannel(args.recipients, args.window))))
    return 0 if ok else 1


KANNEL_BIN = "/usr/sbin/bearerbox"


def kannel_report(r: dict[str, Any]) -> str:
    """Kannel's figures in the hub report's terms (it keeps no message records: no queued/s)."""
    cpu = r.get("cpu_per_1000", {})
    return "\n".join(
        [
            f"kannel reference (same SMSC and numbers, HTTP sendsms, DLR callbacks): "
            f"{r['messages']:,} SMS",
            f"  accepted   {r.get('accepted_per_s', float('nan')):8.0f} /s (sendsms 202s; "
            f"{r.get('refused', 0)} refused)",
            f"  submitted  {r.get('submitted_per_s', float('nan')):8.0f} /s "
            "(submit_sm at the SMSC)",
            f"  end to end {r.get('end_to_end_per_s', float('nan')):8.0f} SMS/s "
            f"({r.get('dlrs', 0):,} final DLRs received)",
            f"  peak PSS   {r.get('peak_pss_mb', float('nan')):8.0f} MB, "
            f"peak RSS {r.get('peak_rss_mb', float('nan')):.0f} MB (bearerbox + smsbox)",
            "  CPU per 1,000 SMS: " + ", ".join(f"{k} {v:.2f} s" for k, v in cpu.items()),
            f"  final statuses wrong: {r.get('wrong_final_status')} of {r['messages']}",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
