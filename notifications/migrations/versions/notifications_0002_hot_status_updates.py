"""notifications: status moves as HOT updates; no index on tenant_id alone

Revision ID: notifications_0002
Revises: notifications_0001
Create Date: 2026-11-27 10:20:00

`ix_notifications_due` (status, due_at) made every status change of every notice a non-HOT
update: a new entry in each of the table's eight indexes. The sweep reads `due_at` only, so
the index now holds the notices that have one; the dedupe index keeps only keyed notices;
`ix_notifications_tenant_id` duplicated the leading column of `uq_notification_once`. The
fill factor leaves room on each page written from now on for the updates to stay on it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "notifications_0002"
down_revision: str | Sequence[str] | None = "notifications_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEDUPE = ["tenant_id", "rule_id", "recipient_key", "dedupe_key"]


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_tenant_id")
        batch_op.drop_index("ix_notifications_due")
        batch_op.drop_index("ix_notifications_dedupe")
        batch_op.create_index(
            "ix_notifications_due",
            ["due_at"],
            unique=False,
            postgresql_where=sa.text("due_at IS NOT NULL"),
            sqlite_where=sa.text("due_at IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_notifications_dedupe",
            DEDUPE,
            unique=False,
            postgresql_where=sa.text("dedupe_key IS NOT NULL"),
            sqlite_where=sa.text("dedupe_key IS NOT NULL"),
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE notifications SET (fillfactor = 80)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE notifications RESET (fillfactor)")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_dedupe")
        batch_op.drop_index("ix_notifications_due")
        batch_op.create_index("ix_notifications_dedupe", DEDUPE, unique=False)
        batch_op.create_index("ix_notifications_due", ["status", "due_at"], unique=False)
        batch_op.create_index("ix_notifications_tenant_id", ["tenant_id"], unique=False)
