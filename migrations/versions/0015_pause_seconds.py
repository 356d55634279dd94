"""tickets: the time spent waiting for the client kept to the second (paused_seconds replaces paused_minutes)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28 15:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_seconds", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE ticket SET paused_seconds = paused_minutes * 60")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.alter_column("paused_seconds", server_default=None)
        batch_op.drop_column("paused_minutes")


def downgrade():
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_minutes", sa.Integer(), nullable=False, server_default="0"))
    # Back to whole minutes, each total rounded to the nearest (integer division on SQLite and PostgreSQL).
    op.execute("UPDATE ticket SET paused_minutes = (paused_seconds + 30) / 60")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.alter_column("paused_minutes", server_default=None)
        batch_op.drop_column("paused_seconds")
