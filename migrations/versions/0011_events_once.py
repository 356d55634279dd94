"""events that happen once (a breach of each clock, a ticket's automatic closing, a quote's expiry) carry a key,
unique per ticket or quote: sweeps and steps running at the same moment record each of them once

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ticket_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(length=40), nullable=True))
    with op.batch_alter_table("quote_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(length=40), nullable=True))

    # The events already recorded get their key: the earliest of each, so that none is recorded again. Copies that
    # pages sweeping at the same moment made before this release stay in the history, without a key.
    op.execute(
        "UPDATE ticket_event SET key = 'breach:' || body WHERE id IN ("
        "SELECT min(id) FROM ticket_event WHERE action = 'breach' GROUP BY ticket_id, body)"
    )
    op.execute(
        "UPDATE ticket_event SET key = 'auto_closed' WHERE id IN ("
        "SELECT min(id) FROM ticket_event WHERE action = 'auto_closed' GROUP BY ticket_id)"
    )
    op.execute(
        "UPDATE quote_event SET key = 'expired' WHERE id IN ("
        "SELECT min(id) FROM quote_event WHERE action = 'expired' GROUP BY quote_id)"
    )

    with op.batch_alter_table("ticket_event", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_ticket_event_key", ["ticket_id", "key"])
    with op.batch_alter_table("quote_event", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_quote_event_key", ["quote_id", "key"])


def downgrade():
    with op.batch_alter_table("quote_event", schema=None) as batch_op:
        batch_op.drop_constraint("uq_quote_event_key", type_="unique")
        batch_op.drop_column("key")
    with op.batch_alter_table("ticket_event", schema=None) as batch_op:
        batch_op.drop_constraint("uq_ticket_event_key", type_="unique")
        batch_op.drop_column("key")
