"""The RADIUS server's in-process copy of NAS clients, APNs and devices.

Every Access-Request is answered from here, with no database round trip: at thousands of
requests a second a query each would blow the latency budget (SQLite above all). The copy is
loaded once, then kept fresh by polling `apn_changes`, which the services append to in the
same transaction as each change.
"""

from __future__ import annotations

import ipaddress
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.base import utcnow
from comms.db.engine import Database
from comms.db.tenancy import unscoped
from telephony.apn.crypto import NAS_SECRET, SealError, SecretBox
from telephony.apn.identity import msisdn_or_none
from telephony.apn.models import Apn, ApnChange, AuthMode, Device, NasClient

log = logging.getLogger(__name__)

GAP_PATIENCE = 30.0  # seconds a missing change id may still commit (PG sequence gaps)
CHANGE_RETENTION = timedelta(days=1)


@dataclass(slots=True)
class NasEntry:
    id: uuid.UUID
    tenant_id: uuid.UUID
    apn_id: uuid.UUID
    address: str
    secret: bytes


@dataclass(slots=True)
class ApnEntry:
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    auth_mode: AuthMode
    pool: ipaddress.IPv4Network | None
    enabled: bool
    statics: set[str] = field(default_factory=set)  # never handed out from the pool


@dataclass(slots=True)
class DeviceEntry:
    id: uuid.UUID
    tenant_id: uuid.UUID
    apn_id: uuid.UUID
    name: str
    enabled: bool
    imsi: str | None
    msisdn: str | None
    username: str | None
    password_enc: str | None
    static_address: str | None

    def lookup_keys(self) -> list[tuple[uuid.UUID, str, str]]:
        found = [("imsi", self.imsi), ("msisdn", self.msisdn), ("user", self.username)]
        return [(self.tenant_id, kind, v) for kind, v in found if v]


class Directory:
    def __init__(self) -> None:
        self.nas: dict[str, NasEntry] = {}
        self.apns: dict[uuid.UUID, ApnEntry] = {}
        self.devices: dict[uuid.UUID, DeviceEntry] = {}
        self._by_key: dict[tuple[uuid.UUID, str, str], DeviceEntry] = {}

    def nas_for(self, address: str) -> NasEntry | None:
        found = self.nas.get(address)
        if found is None and address.startswith("::ffff:"):  # IPv4 client on a dual-stack socket
            found = self.nas.get(address[7:])
        return found

    def find_device(
        self, tenant_id: uuid.UUID, *, imsi: str | None, calling: str | None, user: str | None
    ) -> DeviceEntry | None:
        """By IMSI (the SIM itself), then MSISDN (Calling-Station-Id), then User-Name."""
        if imsi and (d := self._by_key.get((tenant_id, "imsi", imsi))):
            return d
        if calling:
            e164 = msisdn_or_none(calling)
            if e164 and (d := self._by_key.get((tenant_id, "msisdn", e164))):
                return d
        if user:
            return self._by_key.get((tenant_id, "user", user))
        return None

    def put_device(self, entry: DeviceEntry) -> None:
        self.drop_device(entry.id)
        self.devices[entry.id] = entry
        for key in entry.lookup_keys():
            self._by_key[key] = entry
        apn = self.apns.get(entry.apn_id)
        if apn is not None and entry.static_address:
            apn.statics.add(entry.static_address)

    def drop_device(self, device_id: uuid.UUID) -> None:
        old = self.devices.pop(device_id, None)
        if old is None:
            return
        for key in old.lookup_keys():
            if self._by_key.get(key) is old:
                del self._by_key[key]
        apn = self.apns.get(old.apn_id)
        if apn is not None and old.static_address:
            apn.statics.discard(old.static_address)


_DEVICE_COLS = (
    Device.id,
    Device.tenant_id,
    Device.apn_id,
    Device.name,
    Device.enabled,
    Device.imsi,
    Device.msisdn,
    Device.username,
    Device.password_enc,
    Device.static_address,
)


