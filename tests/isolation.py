"""Shared shape of route-isolation cases; each slice lists its own in isolation_cases.py."""

from __future__ import annotations

import importlib.util
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from comms.hub import Hub
from hubtest import TenantCtx

# Makes a resource owned by the given tenant; returns the route's path parameters.
Factory = Callable[[Hub, httpx.AsyncClient, TenantCtx], Awaitable[dict[str, str]]]


@dataclass
class Case:
    factory: Factory
    bodies: dict[str, Any] = field(default_factory=dict)
    # What another tenant's admin gets; 404 unless the route uses other credentials.
    expect: int = 404


def collect_cases() -> dict[str, Case]:
    """Merge CASES from every tests/**/isolation_cases.py."""
    cases: dict[str, Case] = {}
    for path in sorted(Path(__file__).parent.rglob("isolation_cases.py")):
        spec = importlib.util.spec_from_file_location(f"_iso_{abs(hash(path))}", path)
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for route, case in mod.CASES.items():
            assert route not in cases, f"two isolation cases for {route}"
            cases[route] = case
    return cases
