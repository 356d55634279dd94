"""corrections: a quote line may await its price; a manufacturer may have an English name

A unit with no price may be asked for all the same: its quote line has no basis until the vendor manager prices it
(the quote cannot be issued before). A catalogue model's manufacturer may carry its English name (希沃 / Seewo), so
that an import matches either.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28 15:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("quote_line", schema=None) as batch_op:
        batch_op.alter_column("basis", existing_type=sa.Numeric(precision=14, scale=2), nullable=True)
    with op.batch_alter_table("equipment_model", schema=None) as batch_op:
        batch_op.add_column(sa.Column("manufacturer_en", sa.String(length=100), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("equipment_model", schema=None) as batch_op:
        batch_op.drop_column("manufacturer_en")
    # A line still to be priced has no basis to keep: it is priced at nothing, as the amount it carries.
    op.execute("UPDATE quote_line SET basis = 0 WHERE basis IS NULL")
    with op.batch_alter_table("quote_line", schema=None) as batch_op:
        batch_op.alter_column("basis", existing_type=sa.Numeric(precision=14, scale=2), nullable=False)
