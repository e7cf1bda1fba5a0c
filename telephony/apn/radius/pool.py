"""Address pools: the next free address of an APN's pool, leased safely under concurrency.

The process keeps which addresses are leased in memory, so a device re-attaching while it
holds a lease costs nothing; a new lease is one row in `apn_leases`, whose unique
(apn_id, address) constraint is the real arbiter when several servers (or a stale memory)
race for an address: the loser reloads what is taken and tries the next address. Inserts
that arrive together are committed together (group commit), so a burst of attaches costs
one transaction, not one each.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from comms.db.base import utcnow
from comms.db.engine import Database
from telephony.apn.models import Lease
from telephony.apn.radius.directory import ApnEntry, DeviceEntry

log = logging.getLogger(__name__)

MAX_TRIES = 5


class GroupInserter:
    """Inserts lease rows; concurrent callers share one transaction. True = inserted,
    False = a unique constraint refused the row."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def insert(self, row: dict[str, Any]) -> bool:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="apn-lease-writer")
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((row, fut))
        self._wake.set()
        return await fut

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._queue = self._queue, []
            if batch:
                await self._write(batch)

    async def _write(self, batch: list[tuple[dict[str, Any], asyncio.Future[bool]]]) -> None:
        try:
            async with self.db.engine.begin() as conn:
                await conn.execute(insert(Lease), [row for row, _ in batch])
            _resolve(batch, lambda _: True)
            return
        except IntegrityError:
            pass
        except Exception as exc:
            log.exception("lease insert failed")
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        # Someone in the batch lost a race: find out who, one row at a time.
        for row, fut in batch:
            try:
                async with self.db.engine.begin() as conn:
                    await conn.execute(insert(Lease), [row])
                ok = True
            except IntegrityError:
                ok = False
            except Exception as exc:
                fut.set_exception(exc)
                continue
            fut.set_result(ok)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def _resolve(
    batch: list[tuple[dict[str, Any], asyncio.Future[bool]]], ok: Callable[[Any], bool]
) -> None:
    for row, fut in batch:
        if not fut.done():
            fut.set_result(ok(row))


class PoolAllocator:
    def __init__(self, db: Database, grace_seconds: float) -> None:
        self.db = db
        self.grace = timedelta(seconds=grace_seconds)
        self.by_device: dict[uuid.UUID, str] = {}
        self.used: dict[uuid.UUID, set[str]] = {}  # apn -> leased addresses
        self._cursor: dict[uuid.UUID, int] = {}
        self._pending: dict[uuid.UUID, tuple[uuid.UUID, str]] = {}  # device -> (apn, address)
        self._writer = GroupInserter(db)

    async def load(self, apn_id: uuid.UUID | None = None) -> None:
        """(Re)read leases from the database: all, or one APN's after a lost race."""
        q = select(Lease.apn_id, Lease.device_id, Lease.address)
        if apn_id is not None:
            q = q.where(Lease.apn_id == apn_id)
            for dev in [d for d, a in self.by_device.items() if a in self.used.get(apn_id, ())]:
                del self.by_device[dev]
            self.used[apn_id] = set()
        else:
            self.by_device.clear()
            self.used.clear()
        async with self.db.engine.connect() as conn:
            rows = [(a, d, addr) for a, d, addr in await conn.execute(q)]
        # Reservations whose insert is still in flight are not in the database yet.
        for device, (apn, address) in self._pending.items():
            rows.append((apn, device, address))
        for apn, device, address in rows:
            if apn_id is None or apn == apn_id:
                self.by_device[device] = address
                self.used.setdefault(apn, set()).add(address)

    def held(self, device_id: uuid.UUID) -> str | None:
        return self.by_device.get(device_id)

    async def allocate(self, apn: ApnEntry, device: DeviceEntry) -> str | None:
        """The device's address from the pool: the one it holds, else the next free one;
        None when the pool is exhausted."""
        for _ in range(MAX_TRIES):
            held = self.by_device.get(device.id)
            if held is not None:
                return held
            address = self._pick(apn) or (await self._reclaim(apn) and self._pick(apn))
            if not address:
                return None
            # Reserved in memory before the await, so concurrent requests skip it.
            self.by_device[device.id] = address
            self.used.setdefault(apn.id, set()).add(address)
            self._pending[device.id] = (apn.id, address)
            try:
                ok = await self._insert(apn, device, address)
            finally:
                self._pending.pop(device.id, None)
            if ok:
                return address
            log.info("lease race on %s for %s; reloading the pool", address, apn.name)
            await self.load(apn.id)
        return None

    async def _insert(self, apn: ApnEntry, device: DeviceEntry, address: str) -> bool:
        return await self._writer.insert(
            {
                "id": uuid.uuid4(),
                "tenant_id": apn.tenant_id,
                "apn_id": apn.id,
                "device_id": device.id,
                "address": address,
                "expires_at": utcnow() + self.grace,
                "created_at": utcnow(),
            }
        )

    def _pick(self, apn: ApnEntry) -> str | None:
        net = apn.pool
        if net is None:
            return None
        used = self.used.setdefault(apn.id, set())
        first, size = int(net.network_address) + 1, max(net.num_addresses - 2, 0)
        # Next-fit from where the last search stopped: a freed address is not handed out
        # again at once (packets of its previous holder may still be in flight), and a nearly
        # full pool is not rescanned from the start on every attach.
        start = self._cursor.get(apn.id, 0)
        for step in range(size):
            offset = (start + step) % size
            candidate = str(ipaddress.IPv4Address(first + offset))
            if candidate not in used and candidate not in apn.statics:
                self._cursor[apn.id] = offset + 1
                return candidate
        return None

    async def _reclaim(self, apn: ApnEntry) -> bool:
        """Free leases that an Access-Accept made but no Accounting-Start ever confirmed."""
        cond = (Lease.apn_id == apn.id) & (Lease.expires_at < utcnow())
        async with self.db.engine.begin() as conn:
            stale = list(await conn.execute(select(Lease.device_id, Lease.address).where(cond)))
            if stale:
                await conn.execute(delete(Lease).where(cond))
        for device, address in stale:
            self.forget(apn.id, device, address)
        return bool(stale)

    def forget(self, apn_id: uuid.UUID, device_id: uuid.UUID, address: str | None = None) -> None:
        """The lease is gone (Accounting-Stop committed): its address is free again."""
        held = self.by_device.pop(device_id, None)
        self.used.get(apn_id, set()).discard(address or held or "")

    async def close(self) -> None:
        await self._writer.close()
