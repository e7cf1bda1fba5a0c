"""Named read-only questions one package answers for another, without importing it.

IVR `lookup` nodes ("where is my order"), IVR segment conditions and the console's screen pop
ask questions whose answers live in other packages (erp, crm). A package lists the questions
it answers on its `Module(queries=...)`; the hub collects them into one `Queries` registry, and
askers depend on the registry, not on the answering package.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

# (session scoped to the caller's tenant, named arguments) -> answer; None means "not found".
# The key under which the hub puts its registry in `hub.services` (handlers: ctx.services).
QUERIES = "queries"

Query = Callable[[AsyncSession, Mapping[str, str]], Awaitable[Any]]


class UnknownQuery(LookupError):
    """No installed package answers this question."""


class Queries:
    """Registry of named queries, e.g. `erp.order_status`, `crm.in_segment`."""

    def __init__(self, entries: Iterable[tuple[str, Query]] = ()) -> None:
        self._by_name: dict[str, Query] = {}
        for name, fn in entries:
            self.add(name, fn)

    def add(self, name: str, fn: Query) -> None:
        if name in self._by_name:
            raise ValueError(f"query {name!r} is registered twice")
        self._by_name[name] = fn

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    async def ask(self, session: AsyncSession, name: str, args: Mapping[str, str]) -> Any:
        fn = self._by_name.get(name)
        if fn is None:
            raise UnknownQuery(name)
        return await fn(session, args)


def collect(modules: Iterable[Any]) -> Queries:
    """One registry from every module's `queries` mapping."""
    queries = Queries()
    for m in modules:
        q: Mapping[str, Query] = getattr(m, "queries", {})
        for name, fn in q.items():
            queries.add(name, fn)
    return queries
