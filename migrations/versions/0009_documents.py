"""documents (资料): documents, their versions, the download record; equipment indexes for "models a client owns"

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 07:53:02.770800

"""

import sqlalchemy as sa
from alembic import op

import portal.types

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title_zh", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=4), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("current_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("download_count", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", portal.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", portal.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('installation', 'user', 'maintenance', 'white_paper', 'authorisation', 'technical_plan', 'acceptance', 'training', 'other')",
            name=op.f("ck_document_kind"),
        ),
        sa.CheckConstraint("language IN ('zh', 'en', 'both')", name=op.f("ck_document_language")),
        sa.CheckConstraint("model_id IS NULL OR contract_id IS NULL", name=op.f("ck_document_one_target")),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"], name=op.f("fk_document_contract_id_contract")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_document_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["equipment_model.id"], name=op.f("fk_document_model_id_equipment_model")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document")),
    )
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.create_index("ix_document_contract_updated", ["contract_id", "updated_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_document_kind"), ["kind"], unique=False)
        batch_op.create_index("ix_document_model_updated", ["model_id", "updated_at"], unique=False)
        batch_op.create_index("ix_document_withdrawn_updated", ["withdrawn", "updated_at"], unique=False)

    op.create_table(
        "document_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("file_type", sa.String(length=10), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=100), nullable=False),
        sa.Column("download_count", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", portal.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["document.id"], name=op.f("fk_document_version_document_id_document"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["user_account.id"],
            name=op.f("fk_document_version_uploaded_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_version")),
        sa.UniqueConstraint("document_id", "label", name="uq_document_version_label"),
        sa.UniqueConstraint("document_id", "seq", name="uq_document_version_seq"),
        sa.UniqueConstraint("storage_key", name=op.f("uq_document_version_storage_key")),
    )
    # document.current_id and document_version.document_id point at each other: the first link is added last.
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_document_current_id", "document_version", ["current_id"], ["id"], ondelete="SET NULL"
        )

    op.create_table(
        "document_download",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", portal.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["document.id"], name=op.f("fk_document_download_document_id_document"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_document_download_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["document_version.id"],
            name=op.f("fk_document_download_version_id_document_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_download")),
    )
    with op.batch_alter_table("document_download", schema=None) as batch_op:
        batch_op.create_index("ix_document_download_document_at", ["document_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_document_download_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_document_download_version_id"), ["version_id"], unique=False)

    with op.batch_alter_table("equipment", schema=None) as batch_op:
        batch_op.create_index("ix_equipment_client_model", ["client_id", "model_id"], unique=False)
        batch_op.create_index("ix_equipment_site_model", ["site_id", "model_id"], unique=False)


def downgrade():
    with op.batch_alter_table("equipment", schema=None) as batch_op:
        batch_op.drop_index("ix_equipment_site_model")
        batch_op.drop_index("ix_equipment_client_model")

    with op.batch_alter_table("document_download", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_download_version_id"))
        batch_op.drop_index(batch_op.f("ix_document_download_user_id"))
        batch_op.drop_index("ix_document_download_document_at")

    op.drop_table("document_download")
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_constraint("fk_document_current_id", type_="foreignkey")
    op.drop_table("document_version")
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_index("ix_document_withdrawn_updated")
        batch_op.drop_index("ix_document_model_updated")
        batch_op.drop_index(batch_op.f("ix_document_kind"))
        batch_op.drop_index("ix_document_contract_updated")

    op.drop_table("document")
