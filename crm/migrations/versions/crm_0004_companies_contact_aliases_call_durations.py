"""companies like contacts, aliases of merged contacts, call durations on the timeline

Revision ID: crm_0004
Revises: crm_0003
Create Date: 2026-11-27 15:58:05

Companies gain tags, an owner and custom fields, and phones and emails held like a contact's:
one row each in `crm_company_phones` / `crm_company_emails`, unique per tenant, so a screen pop
finds a company by its switchboard number or general address. `crm_contact_aliases` keeps the
id of a contact merged away so events naming it reach the kept one; timeline entries of calls
carry their billable seconds. Existing companies get empty lists and `updated_at = created_at`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "crm_0004"
down_revision: str | Sequence[str] | None = "crm_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_COMPANY_LISTS = {"tags": "'[]'", "custom_fields": "'{}'"}
# (table, value column, its length, unique constraint): a company's numbers and addresses
COMPANY_INDEXES = (
    ("crm_company_phones", "e164", 32, "uq_crm_company_phones_e164"),
    ("crm_company_emails", "address", 320, "uq_crm_company_emails_address"),
)


def upgrade() -> None:
    op.create_table(
        "crm_contact_aliases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["crm_contacts.id"],
            name=op.f("fk_crm_contact_aliases_contact_id_crm_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_crm_contact_aliases_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_contact_aliases")),
    )
    with op.batch_alter_table("crm_contact_aliases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crm_contact_aliases_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_crm_contact_aliases_tenant_id"), ["tenant_id"], unique=False
        )

    # Added with a server default so existing rows get a value, which is then dropped: the
    # models fill these in Python, as for contacts.
    with op.batch_alter_table("crm_companies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.Uuid(), nullable=True))
        for name, empty in NEW_COMPANY_LISTS.items():
            batch_op.add_column(
                sa.Column(name, sa.JSON(), nullable=False, server_default=sa.text(empty))
            )
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE crm_companies SET updated_at = created_at")
    with op.batch_alter_table("crm_companies", schema=None) as batch_op:
        for name in NEW_COMPANY_LISTS:
            batch_op.alter_column(name, existing_type=sa.JSON(), server_default=None)
        batch_op.alter_column(
            "updated_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )

    for table, column, length, unique in COMPANY_INDEXES:
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

    with op.batch_alter_table("crm_timeline_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duration_seconds", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crm_timeline_entries", schema=None) as batch_op:
        batch_op.drop_column("duration_seconds")

    for table, *_ in reversed(COMPANY_INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_company_id"))
        op.drop_table(table)

    with op.batch_alter_table("crm_companies", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        for name in reversed(list(NEW_COMPANY_LISTS)):
            batch_op.drop_column(name)
        batch_op.drop_column("owner_id")

    with op.batch_alter_table("crm_contact_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_contact_aliases_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_crm_contact_aliases_contact_id"))

    op.drop_table("crm_contact_aliases")
