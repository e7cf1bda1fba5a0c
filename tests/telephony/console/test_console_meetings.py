"""Meetings on the console socket: conference topics reach the tenant's supervisors and the
agent who started the meeting, nobody else, and never another tenant."""

from __future__ import annotations

import httpx
from console_testkit import console, make_person, recv_type, silent
from meeting_kit import conf_stasis, leave_message, setup_members

from comms.hub import Hub
from hubtest import TenantCtx, make_tenant
from telephony.ari.simulator import AriSimulator
from telephony.stasis.app import StasisApp

__all__ = ["conf_stasis"]  # the fixture, imported for pytest


async def joined_names(ws: object, count: int) -> set[str]:
    names = set()
    while len(names) < count:
        push = await recv_type(ws, "conference")  # type: ignore[arg-type]
        if push["event"] == "participant_joined":
            assert push["state"] == "joined"
            names.add(push["name"])
    return names


async def test_meeting_pushes_reach_supervisors_and_the_starter_only_in_their_tenant(
    hub: Hub,
    sim: AriSimulator,
    conf_stasis: StasisApp,
    bus_pump: None,
    base_url: str,
    client: httpx.AsyncClient,
    tenant: TenantCtx,
) -> None:
    await setup_members(hub, tenant.id)
    starter = await make_person(client, tenant, "agent", "li")
    colleague = await make_person(client, tenant, "agent", "wang")
    boss = await make_person(client, tenant, "supervisor", "zhao")
    other = await make_tenant(hub, "other-co")
    await setup_members(hub, other.id)
    other_boss = await make_person(client, other, "supervisor", "qian")
    async with (
        console(base_url, starter) as ws_starter,
        console(base_url, colleague) as ws_colleague,
        console(base_url, boss) as ws_boss,
        console(base_url, other_boss) as ws_other,
    ):
        r = await client.post(
            "/api/v1/conferences",
            headers=starter.auth,
            json={"members": ["6001", "8003"], "organiser": "6001", "subject": "Stand-up"},
        )
        assert r.status_code == 201, r.text
        conf_id = r.json()["id"]
        assert await joined_names(ws_boss, 2) == {"张伟", "王芳"}
        assert await joined_names(ws_starter, 2) == {"张伟", "王芳"}

        live = await client.get("/api/v1/conferences?live=true", headers=boss.auth)
        assert [c["id"] for c in live.json()] == [conf_id]
        r = await client.post(
            f"/api/v1/conferences/{conf_id}/mute", headers=boss.auth, json={"muted": True}
        )
        assert r.status_code == 200, r.text
        muted = await recv_type(ws_boss, "conference")
        assert (muted["event"], muted["name"]) == ("participant_muted", "王芳")
        assert muted["muted"] is True
        assert (await recv_type(ws_starter, "conference"))["event"] == "participant_muted"

        r = await client.post(
            f"/api/v1/conferences/{conf_id}/lock", headers=boss.auth, json={"locked": True}
        )
        assert r.status_code == 200, r.text
        locked = await recv_type(ws_boss, "conference")
        assert (locked["event"], locked["locked"]) == ("locked", True)

        parts = await client.get(f"/api/v1/conferences/{conf_id}/participants", headers=boss.auth)
        wang = next(p for p in parts.json() if p["number"] == "8003")
        r = await client.delete(
            f"/api/v1/conferences/{conf_id}/participants/{wang['id']}", headers=boss.auth
        )
        assert r.status_code == 204, r.text
        gone = await recv_type(ws_boss, "conference")
        assert (gone["event"], gone["name"], gone["state"]) == ("participant_left", "王芳", "left")

        r = await client.post(f"/api/v1/conferences/{conf_id}/end", headers=boss.auth)
        assert r.status_code == 200, r.text
        seen: set[str] = set()
        while "ended" not in seen:
            seen.add((await recv_type(ws_boss, "conference"))["event"])
        left = await client.get("/api/v1/conferences?live=true", headers=boss.auth)
        assert left.json() == []

        # An agent who did not start it, and the other tenant's supervisor, heard nothing.
        assert await silent(ws_colleague)
        assert await silent(ws_other)
    # The other tenant cannot read the meeting either.
    r = await client.get(f"/api/v1/conferences/{conf_id}", headers=other_boss.auth)
    assert r.status_code == 404


async def test_a_user_reads_their_own_mailbox_by_mobile_and_only_they_or_an_admin_delete(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    members = await setup_members(hub, tenant.id)
    zhang = await make_person(client, tenant, "agent", "zhang", mobile="+8613912345678")
    li = await make_person(client, tenant, "agent", "li")
    msg = await leave_message(hub, tenant.id, members["6001"], "+8613700000000")
    kept = await leave_message(hub, tenant.id, members["6001"], "+8613700000001")

    me = await client.get("/api/v1/voicemail/me", headers=zhang.auth)
    assert me.status_code == 200, me.text
    assert (me.json()["member_id"], me.json()["short_number"]) == (str(members["6001"].id), "6001")
    r = await client.get("/api/v1/voicemail/me", headers=li.auth)
    assert r.status_code == 200  # no member has 李's (absent) mobile
    assert r.json() == {"member_id": None, "name": None, "short_number": None, "mailbox_id": None}

    r = await client.post(
        f"/api/v1/voicemail/messages/{msg.id}/heard", headers=zhang.auth, json={"heard": True}
    )
    assert r.status_code == 200 and r.json()["heard"] is True
    r = await client.post(
        f"/api/v1/voicemail/messages/{msg.id}/heard", headers=zhang.auth, json={"heard": "x"}
    )
    assert r.status_code == 422 and "heard" in r.text

    r = await client.delete(f"/api/v1/voicemail/messages/{msg.id}", headers=li.auth)
    assert r.status_code == 403
    r = await client.delete(f"/api/v1/voicemail/messages/{msg.id}", headers=zhang.auth)
    assert r.status_code == 204
    r = await client.delete(f"/api/v1/voicemail/messages/{kept.id}", headers=tenant.auth)
    assert r.status_code == 204
    left = await client.get(
        f"/api/v1/voicemail/messages?member_id={members['6001'].id}", headers=zhang.auth
    )
    assert left.json() == []


async def test_only_the_mailbox_member_or_a_supervisor_reads_a_voicemail(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    members = await setup_members(hub, tenant.id)
    await make_person(client, tenant, "agent", "zhang", mobile="+8613912345678")
    li = await make_person(client, tenant, "agent", "li")
    boss = await make_person(client, tenant, "supervisor", "boss")
    msg = await leave_message(hub, tenant.id, members["6001"], "+8613700000000")
    box = f"/api/v1/voicemail/messages?member_id={members['6001'].id}"

    for path in (
        box,
        f"/api/v1/voicemail/messages/{msg.id}",
        f"/api/v1/voicemail/messages/{msg.id}/audio",
    ):
        r = await client.get(path, headers=li.auth)
        assert r.status_code == 403, (path, r.text)
    r = await client.post(
        f"/api/v1/voicemail/messages/{msg.id}/heard", headers=li.auth, json={"heard": True}
    )
    assert r.status_code == 403
    unfiltered = await client.get("/api/v1/voicemail/messages", headers=li.auth)
    assert unfiltered.status_code == 200 and unfiltered.json() == []  # li owns no mailbox

    r = await client.get(box, headers=boss.auth)
    assert [m["id"] for m in r.json()] == [str(msg.id)]
    r = await client.get(f"/api/v1/voicemail/messages/{msg.id}/audio", headers=boss.auth)
    assert r.status_code == 200 and r.content[:4] == b"RIFF"
