"""search indexes: trigram indexes for the equipment and ticket searches

PostgreSQL: the pg_trgm extension and a GIN trigram index on each searched column, so that ``ILIKE '%…%'`` finds
its rows without reading the table. SQLite: an FTS5 table with the trigram tokenizer per table (external content,
kept current by triggers), filled from the rows already there. The DDL is ``portal.search``'s, the same that
``create_all`` runs.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-28 18:30:00

"""

from alembic import op

from portal import search

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# As they were at this revision (the models may later search more: a migration of its own then).
SEARCHED = {
    "equipment": ("serial", "asset_tag", "building", "room"),
    "ticket": ("number", "title", "equipment_text"),
}


def upgrade():
    run(drop=False)


def downgrade():
    run(drop=True)


def run(drop):
    dialect = op.get_bind().dialect.name
    for table, columns in SEARCHED.items():
        for statement in search.ddl(dialect, table, columns, drop=drop):
            op.execute(statement)
