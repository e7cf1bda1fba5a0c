"""Ringback over HTTP: tone uploads, rules and `resolve` for members, departments, holidays."""

from __future__ import annotations

import httpx
import pytest
from ringback_audio_samples import mp3, wav

from hubtest import TenantCtx
from telephony.ringback import audio


async def upload(
    client: httpx.AsyncClient, tenant: TenantCtx, name: str, data: bytes, ctype: str = "audio/wav"
) -> httpx.Response:
    return await client.post(
        "/api/v1/ringback/tones",
        params={"name": name},
        content=data,
        headers={**tenant.auth, "Content-Type": ctype},
    )


async def tone(client: httpx.AsyncClient, tenant: TenantCtx, name: str) -> str:
    r = await upload(client, tenant, name, wav(1.5))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def member(client: httpx.AsyncClient, tenant: TenantCtx, short: str, dept: str) -> str:
    r = await client.post(
        "/api/v1/vpmn/members",
        headers=tenant.auth,
        json={
            "name": f"m{short}",
            "department": dept,
            "short_number": short,
            "desk_endpoint": short,
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def rule(client: httpx.AsyncClient, tenant: TenantCtx, **body: object) -> str:
    r = await client.post("/api/v1/ringback/rules", headers=tenant.auth, json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def resolved(client: httpx.AsyncClient, tenant: TenantCtx, callee: str, at: str) -> object:
    r = await client.get(
        "/api/v1/ringback/resolve", headers=tenant.auth, params={"callee": callee, "at": at}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    return body["tone"]["name"] if body["tone"] else None


async def test_wav_upload_is_stored_with_its_duration_and_served_back(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    data = wav(1.5)
    r = await upload(client, tenant, "公司彩铃", data)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["name"], body["duration"], body["original_format"]) == ("公司彩铃", 1.5, "wav")
    assert body["media"] == f"sound:huitong/ringback/{body['id']}"
    got = await client.get(f"/api/v1/ringback/tones/{body['id']}/audio", headers=tenant.auth)
    assert got.content == data and got.headers["content-type"] == "audio/wav"


async def test_non_audio_upload_is_refused(client: httpx.AsyncClient, tenant: TenantCtx) -> None:
    r = await upload(client, tenant, "x", b"<html>not audio</html>", "text/html")
    assert r.status_code == 422 and r.json()["field"] == "audio"


async def test_mp3_without_a_converter_is_refused_with_the_reason(
    client: httpx.AsyncClient, tenant: TenantCtx, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audio, "converter", lambda: None)
    r = await upload(client, tenant, "song", mp3(), "audio/mpeg")
    assert r.status_code == 422 and "ffmpeg" in r.json()["detail"]


async def test_duplicate_tone_name_conflicts(client: httpx.AsyncClient, tenant: TenantCtx) -> None:
    await tone(client, tenant, "a")
    assert (await upload(client, tenant, "a", wav())).status_code == 409


async def test_resolve_picks_member_then_department_then_default_with_windows(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    default, sales, personal, office, holiday = [
        await tone(client, tenant, n) for n in ("default", "sales", "personal", "office", "holiday")
    ]
    zhang = await member(client, tenant, "6001", "Sales")
    await member(client, tenant, "6002", "Sales")
    await member(client, tenant, "6003", "Support")
    await rule(client, tenant, tone_id=default, scope="tenant")
    await rule(client, tenant, tone_id=sales, scope="department", department="Sales")
    await rule(client, tenant, tone_id=personal, scope="member", member_id=zhang)
    await rule(
        client,
        tenant,
        tone_id=office,
        scope="tenant",
        priority=10,
        weekdays=[0, 1, 2, 3, 4],
        start_time="09:00",
        end_time="18:00",
    )
    await rule(
        client,
        tenant,
        tone_id=holiday,
        scope="tenant",
        priority=100,
        start_date="2026-10-01",
        end_date="2026-10-07",
    )
    saturday = "2026-03-14T04:00:00Z"  # 12:00 in Shanghai
    assert await resolved(client, tenant, "6001", saturday) == "personal"
    assert await resolved(client, tenant, "6002", saturday) == "sales"
    assert await resolved(client, tenant, "6003", saturday) == "default"
    assert await resolved(client, tenant, "+8613000000000", saturday) == "default"
    # Wednesday 10:00 Shanghai = 02:00 UTC: office hours outrank the member's own tone.
    assert await resolved(client, tenant, "6001", "2026-03-11T02:00:00Z") == "office"
    # Wednesday 19:00 Shanghai = 11:00 UTC: office hours are over.
    assert await resolved(client, tenant, "6001", "2026-03-11T11:00:00Z") == "personal"
    assert await resolved(client, tenant, "6003", "2026-10-05T02:00:00Z") == "holiday"


async def test_no_rules_means_no_tone(client: httpx.AsyncClient, tenant: TenantCtx) -> None:
    assert await resolved(client, tenant, "6001", "2026-03-14T04:00:00Z") is None


async def test_incoherent_rules_are_refused(client: httpx.AsyncClient, tenant: TenantCtx) -> None:
    t = await tone(client, tenant, "t")
    for body in (
        {"tone_id": t, "scope": "department"},
        {"tone_id": t, "scope": "member"},
        {"tone_id": t, "scope": "tenant", "weekdays": [7]},
        {"tone_id": t, "scope": "tenant", "start_time": "09:00"},
        {"tone_id": t, "scope": "tenant", "start_date": "2026-02-02", "end_date": "2026-02-01"},
    ):
        r = await client.post("/api/v1/ringback/rules", headers=tenant.auth, json=body)
        assert r.status_code == 422, body


async def test_deleting_a_tone_removes_its_rules(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    t = await tone(client, tenant, "t")
    rid = await rule(client, tenant, tone_id=t, scope="tenant")
    assert (
        await client.delete(f"/api/v1/ringback/tones/{t}", headers=tenant.auth)
    ).status_code == 204
    r = await client.get(f"/api/v1/ringback/rules/{rid}", headers=tenant.auth)
    assert r.status_code == 404
