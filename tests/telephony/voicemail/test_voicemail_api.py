"""Mailbox settings, message access and retention through the API and the periodic job."""

from __future__ import annotations

import io
import uuid
import wave
from datetime import timedelta

import httpx
from sqlalchemy import select
from voicemail_testkit import CUSTOMER, setup_zhang

from comms.audit.models import AuditEntry
from comms.auth.principal import Principal
from comms.db.base import utcnow
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.voicemail import service
from telephony.voicemail.models import Mailbox, VoicemailMessage
from telephony.voicemail.tasks import purge_once
from telephony.vpmn import service as vpmn
from telephony.vpmn.schemas import MemberIn


def small_wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 800)
    return out.getvalue()


async def leave(hub: Hub, tenant: TenantCtx, member_id: uuid.UUID, name: str) -> VoicemailMessage:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        box = await service.get_mailbox(s, member_id)
        return await service.store_message(
            s,
            hub.settings,
            mailbox=box,
            call_id=None,
            caller=CUSTOMER,
            callee="6001",
            recording=name,
            audio=small_wav(),
            duration_seconds=1,
        )


async def test_mailbox_pin_is_stored_hashed_and_never_shown(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    zhang = await setup_zhang(hub, tenant.id)
    url = f"/api/v1/voicemail/mailboxes/{zhang.id}"
    r = await client.put(url, headers=tenant.auth, json={"pin": "2468", "retention_days": 7})
    assert r.status_code == 200, r.text
    assert "pin" not in r.json() and r.json()["retention_days"] == 7
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        box = await s.scalar(select(Mailbox))
        assert box is not None and "2468" not in box.pin_hash
        assert service.check_pin(box.pin_hash, "2468") and not service.check_pin(
            box.pin_hash, "2469"
        )
        audit = await s.scalar(
            select(AuditEntry).where(AuditEntry.action == "voicemail.mailbox.put")
        )
        assert audit is not None and "2468" not in str(audit.changes)


async def test_mailbox_errors_name_the_field(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    actor = Principal.system(tenant.id)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        desk_only = await vpmn.create_member(
            s, actor, MemberIn(name="王芳", short_number="8003", desk_endpoint="PJSIP/wang")
        )
    url = f"/api/v1/voicemail/mailboxes/{desk_only.id}"
    r = await client.put(url, headers=tenant.auth, json={"pin": "2468", "sms_notice": True})
    assert r.status_code == 422 and "sms_notice" in r.text
    r = await client.put(url, headers=tenant.auth, json={"pin": "2468", "greeting": "recorded"})
    assert r.status_code == 422 and "greeting_recording" in r.text
    r = await client.put(url, headers=tenant.auth, json={"pin": "12"})
    assert r.status_code == 422 and "pin" in r.text
    r = await client.put(url, headers=tenant.auth, json={"pin": "2468", "email": "not-mail"})
    assert r.status_code == 422 and "email" in r.text
    r = await client.put(
        f"/api/v1/voicemail/mailboxes/{uuid.uuid4()}", headers=tenant.auth, json={"pin": "2468"}
    )
    assert r.status_code == 404


async def test_uploaded_greeting_must_be_wav_and_then_plays_from_the_sounds_folder(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    zhang = await setup_zhang(hub, tenant.id)
    url = f"/api/v1/voicemail/mailboxes/{zhang.id}"
    await client.put(url, headers=tenant.auth, json={"pin": "2468"})
    r = await client.put(f"{url}/greeting", headers=tenant.auth, content=b"ID3 not a wav")
    assert r.status_code == 422 and "audio" in r.text
    r = await client.put(f"{url}/greeting", headers=tenant.auth, content=small_wav())
    assert r.status_code == 200 and r.json()["greeting"] == "uploaded"
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        box = await service.get_mailbox(s, zhang.id)
        assert service.greeting_media(box) == f"sound:huitong/voicemail/{box.id}"


async def test_listening_marks_heard_deleting_removes_and_a_repeat_store_is_idempotent(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    zhang = await setup_zhang(hub, tenant.id)
    await client.put(
        f"/api/v1/voicemail/mailboxes/{zhang.id}", headers=tenant.auth, json={"pin": "2468"}
    )
    first = await leave(hub, tenant, zhang.id, "vm-a")
    again = await leave(hub, tenant, zhang.id, "vm-a")
    assert again.id == first.id
    r = await client.get(
        "/api/v1/voicemail/messages", headers=tenant.auth, params={"member_id": str(zhang.id)}
    )
    assert [m["id"] for m in r.json()] == [str(first.id)] and r.json()[0]["heard"] is False
    audio = await client.get(f"/api/v1/voicemail/messages/{first.id}/audio", headers=tenant.auth)
    assert audio.content == small_wav()
    r = await client.get(f"/api/v1/voicemail/messages/{first.id}", headers=tenant.auth)
    assert r.json()["heard"] is True
    r = await client.delete(f"/api/v1/voicemail/messages/{first.id}", headers=tenant.auth)
    assert r.status_code == 204
    r = await client.get(f"/api/v1/voicemail/messages/{first.id}", headers=tenant.auth)
    assert r.status_code == 404


async def test_retention_job_deletes_only_expired_messages_of_every_tenant(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    kept = {}
    for t in (tenant, other_tenant):
        member = await setup_zhang(hub, t.id)
        await client.put(
            f"/api/v1/voicemail/mailboxes/{member.id}", headers=t.auth, json={"pin": "2468"}
        )
        old = await leave(hub, t, member.id, f"vm-old-{t.name}")
        kept[t.id] = await leave(hub, t, member.id, f"vm-new-{t.name}")
        async with hub.db.session() as s:
            scoped_to(s, t.id)
            row = await s.get(VoicemailMessage, old.id)
            assert row is not None
            row.expires_at = utcnow() - timedelta(seconds=1)
            await s.commit()
    assert await purge_once(hub.db) == 2
    assert await purge_once(hub.db) == 0
    for t in (tenant, other_tenant):
        r = await client.get("/api/v1/voicemail/messages", headers=t.auth)
        assert [m["id"] for m in r.json()] == [str(kept[t.id].id)]
