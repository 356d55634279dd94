"""the home pages' latest inspection: indexes on visit.done_on (for the vendor, and for a client)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-28 19:10:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.create_index("ix_visit_done", ["done_on", "id"], unique=False)
        batch_op.create_index("ix_visit_client_done", ["client_id", "done_on"], unique=False)


def downgrade():
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_client_done")
        batch_op.drop_index("ix_visit_done")
