"""notifications: at most one daily digest per user and day

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 12:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notification_delivery", schema=None) as batch_op:
        batch_op.create_index(
            "ix_delivery_digest_once",
            ["key"],
            unique=True,
            sqlite_where=sa.text("kind = 'digest'"),
            postgresql_where=sa.text("kind = 'digest'"),
        )


def downgrade():
    with op.batch_alter_table("notification_delivery", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_delivery_digest_once",
            sqlite_where=sa.text("kind = 'digest'"),
            postgresql_where=sa.text("kind = 'digest'"),
        )
