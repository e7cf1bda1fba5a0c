"""Contract: everything the client sends and the simulator serves exists in Asterisk's spec."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from telephony.ari import AriClient
from telephony.ari.operations import CLIENT_OPERATIONS, ClientOperation
from telephony.ari.sim_routes import SIM_ROUTES, SimRoute
from telephony.ari.spec import AriSpec


@pytest.mark.parametrize("key", sorted(CLIENT_OPERATIONS))
def test_client_operation_is_in_spec(ari_spec: AriSpec, key: str) -> None:
    op: ClientOperation = CLIENT_OPERATIONS[key]
    problems = ari_spec.check_operation(op.method, op.path, op.query, op.body, nickname=op.nickname)
    assert problems == []


@pytest.mark.parametrize("route", SIM_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_simulator_route_is_in_spec(ari_spec: AriSpec, route: SimRoute) -> None:
    # Query parameters need no static check here: at runtime the simulator validates every
    # request's query string against this same operation.
    assert ari_spec.check_operation(route.method, route.path, nickname=route.nickname,
                                    must_cover_required=False) == []  # fmt: skip


def test_simulator_serves_every_rest_operation_the_client_uses() -> None:
    served = {(r.method, r.path) for r in SIM_ROUTES}
    used = {(op.method, op.path) for k, op in CLIENT_OPERATIONS.items() if k != "events.websocket"}
    assert used - served == set()
    assert len(served) == len(SIM_ROUTES), "duplicate simulator route"


async def test_event_socket_url_uses_spec_parameters(ari_spec: AriSpec) -> None:
    async with AriClient("http://u:p@127.0.0.1:1/ari", "huitong", subscribe_all=True) as client:
        url = urlsplit(client.events._url)
    query = parse_qs(url.query)
    assert url.scheme == "ws" and url.path == "/ari/events"
    assert query["app"] == ["huitong"] and query["subscribeAll"] == ["true"]
    # api_key is ARI's generic auth parameter, deliberately absent from the operation.
    assert query.pop("api_key") == ["u:p"]
    op = ari_spec.operation("GET", "/events")
    assert op is not None and op.upgrade == "websocket"
    assert set(query) <= set(op.params("query"))
    assert set(query) <= CLIENT_OPERATIONS["events.websocket"].query
