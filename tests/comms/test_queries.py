"""The query registry: packages answer named questions for each other without imports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from comms.modules import Module
from comms.queries import Queries, UnknownQuery, collect


async def _order_status(session: Any, args: Mapping[str, str]) -> str:
    return f"shipped:{args['number']}"


async def test_a_registered_query_is_answered_with_its_arguments() -> None:
    queries = collect([Module(name="erp-like", queries={"erp.order_status": _order_status})])
    assert "erp.order_status" in queries
    assert await queries.ask(None, "erp.order_status", {"number": "42"}) == "shipped:42"  # type: ignore[arg-type]


async def test_an_unknown_query_raises_unknown_query() -> None:
    with pytest.raises(UnknownQuery):
        await Queries().ask(None, "crm.in_segment", {})  # type: ignore[arg-type]


def test_two_packages_cannot_claim_the_same_name() -> None:
    with pytest.raises(ValueError, match="twice"):
        collect(
            [
                Module(name="a", queries={"x.q": _order_status}),
                Module(name="b", queries={"x.q": _order_status}),
            ]
        )
