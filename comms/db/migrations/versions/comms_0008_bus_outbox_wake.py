"""bus_outbox: a NOTIFY at commit of every transaction that published, for the relay

Revision ID: comms_0008
Revises: comms_0007
Create Date: 2026-11-27 10:00:00

The relay learnt of events committed by other processes (API servers, workers) only by its
poll. On PostgreSQL a statement trigger now queues `NOTIFY huitong_bus` in any transaction
that writes to the outbox; PostgreSQL delivers it to the listening relay when, and only if,
that transaction commits (one per transaction however many rows). SQLite has no NOTIFY; a
SQLite hub is one process, whose commits wake the relay directly.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "comms_0008"
down_revision: str | Sequence[str] | None = "comms_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "huitong_bus"  # comms.bus.relay.CHANNEL


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION huitong_bus_wake() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER bus_outbox_wake AFTER INSERT ON bus_outbox "
        "FOR EACH STATEMENT EXECUTE FUNCTION huitong_bus_wake()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS bus_outbox_wake ON bus_outbox")
    op.execute("DROP FUNCTION IF EXISTS huitong_bus_wake()")