class DirectoryLoader:
    """Fills a Directory from the database and applies the change log to it."""

    def __init__(self, db: Database, box: SecretBox, directory: Directory) -> None:
        self.db = db
        self.box = box
        self.directory = directory
        self.watermark = 0  # every change id <= this one has been applied
        self._seen: set[int] = set()  # applied ids above the watermark
        self._gap_since: float | None = None
        self._last_prune = 0.0

    async def load_all(self) -> None:
        async with self.db.session() as s:
            unscoped(s)
            self.watermark = int(await s.scalar(select(func.max(ApnChange.id))) or 0)
            for apn in await s.scalars(select(Apn)):
                self._put_apn(apn)
            for nas in await s.scalars(select(NasClient)):
                self._put_nas(nas)
            for row in await s.execute(select(*_DEVICE_COLS)):
                self.directory.put_device(DeviceEntry(**row._asdict()))
        d = self.directory
        log.info("directory: %d APNs, %d NAS, %d devices", len(d.apns), len(d.nas), len(d.devices))

    def _put_apn(self, apn: Apn) -> None:
        old = self.directory.apns.get(apn.id)
        self.directory.apns[apn.id] = ApnEntry(
            id=apn.id,
            tenant_id=apn.tenant_id,
            name=apn.name,
            auth_mode=apn.auth_mode,
            pool=ipaddress.IPv4Network(apn.pool_cidr) if apn.pool_cidr else None,
            enabled=apn.enabled,
            statics=old.statics if old else set(),
        )

    def _put_nas(self, nas: NasClient) -> None:
        self._drop_nas(nas.id)
        try:
            secret = self.box.open(nas.secret_enc, NAS_SECRET).encode()
        except SealError:
            log.error("NAS %s: secret does not decrypt (HUITONG_SECRET_KEY changed?)", nas.address)
            return
        self.directory.nas[nas.address] = NasEntry(
            nas.id, nas.tenant_id, nas.apn_id, nas.address, secret
        )

    def _drop_nas(self, nas_id: uuid.UUID) -> None:
        for addr, entry in list(self.directory.nas.items()):
            if entry.id == nas_id:
                del self.directory.nas[addr]

    async def poll(self) -> int:
        """Apply changes committed since the last poll; returns how many were applied."""
        async with self.db.session() as s:
            unscoped(s)
            q = select(ApnChange.id, ApnChange.kind, ApnChange.entity_id).where(
                ApnChange.id > self.watermark
            )
            rows = [r for r in await s.execute(q.order_by(ApnChange.id)) if r[0] not in self._seen]
            todo = {(kind, entity) for _, kind, entity in rows}
            for kind, entity in sorted(todo, key=lambda t: t[0] != "apn"):
                await self._apply(s, kind, entity)
            self._seen.update(r[0] for r in rows)
            self._advance()
            await self._maybe_prune(s)
        return len(rows)

    def _advance(self) -> None:
        while self.watermark + 1 in self._seen:
            self.watermark += 1
            self._seen.discard(self.watermark)
        if not self._seen:
            self._gap_since = None
            return
        # An id below ones already seen is either a transaction still running or a rolled
        # back one (sequences never reuse ids); give it GAP_PATIENCE to show up.
        now = time.monotonic()
        if self._gap_since is None:
            self._gap_since = now
        elif now - self._gap_since > GAP_PATIENCE:
            self.watermark = min(self._seen)
            self._seen.discard(self.watermark)
            self._gap_since = None
            self._advance()

    async def _apply(self, s: AsyncSession, kind: str, entity_id: uuid.UUID) -> None:
        d = self.directory
        if kind == "nas":
            nas = await s.get(NasClient, entity_id, populate_existing=True)
            if nas is None:
                self._drop_nas(entity_id)
            else:
                self._put_nas(nas)
        elif kind == "device":
            row = (await s.execute(select(*_DEVICE_COLS).where(Device.id == entity_id))).first()
            if row is None:
                d.drop_device(entity_id)
            else:
                d.put_device(DeviceEntry(**row._asdict()))
        elif kind == "apn":
            apn = await s.get(Apn, entity_id, populate_existing=True)
            for dev in [x for x in d.devices.values() if x.apn_id == entity_id]:
                d.drop_device(dev.id)
            if apn is None:
                d.apns.pop(entity_id, None)
                return
            self._put_apn(apn)
            d.apns[apn.id].statics.clear()
            for row in await s.execute(select(*_DEVICE_COLS).where(Device.apn_id == apn.id)):
                d.put_device(DeviceEntry(**row._asdict()))

    async def _maybe_prune(self, s: AsyncSession) -> None:
        now = time.monotonic()
        if now - self._last_prune < 3600:
            return
        self._last_prune = now
        await s.execute(delete(ApnChange).where(ApnChange.at < utcnow() - CHANGE_RETENTION))
        await s.commit()
