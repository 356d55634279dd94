"""unit tallies: units by site (and by client) and warranty dates, kept by triggers on equipment

The home pages and the warranty overview count units by warranty state from these few rows instead of every unit.
The tables are filled from the units here; from then on triggers on ``equipment`` keep them in the same transaction as
each change (row triggers on SQLite, statement triggers with transition tables on PostgreSQL). The trigger text is
``portal.equipment.tally``'s, the same that ``db.create_all()`` installs.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-28 19:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    from portal.equipment import tally

    op.create_table(
        "unit_tally_site",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("covered_until", sa.Date(), nullable=False),
        sa.Column("renewed_until", sa.Date(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_unit_tally_site_client_id_client"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_unit_tally_site_site_id_site"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            "client_id", "site_id", "covered_until", "renewed_until", name=op.f("pk_unit_tally_site")
        ),
    )
    with op.batch_alter_table("unit_tally_site", schema=None) as batch_op:
        batch_op.create_index("ix_unit_tally_site_site", ["site_id"], unique=False)

    op.create_table(
        "unit_tally_client",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("covered_until", sa.Date(), nullable=False),
        sa.Column("renewed_until", sa.Date(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_unit_tally_client_client_id_client"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("client_id", "covered_until", "renewed_until", name=op.f("pk_unit_tally_client")),
    )

    bind = op.get_bind()
    tally.rebuild(bind)  # the units there are now (equipment locked meanwhile on PostgreSQL)
    for statement in tally.create_statements(bind.dialect.name):
        op.execute(statement)


def downgrade():
    from portal.equipment import tally

    for statement in tally.drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("unit_tally_client")
    with op.batch_alter_table("unit_tally_site", schema=None) as batch_op:
        batch_op.drop_index("ix_unit_tally_site_site")
    op.drop_table("unit_tally_site")
