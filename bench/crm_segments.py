"""Segment membership for one phone (crm.in_segment, asked by IVR conditions per call) and
whole-segment reads (crm.segment_members, SMS campaign audiences) over many contacts.

    python bench/crm_segments.py                                   # SQLite, 20,000 contacts
    python bench/crm_segments.py --contacts 50000 --db postgresql+asyncpg://postgres@127.0.0.1/x

Setup: a fresh SQLite file, or a fresh PostgreSQL database created (and dropped afterwards)
on the server --db names; migrated; one tenant; --contacts contacts bulk-inserted, each with
one mobile number, tags drawn from vip/b2b/retail/大客户, a custom field `tier`, and every
tenth with an open ticket. The segment: tags_any [vip, 大客户], no open ticket, phone prefix
+86138, tier contains "o" (about 1/3 of contacts).

Figures: `crm.in_segment` for --asks random numbers (members and non-members, through the
hub's query registry, each in its own session as a handler would): median, p99 and asks/s;
then the member count, one 100-member page, and the whole `crm.segment_members` list.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.engine import make_url

from comms.db.base import utcnow
from comms.db.migrate import upgrade
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from comms.modules import discover_modules
from comms.settings import Settings
from comms.tenants.service import create_tenant
from crm.contacts.models import Contact, ContactPhone
from crm.segments import service as segments
from crm.segments.schemas import SegmentFilter, SegmentIn
from crm.tickets.models import Ticket, TicketChannel, TicketStatus

TAGS = ["vip", "b2b", "retail", "大客户"]
TIERS = ["gold", "silver", "bronze"]
FILTER = {
    "tags_any": ["vip", "大客户"],
    "has_open_ticket": False,
    "phone_prefix": "+86138",
    "custom_fields": [{"field": "tier", "op": "contains", "value": "o"}],
}


def phone(i: int) -> str:
    return f"+86{138 + i % 2}{i:08d}"


async def prepare(hub: Hub, n: int) -> uuid.UUID:
    async with hub.db.session() as s:
        t = await create_tenant(s, hub.credentials, "bench", "bench@bench.cn", "bench-pass-1")
    tid = t.tenant.id
    rng = random.Random(7)
    now = utcnow()
    async with hub.db.session() as s:
        scoped_to(s, tid)
        for start in range(0, n, 2000):
            contacts, phones, tickets = [], [], []
            for i in range(start, min(n, start + 2000)):
                cid = uuid.uuid4()
                contacts.append(
                    {
                        "id": cid,
                        "tenant_id": tid,
                        "name": f"c{i:06d}",
                        "tags": rng.sample(TAGS, rng.randint(0, 2)),
                        "custom_fields": {"tier": rng.choice(TIERS)},
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                phones.append({"tenant_id": tid, "contact_id": cid, "e164": phone(i)})
                if i % 10 == 0:
                    tickets.append(
                        {
                            "id": uuid.uuid4(),
                            "tenant_id": tid,
                            "contact_id": cid,
                            "channel": TicketChannel.SMS,
                            "subject": "open",
                            "status": TicketStatus.OPEN,
                            "extra": {},
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
            await s.execute(insert(Contact), contacts)
            await s.execute(insert(ContactPhone), phones)
            if tickets:
                await s.execute(insert(Ticket), tickets)
        seg = SegmentIn(name="bench", filter=SegmentFilter.model_validate(FILTER))
        await segments.create_segment(s, seg)
        await s.commit()
    return tid


async def run(url: str, n: int, asks: int) -> None:
    settings = Settings(database_url=url, secret_key="bench-secret-key-long-enough-for-hs256")
    hub = Hub(settings)
    try:
        t0 = time.perf_counter()
        tid = await prepare(hub, n)
        print(f"setup: {n:,} contacts in {time.perf_counter() - t0:.1f} s ({hub.db.dialect})")
        rng = random.Random(11)
        lat: list[float] = []
        members = 0
        start = time.perf_counter()
        for _ in range(asks):
            args = {"segment": "bench", "phone": phone(rng.randrange(n))}
            a = time.perf_counter()
            async with hub.db.session() as s:
                scoped_to(s, tid)
                members += bool(await hub.queries.ask(s, "crm.in_segment", args))
            lat.append((time.perf_counter() - a) * 1000)
        wall = time.perf_counter() - start
        lat.sort()
        median, p99 = statistics.median(lat), lat[int(len(lat) * 0.99) - 1]
        print(
            f"crm.in_segment: {asks} asks ({members} members), median {median:.2f} ms, "
            f"p99 {p99:.2f} ms, {asks / wall:,.0f} asks/s"
        )
        async with hub.db.session() as s:
            scoped_to(s, tid)
            seg = await segments.segment_by_name(s, "bench")
            assert seg is not None
            f = segments.filter_of(seg)
            a = time.perf_counter()
            count = await segments.count(s, f)
            b = time.perf_counter()
            page, _ = await segments.members(s, f, limit=100)
            c = time.perf_counter()
            everyone = await hub.queries.ask(s, "crm.segment_members", {"segment": "bench"})
            d = time.perf_counter()
        assert len(everyone) == count and len(page) == min(100, count)
        ms = [(y - x) * 1000 for x, y in ((a, b), (b, c), (c, d))]
        print(
            f"count {count:,}: {ms[0]:.0f} ms; first page of 100: {ms[1]:.0f} ms; "
            f"crm.segment_members ({len(everyone):,}): {ms[2]:.0f} ms"
        )
    finally:
        await hub.stop()


async def admin(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--contacts", type=int, default=20_000)
    p.add_argument("--asks", type=int, default=2_000)
    p.add_argument("--db", default="", help="postgresql+asyncpg://… server (a database is made)")
    ns = p.parse_args()
    if not ns.db:
        with tempfile.TemporaryDirectory() as tmp:
            db = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            upgrade(db, discover_modules())
            asyncio.run(run(db, ns.contacts, ns.asks))
        return
    url = make_url(ns.db)
    name = f"crm_bench_{os.getpid()}"
    dsn = url.set(drivername="postgresql", database="postgres").render_as_string(False)
    asyncio.run(admin(dsn, f'CREATE DATABASE "{name}"'))
    try:
        db = url.set(database=name).render_as_string(False)
        upgrade(db, discover_modules())
        asyncio.run(run(db, ns.contacts, ns.asks))
    finally:
        asyncio.run(admin(dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
