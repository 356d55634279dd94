"""steps and forms once: a version counter on quotes, complaints, visits and service-log entries; form tokens

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 09:00:00

"""

import sqlalchemy as sa
from alembic import op

import portal.types

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

VERSIONED = ("renewal_quote", "complaint", "visit", "service_log")


def upgrade():
    op.create_table(
        "form_submission",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", portal.types.UTCDateTime(), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_form_submission_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_form_submission")),
    )
    with op.batch_alter_table("form_submission", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_form_submission_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_form_submission_user_id"), ["user_id"], unique=False)

    for table in VERSIONED:  # rows that exist start at version 1
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("version", server_default=None)


def downgrade():
    for table in reversed(VERSIONED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("version")

    with op.batch_alter_table("form_submission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_submission_user_id"))
        batch_op.drop_index(batch_op.f("ix_form_submission_at"))

    op.drop_table("form_submission")
