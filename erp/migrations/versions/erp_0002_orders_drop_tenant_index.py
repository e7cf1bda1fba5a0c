"""erp_orders: no index on tenant_id alone

Revision ID: erp_0002
Revises: erp_0001
Create Date: 2026-11-27 10:20:00

`uq_erp_orders_number` (tenant_id, number) leads with it. Besides the write it cost, it was
what a planner without statistics picked for an order's lookup by id, walking every order of
the tenant (bench/RESULTS.md, event to notice).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "erp_0002"
down_revision: str | Sequence[str] | None = "erp_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("erp_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_erp_orders_tenant_id")


def downgrade() -> None:
    with op.batch_alter_table("erp_orders", schema=None) as batch_op:
        batch_op.create_index("ix_erp_orders_tenant_id", ["tenant_id"], unique=False)
