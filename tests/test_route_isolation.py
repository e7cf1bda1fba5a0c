"""No route lets one tenant read, change or list another tenant's rows.

Every `/api/v1` route with a path parameter must have a case in some slice's
`tests/**/isolation_cases.py` (this test fails for a new route without one), so isolation is
checked for every route as the API grows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from comms.hub import Hub
from hubtest import TenantCtx
from isolation import collect_cases

ISOLATION_CASES = collect_cases()


@dataclass
class Route:
    path: str
    methods: set[str]


def api_routes(client: httpx.AsyncClient) -> list[Route]:
    """Every /api/v1 route, read from the OpenAPI schema (the contract clients see)."""
    app = client._transport.app  # type: ignore[attr-defined]
    paths = app.openapi()["paths"]
    return [
        Route(path, {m.upper() for m in ops})
        for path, ops in paths.items()
        if path.startswith("/api/v1")
    ]


async def test_every_route_with_an_id_answers_404_for_another_tenants_row(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    routes = [r for r in api_routes(client) if "{" in r.path]
    missing = sorted({r.path for r in routes} - set(ISOLATION_CASES))
    assert not missing, f"add isolation cases for: {missing}"
    checked = 0
    for route in routes:
        case = ISOLATION_CASES[route.path]
        params = await case.factory(hub, client, tenant)
        url = route.path.format(**params)
        for method in sorted(route.methods):
            r = await client.request(
                method, url, headers=other_tenant.auth, json=case.bodies.get(method)
            )
            assert r.status_code == case.expect, (method, route.path, r.status_code, r.text)
            assert str(tenant.id) not in r.text
            checked += 1
            # ...and the owner still sees its row unchanged.
            if "GET" in route.methods:
                mine = await client.get(url, headers=tenant.auth)
                assert mine.status_code == 200
                assert "hijacked" not in mine.text
    assert checked >= len(ISOLATION_CASES)


def json_values(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for child in node.values() for v in json_values(child)]
    if isinstance(node, list):
        return [v for child in node for v in json_values(child)]
    return [str(node)]


def leaks(body: Any, text: str, secrets: set[str]) -> list[str]:
    """Secrets found as whole JSON values, or (long ones) anywhere in the text."""
    values = set(json_values(body))
    return [s for s in secrets if s in values or (len(s) > 8 and s in text)]


async def test_no_list_route_shows_another_tenants_rows(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    made = [await case.factory(hub, client, tenant) for case in ISOLATION_CASES.values()]
    secrets = {str(tenant.id), tenant.admin_email, *(v for m in made for v in m.values())}
    lists = [r for r in api_routes(client) if "{" not in r.path and "GET" in r.methods]
    assert lists
    for route in lists:
        r = await client.get(route.path, headers=other_tenant.auth)
        assert r.status_code == 200, (route.path, r.text)
        assert not leaks(r.json(), r.text, secrets), (route.path, r.text)
