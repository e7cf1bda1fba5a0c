"""companies' phones and emails indexed for lookup

Revision ID: crm_0005
Revises: crm_0004
Create Date: 2026-11-27 17:05:00

`crm_company_phones` and `crm_company_emails` hold one row per company number/address,
unique per tenant, so a screen pop finds a company by its switchboard number or general
address. Existing JSON values are copied in, oldest company first; a value two companies
share stays with the first and leaves the other's JSON list too, so list and index agree.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "crm_0005"
down_revision: str | Sequence[str] | None = "crm_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, value column, its length, the JSON list it mirrors, unique constraint)
INDEXES = (
    ("crm_company_phones", "e164", 32, "phones", "uq_crm_company_phones_e164"),
    ("crm_company_emails", "address", 320, "emails", "uq_crm_company_emails_address"),
)


def upgrade() -> None:
    for table, column, length, _, unique in INDEXES:
        op.create_table(
            table,
            sa.Column(
                "id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                autoincrement=True,
                nullable=False,
            ),
            sa.Column("company_id", sa.Uuid(), nullable=False),
            sa.Column(column, sa.String(length=length), nullable=False),
            sa.Column("tenant_id", sa.Uuid(), nullable=False),
            sa.ForeignKeyConstraint(
                ["company_id"],
                ["crm_companies.id"],
                name=op.f(f"fk_{table}_company_id_crm_companies"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["tenant_id"],
                ["tenants.id"],
                name=op.f(f"fk_{table}_tenant_id_tenants"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.UniqueConstraint("tenant_id", column, name=unique),
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f(f"ix_{table}_company_id"), ["company_id"], unique=False
            )
    _copy_lists()


def _copy_lists() -> None:
    """The JSON values into the index, deduplicated per tenant; the first company keeps one."""
    companies = sa.table(
        "crm_companies",
        sa.column("id", sa.Uuid()),
        sa.column("tenant_id", sa.Uuid()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("phones", sa.JSON()),
        sa.column("emails", sa.JSON()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            companies.c.id, companies.c.tenant_id, companies.c.phones, companies.c.emails
        ).order_by(companies.c.created_at, companies.c.id)
    ).all()
    for table, column, _, listed, _ in INDEXES:
        index = sa.table(
            table,
            sa.column("company_id", sa.Uuid()),
            sa.column("tenant_id", sa.Uuid()),
            sa.column(column, sa.String()),
        )
        taken: set[tuple[Any, str]] = set()
        for row in rows:
            values: list[str] = list(getattr(row, listed) or [])
            kept = [v for v in dict.fromkeys(values) if (row.tenant_id, v) not in taken]
            taken.update((row.tenant_id, v) for v in kept)
            if kept:
                bind.execute(
                    sa.insert(index),
                    [{"company_id": row.id, "tenant_id": row.tenant_id, column: v} for v in kept],
                )
            if kept != values:
                bind.execute(
                    sa.update(companies).where(companies.c.id == row.id).values({listed: kept})
                )


def downgrade() -> None:
    for table, *_ in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_company_id"))
        op.drop_table(table)
