"""Statements whose SQL differs by dialect but whose meaning does not."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_or_skip(session: AsyncSession, target: Any, conflict: list[str]) -> Insert:
    """INSERT … ON CONFLICT (`conflict`) DO NOTHING, for PostgreSQL or SQLite: concurrent
    creators of one row both succeed, and a row sent twice is kept once."""
    ins = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    return ins(target).on_conflict_do_nothing(index_elements=conflict)
