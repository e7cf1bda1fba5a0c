"""Sign-in, bearer tokens, API keys, roles and the audit log, through the HTTP API."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from comms.auth.models import ApiKey, User
from comms.db.tenancy import unscoped
from comms.hub import Hub
from hubtest import TenantCtx


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def add_user(client: httpx.AsyncClient, admin: TenantCtx, email: str, role: str) -> str:
    r = await client.post(
        "/api/v1/users",
        headers=admin.auth,
        json={"email": email, "password": "password-123", "role": role},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def bearer(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    r = await login(client, email, "password-123")
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_login_returns_a_jwt_that_authenticates(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    r = await login(client, tenant.admin_email.upper(), tenant.admin_password)
    assert r.status_code == 200
    token = r.json()["access_token"]
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["tenant_id"] == str(tenant.id)
    assert me.json()["role"] == "admin"


async def test_wrong_password_and_unknown_email_answer_the_same_401(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    wrong = await login(client, tenant.admin_email, "not-the-password")
    unknown = await login(client, "nobody@nowhere.cn", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "invalid email or password"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": "Basic YTpi"},
        {"Authorization": "Bearer hk_000000000000_forged"},
    ],
)
async def test_api_without_valid_credentials_is_401(
    client: httpx.AsyncClient, tenant: TenantCtx, headers: dict[str, str]
) -> None:
    r = await client.get("/api/v1/tenant", headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


async def test_api_key_is_shown_once_and_stored_only_hashed(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    r = await client.post(
        "/api/v1/api-keys", headers=tenant.auth, json={"name": "erp", "role": "viewer"}
    )
    assert r.status_code == 201
    secret = r.json()["key"]
    listed = await client.get("/api/v1/api-keys", headers=tenant.auth)
    assert secret not in listed.text
    async with hub.db.session() as s:
        unscoped(s)
        stored = [(k.prefix, k.key_hash) for k in await s.scalars(select(ApiKey))]
    assert all(secret not in (p + h) for p, h in stored)
    viewer = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/api/v1/tenant", headers=viewer)).status_code == 200


async def test_revoked_api_key_stops_working(client: httpx.AsyncClient, tenant: TenantCtx) -> None:
    r = await client.post("/api/v1/api-keys", headers=tenant.auth, json={"name": "temp"})
    key_id, secret = r.json()["id"], r.json()["key"]
    assert (
        await client.delete(f"/api/v1/api-keys/{key_id}", headers=tenant.auth)
    ).status_code == 200
    r = await client.get("/api/v1/tenant", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401


async def test_passwords_are_stored_as_argon2id(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await add_user(client, tenant, "agent1@acme.cn", "agent")
    async with hub.db.session() as s:
        unscoped(s)
        hashes = list(await s.scalars(select(User.password_hash)))
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any("password-123" in h for h in hashes)


@pytest.mark.parametrize(
    ("role", "status"),
    [("agent", 403), ("viewer", 403), ("supervisor", 403), ("admin", 201)],
)
async def test_only_admins_create_users(
    client: httpx.AsyncClient, tenant: TenantCtx, role: str, status: int
) -> None:
    await add_user(client, tenant, f"{role}@acme.cn", role)
    headers = await bearer(client, f"{role}@acme.cn")
    r = await client.post(
        "/api/v1/users", headers=headers, json={"email": "new@acme.cn", "password": "password-123"}
    )
    assert r.status_code == status


async def test_supervisor_lists_users_but_agent_cannot(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await add_user(client, tenant, "sup@acme.cn", "supervisor")
    await add_user(client, tenant, "agent@acme.cn", "agent")
    sup = await client.get("/api/v1/users", headers=await bearer(client, "sup@acme.cn"))
    agent = await client.get("/api/v1/users", headers=await bearer(client, "agent@acme.cn"))
    assert sup.status_code == 200 and len(sup.json()) == 3
    assert agent.status_code == 403


async def test_demoted_or_disabled_user_loses_rights_at_once(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    uid = await add_user(client, tenant, "boss@acme.cn", "admin")
    headers = await bearer(client, "boss@acme.cn")
    assert (await client.get("/api/v1/audit", headers=headers)).status_code == 200
    await client.patch(f"/api/v1/users/{uid}", headers=tenant.auth, json={"role": "viewer"})
    assert (await client.get("/api/v1/audit", headers=headers)).status_code == 403
    await client.patch(f"/api/v1/users/{uid}", headers=tenant.auth, json={"is_active": False})
    assert (await client.get("/api/v1/tenant", headers=headers)).status_code == 401


async def test_duplicate_email_is_a_409_naming_the_field(
    client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    r = await client.post(
        "/api/v1/users",
        headers=tenant.auth,
        json={"email": other_tenant.admin_email, "password": "password-123"},
    )
    assert r.status_code == 409
    assert r.json()["field"] == "email"


async def test_bad_input_is_422_naming_the_field(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    r = await client.post(
        "/api/v1/users",
        headers=tenant.auth,
        json={"email": "not-an-email", "password": "password-123"},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "email"]
    r = await client.patch("/api/v1/tenant", headers=tenant.auth, json={"timezone": "Mars/Base"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "timezone"]


async def test_audit_log_records_changes_with_secrets_masked(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    uid = await add_user(client, tenant, "agent9@acme.cn", "agent")
    await client.patch(
        f"/api/v1/users/{uid}",
        headers=tenant.auth,
        json={"password": "brand-new-secret", "name": "Li Lei"},
    )
    r = await client.get("/api/v1/audit", headers=tenant.auth, params={"entity_type": "user"})
    assert r.status_code == 200
    entries = r.json()
    assert [e["action"] for e in entries] == ["user.update", "user.create"]
    assert entries[0]["changes"] == {"password": "***", "name": "Li Lei"}
    assert entries[1]["changes"]["password"] == "***"
    assert "brand-new-secret" not in r.text and "password-123" not in r.text
    assert entries[0]["actor_type"] == "api_key"
    token = (await login(client, "agent9@acme.cn", "brand-new-secret")).json()["access_token"]
    agent = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/audit", headers=agent)).status_code == 403


async def test_a_users_mobile_is_stored_in_e164_and_a_bad_one_names_the_field(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    ok = await client.post(
        "/api/v1/users",
        headers=tenant.auth,
        json={
            "email": "wh@acme.cn",
            "password": "password-123",
            "mobile": "138 0013 8000",
            "department": "Warehouse",
        },
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["mobile"] == "+8613800138000"
    assert ok.json()["department"] == "Warehouse"
    bad = await client.patch(
        f"/api/v1/users/{ok.json()['id']}", headers=tenant.auth, json={"mobile": "12"}
    )
    assert bad.status_code == 422
    assert "mobile" in bad.text
