"""issued documents: the evidence packs and warranty certificates the portal issued, with their SHA-256

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-28 21:45:00

"""

import sqlalchemy as sa
from alembic import op

from portal.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "issued_document_counter",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_issued_document_counter")),
    )
    op.create_table(
        "issued_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("storage_key", sa.String(length=80), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("issuer_org_zh", sa.String(length=200), nullable=False),
        sa.Column("issuer_org_en", sa.String(length=200), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('evidence_pack', 'warranty_certificate')", name=op.f("ck_issued_document_kind")),
        sa.CheckConstraint("state IN ('pending', 'done', 'failed')", name=op.f("ck_issued_document_state")),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_issued_document_client_id_client")),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_issued_document_site_id_site")),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"], name=op.f("fk_issued_document_contract_id_contract")),
        sa.ForeignKeyConstraint(
            ["issued_by_id"],
            ["user_account.id"],
            name=op.f("fk_issued_document_issued_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_document")),
        sa.UniqueConstraint("number", name=op.f("uq_issued_document_number")),
    )
    with op.batch_alter_table("issued_document", schema=None) as batch_op:
        batch_op.create_index("ix_issued_document_client_requested", ["client_id", "requested_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_issued_document_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_issued_document_contract_id"), ["contract_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_issued_document_sha256"), ["sha256"], unique=True)


def downgrade():
    op.drop_table("issued_document")
    op.drop_table("issued_document_counter")
