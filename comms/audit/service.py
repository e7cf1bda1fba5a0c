"""Audit trail: record changes (sensitive values masked) and read them back."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.audit.models import AuditEntry
from comms.auth.principal import Principal

MASK = "***"
_SENSITIVE = re.compile(r"pass(word)?|secret|token|api_?key|key_hash|pin|credential", re.I)


def mask(changes: dict[str, Any]) -> dict[str, Any]:
    """Copy of `changes` with every sensitive field's value replaced, nested dicts included."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if _SENSITIVE.search(key):
            out[key] = MASK
        elif isinstance(value, dict):
            out[key] = mask(value)
        else:
            out[key] = value
    return out


def record(
    session: AsyncSession,
    actor: Principal,
    action: str,
    entity_type: str,
    entity_id: object | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to the caller's transaction."""
    actor_type, actor_id = actor.actor
    entry = AuditEntry(
        tenant_id=actor.tenant_id,
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        changes=mask(changes or {}),
    )
    session.add(entry)
    return entry


async def list_entries(
    session: AsyncSession,
    *,
    limit: int = 50,
    before: datetime | None = None,
    entity_type: str | None = None,
    action: str | None = None,
) -> list[AuditEntry]:
    q = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if before is not None:
        q = q.where(AuditEntry.at < before)
    if entity_type:
        q = q.where(AuditEntry.entity_type == entity_type)
    if action:
        q = q.where(AuditEntry.action == action)
    return list(await session.scalars(q))
