"""seek indexes: every list's order ends with the id, and each order has an index for every scope

The lists page by seeking (portal/pagination.py): the rows after the last one shown, in the list's order, whose last
key is the id. The indexes of those orders end with the id, so that a page is one index range whatever the ties
(thousands of units share an end of coverage); the equipment list's sorts by serial number and by newest, and the
schedule's "all" and "done" views, get indexes for a client and a site.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-28 18:40:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# (table, index, columns before) of the indexes that gain the id as their last column.
WIDENED = [
    ("equipment", "ix_equipment_client_covered", ["client_id", "covered_until"]),
    ("equipment", "ix_equipment_site_covered", ["site_id", "covered_until"]),
    ("equipment", "ix_equipment_covered", ["covered_until"]),
    ("ticket", "ix_ticket_open_due", ["is_open", "next_due"]),
    ("ticket", "ix_ticket_client_open_due", ["client_id", "is_open", "next_due"]),
    ("ticket", "ix_ticket_site_open_due", ["site_id", "is_open", "next_due"]),
    ("ticket", "ix_ticket_assignee_open_due", ["assignee_id", "is_open", "next_due"]),
    ("ticket", "ix_ticket_client_open_filed", ["client_id", "is_open", "filed_at"]),
    ("ticket", "ix_ticket_site_open_filed", ["site_id", "is_open", "filed_at"]),
    ("ticket", "ix_ticket_open_filed", ["is_open", "filed_at"]),
    ("complaint", "ix_complaint_open_received", ["is_open", "received_at"]),
    ("complaint", "ix_complaint_client_open_received", ["client_id", "is_open", "received_at"]),
    ("complaint", "ix_complaint_site_open_received", ["site_id", "is_open", "received_at"]),
    ("complaint", "ix_complaint_client_received", ["client_id", "received_at"]),
    ("complaint", "ix_complaint_received", ["received_at"]),
    ("visit", "ix_visit_status_due", ["status", "due_on"]),
    ("visit", "ix_visit_client_status_due", ["client_id", "status", "due_on"]),
    ("visit", "ix_visit_site_status_due", ["site_id", "status", "due_on"]),
]
ADDED = [
    ("equipment", "ix_equipment_client_serial", ["client_id", "serial", "id"]),
    ("equipment", "ix_equipment_site_serial", ["site_id", "serial", "id"]),
    ("equipment", "ix_equipment_client_id", ["client_id", "id"]),
    ("equipment", "ix_equipment_site_id", ["site_id", "id"]),
    ("visit", "ix_visit_due", ["due_on", "id"]),
    ("visit", "ix_visit_client_due", ["client_id", "due_on", "id"]),
    ("visit", "ix_visit_site_due", ["site_id", "due_on", "id"]),
]


def upgrade():
    for table, name, columns in WIDENED:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [*columns, "id"], unique=False)
    for table, name, columns in ADDED:
        op.create_index(name, table, columns, unique=False)


def downgrade():
    for table, name, _columns in reversed(ADDED):
        op.drop_index(name, table_name=table)
    for table, name, columns in reversed(WIDENED):
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, unique=False)
