"""Column and statement helpers the erp slices share."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import Enum
from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.statements import insert_or_skip as _insert_or_skip


def enum_column(cls: type[enum.Enum], length: int = 16) -> Enum:
    """Enums stored as their values in a VARCHAR, the same on SQLite and PostgreSQL."""
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


async def insert_or_skip(
    s: AsyncSession, model: type[Any], values: dict[str, Any], conflict: list[str]
) -> None:
    """INSERT … ON CONFLICT DO NOTHING: concurrent creators of one row both succeed."""
    await s.execute(_insert_or_skip(s, model, conflict).values(**values))
