"""scorecard indexes: the scorecard's aggregates read each source over an indexed range of its period column

Tickets filed (and rated) in a period for a client, a contract or a site; "replacement due" flags by time; the
extension granted for a fault; quotes issued; a contract's visits of a kind by due date, by done date, sign-offs
given; a contract's service log by day.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-28 21:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

INDEXES = [
    ("ticket", "ix_ticket_client_filed", ["client_id", "filed_at"]),
    ("ticket", "ix_ticket_contract_filed", ["contract_id", "filed_at"]),
    ("ticket", "ix_ticket_site_filed", ["site_id", "filed_at"]),
    ("ticket", "ix_ticket_client_closed", ["client_id", "closed_at"]),
    ("ticket_event", "ix_ticket_event_action_at", ["action", "at"]),
    ("warranty_extension", "ix_warranty_extension_cause", ["cause_kind", "cause_id"]),
    ("renewal_quote", "ix_renewal_quote_client_issued", ["client_id", "issued_at"]),
    ("visit", "ix_visit_contract_kind_due", ["contract_id", "kind", "due_on"]),
    ("visit", "ix_visit_contract_done", ["contract_id", "done_on"]),
    ("visit", "ix_visit_client_signed", ["client_id", "signed_at"]),
    ("service_log", "ix_service_log_contract_date", ["contract_id", "work_date"]),
]


def upgrade():
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
