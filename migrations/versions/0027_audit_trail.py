"""audit trail: the hash-chained, append-only audit record (审计日志), its triggers and (PostgreSQL) its own owner

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-29 01:30:00

The triggers (and on PostgreSQL the separate owner ``portal_audit_owner``, when the migrating role may create roles)
are ``portal.audit.models``'s, the same that ``db.create_all()`` installs.
"""

import sqlalchemy as sa
from alembic import op

from portal.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    from portal.audit import models

    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("user_email", sa.String(length=254), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=80), nullable=False),
        sa.Column("target_type", sa.String(length=40), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("target_label", sa.String(length=200), nullable=False),
        sa.Column("result", sa.String(length=10), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("result IN ('ok', 'refused', 'failed')", name=op.f("ck_audit_event_result")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_event_seq")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index("ix_audit_event_at", ["at", "seq"], unique=False)
        batch_op.create_index("ix_audit_event_user_seq", ["user_id", "seq"], unique=False)
        batch_op.create_index("ix_audit_event_email_seq", ["user_email", "seq"], unique=False)
        batch_op.create_index("ix_audit_event_event_seq", ["event", "seq"], unique=False)
        batch_op.create_index("ix_audit_event_client_seq", ["client_id", "seq"], unique=False)
        batch_op.create_index("ix_audit_event_address_seq", ["address", "seq"], unique=False)
        batch_op.create_index("ix_audit_event_request", ["request_id"], unique=False)
    models.install(op.get_bind())


def downgrade():
    from portal.audit import models

    for statement in models.drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("audit_event")
