"""The one registration point: each package describes what it plugs into the hub.

Packages are found through the `huitong.modules` entry-point group, so the app is assembled
from what is installed rather than hard-wired to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import entry_points

import click
from fastapi import APIRouter

from comms.bus.subscribers import Subscriber
from comms.bus.topics import EventPayload
from comms.db.engine import Database
from comms.queries import Query

GROUP = "huitong.modules"


@dataclass(frozen=True)
class Periodic:
    """Background work a package needs every `every` seconds in processes that relay (serve,
    worker); `run` must be safe when several processes run it at once (e.g. SKIP LOCKED)."""

    name: str
    every: float
    run: Callable[[Database], Awaitable[object]]


@dataclass(frozen=True)
class Module:
    name: str
    routers: Sequence[APIRouter] = ()
    topics: Sequence[type[EventPayload]] = ()
    subscribers: Sequence[Subscriber] = ()
    # Dotted module whose import defines the package's ORM models (joins Base.metadata).
    models: str | None = None
    # Alembic version location ("package:path"), one branch per package.
    migrations: str | None = None
    depends_on: Sequence[str] = field(default_factory=tuple)
    # Extra `huitong` sub-commands (click), e.g. `huitong radius`, `huitong smtp-in`.
    commands: Sequence[click.Command] = ()
    periodic: Sequence[Periodic] = ()
    # Named read-only questions this package answers for others (comms/queries.py).
    queries: Mapping[str, Query] = field(default_factory=dict)

    def load_models(self) -> None:
        if self.models:
            import_module(self.models)


def load_module(ref: str) -> Module:
    """`package.module:attr` to the Module object it names."""
    path, _, attr = ref.strip().partition(":")
    mod = getattr(import_module(path), attr or "module")
    if not isinstance(mod, Module):
        raise TypeError(f"{ref!r} does not name a comms.modules.Module")
    return mod


def discover_modules(extra: str = "") -> list[Module]:
    """Installed modules plus `extra` (comma-separated refs), `comms` first, then by name."""
    found: list[Module] = []
    for ep in entry_points(group=GROUP):
        mod = ep.load()
        if not isinstance(mod, Module):
            raise TypeError(f"entry point {ep.name!r} does not point at a comms.modules.Module")
        found.append(mod)
    found.extend(load_module(ref) for ref in extra.split(",") if ref.strip())
    found.sort(key=lambda m: (m.name != "comms", m.name))
    if not found or found[0].name != "comms":
        raise RuntimeError("the comms module is not installed; run `pip install -e .`")
    return found
