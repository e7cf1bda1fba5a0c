"""messages, conversations, bus_deliveries: drop indexes another index already leads with

Revision ID: comms_0009
Revises: comms_0008
Create Date: 2026-11-27 10:20:00

`ix_messages_tenant_id`, `ix_conversations_tenant_id` and `ix_bus_deliveries_event_id` each
duplicate the leading column of a composite index on the same table; every insert (and every
update that is not HOT) wrote an entry to them for no query.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "comms_0009"
down_revision: str | Sequence[str] | None = "comms_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DROPPED = (
    ("messages", "ix_messages_tenant_id", "tenant_id"),
    ("conversations", "ix_conversations_tenant_id", "tenant_id"),
    ("bus_deliveries", "ix_bus_deliveries_event_id", "event_id"),
)


def upgrade() -> None:
    for table, index, _ in DROPPED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(index)


def downgrade() -> None:
    for table, index, column in DROPPED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(index, [column], unique=False)
