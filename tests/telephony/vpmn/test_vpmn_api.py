"""VPMN over HTTP: plan, members, resolution, tariff, CDRs and monthly bills (JSON and CSV)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import httpx
from vpmn_factories import add_cdr, setup_vpmn

from comms.hub import Hub
from hubtest import TenantCtx


async def test_unconfigured_tenant_sees_the_default_plan(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    r = await client.get("/api/v1/vpmn/plan", headers=tenant.auth)
    assert r.status_code == 200
    assert r.json()["configured"] is False and r.json()["short_length"] == 4


async def test_plan_refuses_prefixes_as_long_as_the_number(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    r = await client.put(
        "/api/v1/vpmn/plan", headers=tenant.auth, json={"short_length": 3, "prefixes": ["600"]}
    )
    assert r.status_code == 422


async def test_member_with_desk_and_mobile_is_created_with_e164_mobile(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    r = await client.post(
        "/api/v1/vpmn/members",
        headers=tenant.auth,
        json={
            "name": "张伟",
            "department": "Sales",
            "short_number": "6001",
            "mobile": "139 1234 5678",
            "desk_endpoint": "PJSIP/zhang",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["mobile"], body["desk_endpoint"], body["strategy"]) == (
        "+8613912345678",
        "PJSIP/zhang",
        "sequential",
    )
    got = await client.get(f"/api/v1/vpmn/members/{body['id']}", headers=tenant.auth)
    assert got.json() == body


async def test_short_number_outside_the_plan_is_refused(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    r = await client.post(
        "/api/v1/vpmn/members",
        headers=tenant.auth,
        json={"name": "x", "short_number": "7001", "desk_endpoint": "7001"},
    )
    assert r.status_code == 422 and r.json()["field"] == "short_number"


async def test_member_needs_a_phone(client: httpx.AsyncClient, tenant: TenantCtx) -> None:
    r = await client.post(
        "/api/v1/vpmn/members", headers=tenant.auth, json={"name": "x", "short_number": "6009"}
    )
    assert r.status_code == 422


async def test_duplicate_short_number_or_mobile_conflicts(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_vpmn(hub, tenant)
    dup_short = {"name": "x", "short_number": "6001", "desk_endpoint": "9"}
    dup_mobile = {"name": "x", "short_number": "6055", "mobile": "+8613912345678"}
    for body in (dup_short, dup_mobile):
        r = await client.post("/api/v1/vpmn/members", headers=tenant.auth, json=body)
        assert r.status_code == 409, r.text


async def test_plan_change_that_strands_members_is_refused(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_vpmn(hub, tenant)
    r = await client.put(
        "/api/v1/vpmn/plan", headers=tenant.auth, json={"short_length": 4, "prefixes": ["6"]}
    )
    assert r.status_code == 409 and "8003" in r.json()["detail"]


async def test_update_and_delete_member(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    members = await setup_vpmn(hub, tenant)
    url = f"/api/v1/vpmn/members/{members['zhang'].id}"
    r = await client.patch(url, headers=tenant.auth, json={"strategy": "simultaneous"})
    assert r.status_code == 200 and r.json()["strategy"] == "simultaneous"
    r = await client.patch(url, headers=tenant.auth, json={"mobile": None, "desk_endpoint": None})
    assert r.status_code == 422
    assert (await client.delete(url, headers=tenant.auth)).status_code == 204
    assert (await client.get(url, headers=tenant.auth)).status_code == 404


async def test_resolve_answers_what_the_app_would_do(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_vpmn(hub, tenant)
    r = await client.get(
        "/api/v1/vpmn/resolve", headers=tenant.auth, params={"from": "8003", "dial": "6001"}
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["action"], body["in_network"], body["member"]["name"]) == (
        "dial_member",
        True,
        "张伟",
    )
    assert body["caller_member"]["short_number"] == "8003"
    assert [(t["kind"], t["endpoint"], t["step"]) for t in body["targets"]] == [
        ("desk", "PJSIP/8001", 0),
        ("mobile", "PJSIP/+8613912345678@carrier", 1),
    ]
    unknown = await client.get(
        "/api/v1/vpmn/resolve", headers=tenant.auth, params={"from": "6001", "dial": "6999"}
    )
    assert unknown.json()["action"] == "announce" and unknown.json()["targets"] == []
    long = await client.get(
        "/api/v1/vpmn/resolve",
        headers=tenant.auth,
        params={"from": "+8613700000000", "dial": "13800001111"},
    )
    assert (long.json()["member"]["name"], long.json()["in_network"]) == ("李娜", False)


async def test_cdrs_are_rated_by_class_and_are_idempotent(hub: Hub, tenant: TenantCtx) -> None:
    await setup_vpmn(hub, tenant)
    at = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    internal = await add_cdr(hub, tenant, "c1", "6001", "6002", at, 61)
    on_net = await add_cdr(hub, tenant, "c2", "6001", "13911110000", at, 61)
    off_net = await add_cdr(hub, tenant, "c3", "8003", "01058001234", at, 61)
    inbound = await add_cdr(hub, tenant, "c4", "+8613700000000", "6001", at, 61)
    missed = await add_cdr(hub, tenant, "c5", "6001", "01058001234", at, None)
    assert (internal.tariff_class, internal.in_network, internal.charge) == ("in_network", True, 6)
    assert (on_net.tariff_class, on_net.charge) == ("on_net_mobile", 17)  # 66 s at 15 = 16.5
    assert (off_net.tariff_class, off_net.charge) == ("off_net", 33)
    assert (inbound.caller_member_id, inbound.charge) == (None, 0)
    assert (missed.billable_seconds, missed.charge, missed.disposition) == (0, 0, "no_answer")
    again = await add_cdr(hub, tenant, "c1", "6001", "6002", at, 999)
    assert again.id == internal.id and again.charge == 6


async def test_monthly_bill_by_member_and_department_in_tenant_time(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_vpmn(hub, tenant)
    await add_cdr(hub, tenant, "a", "6001", "6002", datetime(2026, 3, 10, tzinfo=UTC), 61)
    await add_cdr(hub, tenant, "b", "6002", "01058001234", datetime(2026, 3, 11, tzinfo=UTC), 60)
    await add_cdr(hub, tenant, "c", "8003", "01058001234", datetime(2026, 3, 12, tzinfo=UTC), 6)
    # 17:00 UTC on 31 March is 01:00 on 1 April in Shanghai: April's bill, not March's.
    await add_cdr(
        hub, tenant, "d", "6001", "01058001234", datetime(2026, 3, 31, 17, tzinfo=UTC), 60
    )
    r = await client.get("/api/v1/vpmn/bills", headers=tenant.auth, params={"month": "2026-03"})
    assert r.status_code == 200, r.text
    bill = r.json()
    lines = {line["key"]: line for line in bill["lines"]}
    assert set(lines) == {"张伟", "李娜", "王芳"}
    assert (lines["张伟"]["calls"], lines["张伟"]["in_network_charge"]) == (1, 6)
    assert lines["李娜"]["off_net_charge"] == 30
    assert lines["王芳"]["total_charge"] == 3
    assert bill["total_charge"] == 39
    dept = await client.get(
        "/api/v1/vpmn/bills", headers=tenant.auth, params={"month": "2026-03", "by": "department"}
    )
    by_dept = {line["key"]: line["total_charge"] for line in dept.json()["lines"]}
    assert by_dept == {"Sales": 36, "Support": 3}
    april = await client.get("/api/v1/vpmn/bills", headers=tenant.auth, params={"month": "2026-04"})
    assert april.json()["total_charge"] == 30


async def test_bill_exports_as_csv_with_a_total_row(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_vpmn(hub, tenant)
    await add_cdr(hub, tenant, "a", "6001", "6002", datetime(2026, 3, 10, tzinfo=UTC), 61)
    r = await client.get(
        "/api/v1/vpmn/bills",
        headers=tenant.auth,
        params={"month": "2026-03", "by": "department", "format": "csv"},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "vpmn-department-2026-03.csv" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["key", "member_id", "department"]
    assert rows[1][0] == "Sales" and rows[1][-1] == "6"
    assert rows[-1][0] == "TOTAL" and rows[-1][-1] == "6"


async def test_bad_month_is_refused(client: httpx.AsyncClient, tenant: TenantCtx) -> None:
    r = await client.get("/api/v1/vpmn/bills", headers=tenant.auth, params={"month": "2026-13"})
    assert r.status_code == 422


async def test_viewers_cannot_change_the_plan(client: httpx.AsyncClient, tenant: TenantCtx) -> None:
    r = await client.post(
        "/api/v1/api-keys", headers=tenant.auth, json={"name": "ro", "role": "viewer"}
    )
    assert r.status_code == 201, r.text
    viewer = {"Authorization": f"Bearer {r.json()['key']}"}
    r = await client.put(
        "/api/v1/vpmn/plan", headers=viewer, json={"short_length": 4, "prefixes": ["6"]}
    )
    assert r.status_code == 403
