"""overview indexes: the vendor's scorecard overview reads every client's tickets filed and rated, visits signed and
survey answers of this month over an index on the period column alone; the open complaints' "late" events by time

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-28 22:30:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

INDEXES = [
    ("ticket", "ix_ticket_filed", ["filed_at"]),
    ("ticket", "ix_ticket_closed", ["closed_at"]),
    ("visit", "ix_visit_signed", ["signed_at"]),
    ("survey", "ix_survey_answered", ["answered_at"]),
    ("complaint_event", "ix_complaint_event_action_at", ["action", "at"]),
]


def upgrade():
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
