"""Pool leases under races between servers, lease expiry, the session state machine, and the
directory's change feed."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from apn_factories import make_apn, make_device, make_nas
from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.apn import sessions, state
from telephony.apn.deps import secret_box
from telephony.apn.models import DeviceSession, Lease, SessionState
from telephony.apn.radius.directory import Directory, DirectoryLoader
from telephony.apn.radius.pool import PoolAllocator
from telephony.apn.sessions import AcctRecord, AcctStatus


async def loaded(hub: Hub) -> Directory:
    directory = Directory()
    await DirectoryLoader(hub.db, secret_box(hub), directory).load_all()
    return directory


async def test_two_servers_racing_for_the_pool_never_share_an_address(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    apn = await make_apn(client, tenant, pool_cidr="10.64.0.0/28")  # 14 addresses
    for i in range(12):
        await make_device(client, tenant, apn["id"], name=f"d{i}", msisdn=f"1380013{i:04d}")
    directory = await loaded(hub)
    entry = directory.apns[uuid.UUID(apn["id"])]
    devices = list(directory.devices.values())
    # Two allocators with their own memory, as two RADIUS processes would have.
    one, two = PoolAllocator(hub.db, 300), PoolAllocator(hub.db, 300)
    await one.load()
    await two.load()
    try:
        got = await asyncio.gather(
            *(one.allocate(entry, d) for d in devices[:6]),
            *(two.allocate(entry, d) for d in devices[6:]),
        )
    finally:
        await one.close()
        await two.close()
    assert None not in got
    assert len(set(got)) == 12
    async with hub.db.session() as s:
        unscoped(s)
        assert sorted(await s.scalars(select(Lease.address))) == sorted(got)  # type: ignore[type-var]


async def test_a_lease_no_accounting_start_confirmed_is_reclaimed_when_the_pool_runs_dry(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    apn = await make_apn(client, tenant, pool_cidr="10.64.0.0/30")  # two addresses
    for i in range(3):
        await make_device(client, tenant, apn["id"], name=f"d{i}", msisdn=f"1380013{i:04d}")
    directory = await loaded(hub)
    entry = directory.apns[uuid.UUID(apn["id"])]
    a, b, c = sorted(directory.devices.values(), key=lambda d: d.name)
    pool = PoolAllocator(hub.db, 300)
    await pool.load()
    try:
        assert await pool.allocate(entry, a) == "10.64.0.1"
        assert await pool.allocate(entry, b) == "10.64.0.2"
        assert await pool.allocate(entry, c) is None  # exhausted, nothing stale yet
        async with hub.db.engine.begin() as conn:
            past = datetime.now(UTC) - timedelta(seconds=1)
            await conn.execute(update(Lease).where(Lease.device_id == a.id).values(expires_at=past))
        assert await pool.allocate(entry, c) == "10.64.0.1"
    finally:
        await pool.close()

    r = await client.patch(
        f"/api/v1/apn/apns/{apn['id']}", headers=tenant.auth, json={"pool_cidr": "10.80.0.0/24"}
    )
    assert r.status_code == 409
    assert r.json()["field"] == "pool_cidr"


def record(device: uuid.UUID, apn: uuid.UUID, status: AcctStatus, **kw: object) -> AcctRecord:
    base: dict[str, object] = {
        "nas_address": "192.0.2.1",
        "acct_session_id": "acct-1",
        "at": datetime.now(UTC),
        "address": "10.64.0.1",
    }
    base.update(kw)
    return AcctRecord(status=status, device_id=device, apn_id=apn, **base)  # type: ignore[arg-type]


async def test_session_state_machine_and_nas_reboot(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    apn = await make_apn(client, tenant)
    device = await make_device(client, tenant, apn["id"])
    dev, apn_id = uuid.UUID(device["id"]), uuid.UUID(apn["id"])
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        # An Interim-Update whose Start was lost adopts the session.
        out = await sessions.record(
            s, record(dev, apn_id, AcctStatus.INTERIM, session_time=30, bytes_in=10)
        )
        assert out.session is not None and out.session.state is SessionState.UPDATING
        await s.commit()
        row = out.session
        with pytest.raises(state.IllegalTransition):
            state.move(row, SessionState.STARTED, datetime.now(UTC))
        stopped = await sessions.record(s, record(dev, apn_id, AcctStatus.STOP, bytes_in=20))
        assert stopped.session is not None and stopped.session.state is SessionState.STOPPED
        await s.commit()
        # A late Interim-Update after Stop changes nothing.
        late = await sessions.record(s, record(dev, apn_id, AcctStatus.INTERIM, bytes_in=99))
        assert late.session is not None and late.session.bytes_in == 20
        await s.commit()

        await sessions.record(s, record(dev, apn_id, AcctStatus.START, acct_session_id="acct-2"))
        await s.commit()
        reset = await sessions.stop_all_of_nas(s, "192.0.2.1", datetime.now(UTC), "NAS-Reboot")
        await s.commit()
        assert reset.released == [(apn_id, dev)]
        causes = list(
            await s.scalars(select(DeviceSession.stop_cause).order_by(DeviceSession.started_at))
        )
    assert "NAS-Reboot" in causes


async def test_directory_follows_changes_and_forgets_deleted_nas(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    directory = Directory()
    loader = DirectoryLoader(hub.db, secret_box(hub), directory)
    await loader.load_all()
    apn = await make_apn(client, tenant)
    nas = await make_nas(client, tenant, apn["id"], address="192.0.2.5")
    await make_device(client, tenant, apn["id"], imsi="460001234567890")
    assert await loader.poll() == 3
    assert directory.nas_for("::ffff:192.0.2.5") is not None  # dual-stack socket form
    found = directory.find_device(tenant.id, imsi="460001234567890", calling=None, user=None)
    assert found is not None
    r = await client.delete(f"/api/v1/apn/apns/{apn['id']}/nas/{nas['id']}", headers=tenant.auth)
    assert r.status_code == 204
    assert await loader.poll() == 1
    assert directory.nas_for("192.0.2.5") is None
    assert await loader.poll() == 0
    assert not loader._seen  # every id applied, the watermark caught up
