"""IVR over HTTP: drafts may be broken, publishing is not; versions; entry numbers."""

from __future__ import annotations

import httpx
from ivr_samples import simple_flow

from hubtest import TenantCtx


async def add_member(client: httpx.AsyncClient, tenant: TenantCtx) -> None:
    r = await client.post(
        "/api/v1/vpmn/members",
        headers=tenant.auth,
        json={"name": "张伟", "short_number": "6001", "desk_endpoint": "8001"},
    )
    assert r.status_code == 201, r.text


async def new_flow(client: httpx.AsyncClient, tenant: TenantCtx, doc: object) -> str:
    r = await client.post(
        "/api/v1/ivr/flows", headers=tenant.auth, json={"name": "main", "document": doc}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_draft_with_problems_saves_but_does_not_publish(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    flow = await new_flow(client, tenant, simple_flow())  # member 6001 does not exist yet
    checked = await client.post(f"/api/v1/ivr/flows/{flow}/validate", headers=tenant.auth)
    assert checked.json()["valid"] is False
    assert [p["code"] for p in checked.json()["problems"]] == ["unknown_target"]
    r = await client.post(f"/api/v1/ivr/flows/{flow}/publish", headers=tenant.auth)
    assert r.status_code == 422
    assert r.json()["problems"][0]["node"] == "member"


async def test_publishing_a_play_of_an_unknown_variable_is_refused_naming_node_and_field(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    doc = {
        "start": "say",
        "nodes": {
            "say": {"type": "play", "media": "sound:order-status-{status}", "next": "bye"},
            "bye": {"type": "hangup"},
        },
    }
    flow = await new_flow(client, tenant, doc)
    r = await client.post(f"/api/v1/ivr/flows/{flow}/publish", headers=tenant.auth)
    assert r.status_code == 422
    [problem] = r.json()["problems"]
    assert (problem["node"], problem["code"]) == ("say", "unknown_variable")
    assert problem["message"].startswith("nodes.say.media:")


async def test_publish_then_edit_makes_version_two_while_one_stays_live(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await add_member(client, tenant)
    flow = await new_flow(client, tenant, simple_flow())
    r = await client.post(f"/api/v1/ivr/flows/{flow}/publish", headers=tenant.auth)
    assert r.status_code == 200 and r.json()["version"] == 1
    edited = simple_flow()
    edited["nodes"]["menu"]["prompt"] = "sound:new-prompt"
    r = await client.put(
        f"/api/v1/ivr/flows/{flow}/draft", headers=tenant.auth, json={"document": edited}
    )
    assert r.status_code == 200 and (r.json()["version"], r.json()["status"]) == (2, "draft")
    got = (await client.get(f"/api/v1/ivr/flows/{flow}", headers=tenant.auth)).json()
    assert got["published"]["version"] == 1 and got["draft"]["version"] == 2
    await client.post(f"/api/v1/ivr/flows/{flow}/publish", headers=tenant.auth)
    got = (await client.get(f"/api/v1/ivr/flows/{flow}", headers=tenant.auth)).json()
    assert got["published"]["version"] == 2 and got["draft"] is None


async def test_unknown_node_type_is_explained(client: httpx.AsyncClient, tenant: TenantCtx) -> None:
    doc = simple_flow()
    doc["nodes"]["bye"] = {"type": "explode"}
    flow = await new_flow(client, tenant, doc)
    checked = (await client.post(f"/api/v1/ivr/flows/{flow}/validate", headers=tenant.auth)).json()
    assert checked["problems"][0]["code"] == "unknown_node_type"


async def test_entry_number_needs_a_published_flow_and_is_unique(
    client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    await add_member(client, tenant)
    flow = await new_flow(client, tenant, simple_flow())
    body = {"did": "010 5800 1234", "flow_id": flow}
    r = await client.post("/api/v1/ivr/entries", headers=tenant.auth, json=body)
    assert r.status_code == 409
    await client.post(f"/api/v1/ivr/flows/{flow}/publish", headers=tenant.auth)
    r = await client.post("/api/v1/ivr/entries", headers=tenant.auth, json=body)
    assert r.status_code == 201 and r.json()["did"] == "+861058001234"
    again = await client.post("/api/v1/ivr/entries", headers=tenant.auth, json=body)
    assert again.status_code == 409
