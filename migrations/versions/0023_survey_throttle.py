"""the satisfaction survey by link: its list's indexes (newest first), and the public pages' throttle

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-28 21:15:00

"""

import sqlalchemy as sa
from alembic import op

from portal.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "survey_throttle",
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("minute", UTCDateTime(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("address", "minute", name=op.f("pk_survey_throttle")),
    )
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.create_index("ix_survey_created", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_survey_client_created", ["client_id", "created_at", "id"], unique=False)
        batch_op.create_index("ix_survey_site_created", ["site_id", "created_at", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_site_created")
        batch_op.drop_index("ix_survey_client_created")
        batch_op.drop_index("ix_survey_created")
    op.drop_table("survey_throttle")
