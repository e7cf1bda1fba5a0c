"""Column and statement helpers the erp slices share."""

from __future__ import annotations

import enum
from typing import Any, cast

from sqlalchemy import Enum, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def enum_column(cls: type[enum.Enum], length: int = 16) -> Enum:
    """Enums stored as their values in a VARCHAR, the same on SQLite and PostgreSQL."""
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


async def insert_or_skip(
    s: AsyncSession, model: type[Any], values: dict[str, Any], conflict: list[str]
) -> None:
    """INSERT … ON CONFLICT DO NOTHING: concurrent creators of one row both succeed."""
    table = cast(Table, model.__table__)
    ins = postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
    await s.execute(ins(table).values(**values).on_conflict_do_nothing(index_elements=conflict))
