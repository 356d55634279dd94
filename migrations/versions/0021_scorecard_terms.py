"""the scorecard's terms: a contract's renewal ceiling and quality deposit; the satisfaction survey by link

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-28 21:10:00

"""

import sqlalchemy as sa
from alembic import op

from portal.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contract", schema=None) as batch_op:
        batch_op.add_column(sa.Column("renewal_ceiling", sa.Numeric(14, 2), nullable=True))
        batch_op.add_column(sa.Column("deposit_rate", sa.Numeric(6, 4), server_default="0.05", nullable=False))
        batch_op.add_column(sa.Column("deposit_months", sa.Integer(), server_default="12", nullable=False))
        batch_op.add_column(sa.Column("deposit_returned_on", sa.Date(), nullable=True))

    op.create_table(
        "survey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("recipient_name", sa.String(length=100), nullable=False),
        sa.Column("recipient_user_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name=op.f("ck_survey_rating")),
        sa.CheckConstraint("(ticket_id IS NULL) <> (visit_id IS NULL)", name=op.f("ck_survey_subject")),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_survey_client_id_client")),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_survey_site_id_site")),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"], name=op.f("fk_survey_contract_id_contract")),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_survey_ticket_id_ticket"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"], name=op.f("fk_survey_visit_id_visit"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["recipient_user_id"],
            ["user_account.id"],
            name=op.f("fk_survey_recipient_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_survey_token_hash")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_survey_ticket_id")),
        sa.UniqueConstraint("visit_id", name=op.f("uq_survey_visit_id")),
    )
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.create_index("ix_survey_client_answered", ["client_id", "answered_at"], unique=False)
        batch_op.create_index("ix_survey_contract_answered", ["contract_id", "answered_at"], unique=False)
        batch_op.create_index("ix_survey_site_answered", ["site_id", "answered_at"], unique=False)


def downgrade():
    op.drop_table("survey")
    with op.batch_alter_table("contract", schema=None) as batch_op:
        batch_op.drop_column("deposit_returned_on")
        batch_op.drop_column("deposit_months")
        batch_op.drop_column("deposit_rate")
        batch_op.drop_column("renewal_ceiling")
