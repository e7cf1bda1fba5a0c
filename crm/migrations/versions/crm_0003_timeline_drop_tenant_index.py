"""crm_timeline_entries: no index on tenant_id alone

Revision ID: crm_0003
Revises: crm_0002
Create Date: 2026-11-27 10:20:00

`uq_crm_timeline_entries_ref` (tenant_id, ref) leads with it; every timeline insert wrote an
entry to `ix_crm_timeline_entries_tenant_id` for no query.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "crm_0003"
down_revision: str | Sequence[str] | None = "crm_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crm_timeline_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_timeline_entries_tenant_id")


def downgrade() -> None:
    with op.batch_alter_table("crm_timeline_entries", schema=None) as batch_op:
        batch_op.create_index("ix_crm_timeline_entries_tenant_id", ["tenant_id"], unique=False)
