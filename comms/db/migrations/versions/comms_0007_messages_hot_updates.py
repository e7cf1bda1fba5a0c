"""messages: indexes that leave receipt updates HOT; fill factors

Revision ID: comms_0007
Revises: comms_0006
Create Date: 2026-11-27 07:00:00

`ix_messages_due` (status, next_attempt_at) made every status change of every message a
non-HOT update (a new entry in each of the table's indexes, a dead row for VACUUM). The
sweep's scans now use two partial indexes that name neither `status` nor a column a receipt
sets; the redundant `ix_messages_conversation_id` goes, `ix_messages_rfc_message_id` keeps
email rows only. The fill factors apply to pages written from now on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "comms_0007"
down_revision: str | Sequence[str] | None = "comms_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNSENT = "direction = 'outbound' AND sent_at IS NULL AND failed_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_due")
        batch_op.drop_index("ix_messages_conversation_id")
        batch_op.drop_index("ix_messages_rfc_message_id")
        batch_op.create_index(
            "ix_messages_rfc_message_id",
            ["rfc_message_id"],
            unique=False,
            postgresql_where=sa.text("rfc_message_id IS NOT NULL"),
            sqlite_where=sa.text("rfc_message_id IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_messages_unsent",
            ["claimed_at"],
            unique=False,
            postgresql_where=sa.text(UNSENT),
            sqlite_where=sa.text(UNSENT),
        )
        batch_op.create_index(
            "ix_messages_retry_due",
            ["next_attempt_at"],
            unique=False,
            postgresql_where=sa.text("next_attempt_at IS NOT NULL"),
            sqlite_where=sa.text("next_attempt_at IS NOT NULL"),
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE messages SET (fillfactor = 75)")
        op.execute("ALTER TABLE message_parts SET (fillfactor = 60)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE message_parts RESET (fillfactor)")
        op.execute("ALTER TABLE messages RESET (fillfactor)")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_retry_due")
        batch_op.drop_index("ix_messages_unsent")
        batch_op.drop_index("ix_messages_rfc_message_id")
        batch_op.create_index("ix_messages_rfc_message_id", ["rfc_message_id"], unique=False)
        batch_op.create_index("ix_messages_conversation_id", ["conversation_id"], unique=False)
        batch_op.create_index("ix_messages_due", ["status", "next_attempt_at"], unique=False)
