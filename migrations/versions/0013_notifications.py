"""notifications: the outbox (a notification per recipient, a delivery per channel), group robots, preferences

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 12:00:00

"""

import sqlalchemy as sa
from alembic import op

import portal.types

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "robot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("platform", sa.String(length=10), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("webhook_url", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("kinds", sa.String(length=500), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", portal.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("platform IN ('wecom', 'dingtalk')", name=op.f("ck_robot_platform")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_robot_client_id_client"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_robot")),
    )
    with op.batch_alter_table("robot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_robot_client_id"), ["client_id"], unique=False)

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject_type", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=True),
        sa.Column("created_at", portal.types.UTCDateTime(), nullable=False),
        sa.Column("read_at", portal.types.UTCDateTime(), nullable=True),
        sa.Column("digest_due", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_notification_client_id_client"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_notification_site_id_site"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_notification_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint("key", "user_id", name="uq_notification_key_user"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index("ix_notification_user_read", ["user_id", "read_at", "id"], unique=False)
        batch_op.create_index("ix_notification_user", ["user_id", "id"], unique=False)
        batch_op.create_index("ix_notification_digest", ["digest_due", "user_id"], unique=False)

    op.create_table(
        "notification_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("robot_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject_type", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", portal.types.UTCDateTime(), nullable=False),
        sa.Column("lease_until", portal.types.UTCDateTime(), nullable=True),
        sa.Column("sent_at", portal.types.UTCDateTime(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("created_at", portal.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'failed')", name=op.f("ck_notification_delivery_state")
        ),
        sa.CheckConstraint("channel IN ('email', 'wecom', 'dingtalk')", name=op.f("ck_notification_delivery_channel")),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.id"],
            name=op.f("fk_notification_delivery_notification_id_notification"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["robot_id"], ["robot.id"], name=op.f("fk_notification_delivery_robot_id_robot"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_delivery")),
        sa.UniqueConstraint("notification_id", "channel", name="uq_delivery_notification_channel"),
        sa.UniqueConstraint("robot_id", "key", name="uq_delivery_robot_key"),
    )
    with op.batch_alter_table("notification_delivery", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_state_due", ["state", "due_at"], unique=False)
        batch_op.create_index("ix_delivery_robot", ["robot_id"], unique=False)

    op.create_table(
        "notification_preference",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.CheckConstraint("mode IN ('instant', 'digest', 'off')", name=op.f("ck_notification_preference_mode")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_notification_preference_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "kind", name=op.f("pk_notification_preference")),
    )


def downgrade():
    op.drop_table("notification_preference")
    with op.batch_alter_table("notification_delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_robot")
        batch_op.drop_index("ix_delivery_state_due")
    op.drop_table("notification_delivery")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_digest")
        batch_op.drop_index("ix_notification_user")
        batch_op.drop_index("ix_notification_user_read")
    op.drop_table("notification")
    with op.batch_alter_table("robot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_robot_client_id"))
    op.drop_table("robot")
