"""password policy and second factor: the security policy row, password history, TOTP enrolments, recovery codes;
when each user's password was set and whether a change is required

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-29 01:00:00

"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from portal.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "security_policy",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("min_length", sa.Integer(), nullable=False),
        sa.Column("classes_required", sa.Integer(), nullable=False),
        sa.Column("history_count", sa.Integer(), nullable=False),
        sa.Column("expiry_days", sa.Integer(), nullable=False),
        sa.Column("second_factor_for_everyone", sa.Boolean(), nullable=False),
        sa.Column("second_factor_since", UTCDateTime(), nullable=True),
        sa.Column("grace_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_security_policy_single_row")),
        sa.CheckConstraint("min_length >= 8", name=op.f("ck_security_policy_min_length")),
        sa.CheckConstraint("classes_required BETWEEN 1 AND 4", name=op.f("ck_security_policy_classes")),
        sa.CheckConstraint(
            "history_count >= 0 AND expiry_days >= 0 AND grace_days >= 0", name=op.f("ck_security_policy_counts")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["user_account.id"],
            name=op.f("fk_security_policy_updated_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_policy")),
    )
    op.create_table(
        "password_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_password_history_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_history")),
    )
    with op.batch_alter_table("password_history", schema=None) as batch_op:
        batch_op.create_index("ix_password_history_user_at", ["user_id", "created_at"], unique=False)
    op.create_table(
        "two_factor",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("enrolled_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_two_factor_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_two_factor")),
    )
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=255), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_recovery_code_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_code")),
    )
    with op.batch_alter_table("recovery_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_code_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_changed_at", UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("password_change_required", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Passwords set before today count from today: nobody is forced to change at the upgrade itself.
    now = datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC, as UTCDateTime does
    op.get_bind().execute(
        sa.text("UPDATE user_account SET password_changed_at = :now WHERE password_hash IS NOT NULL"), {"now": now}
    )
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.alter_column("password_change_required", server_default=None)


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("password_change_required")
        batch_op.drop_column("password_changed_at")
    op.drop_table("recovery_code")
    op.drop_table("two_factor")
    op.drop_table("password_history")
    op.drop_table("security_policy")
