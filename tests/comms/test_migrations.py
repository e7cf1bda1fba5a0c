"""Migrations are the only way the schema is made, so they must match the models exactly."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from comms.db.base import Base
from comms.db.engine import create_engine_for


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine_for(database_url)

    def diff(conn: object) -> list[object]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(ctx, Base.metadata))

    try:
        async with engine.connect() as conn:
            changes = await conn.run_sync(diff)
    finally:
        await engine.dispose()
    if changes:
        pytest.fail(f"models and migrations differ; run scripts/makemigration.py: {changes}")
