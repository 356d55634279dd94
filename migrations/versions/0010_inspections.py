"""inspections (巡检 / 回访 / 驻场运维记录): plans, visits with per-unit results and attachments, service logs, calendar feeds

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 08:15:30.627755

"""

import sqlalchemy as sa
from alembic import op

import portal.types

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "calendar_feed",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", portal.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_calendar_feed_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_calendar_feed")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feed_token_hash")),
    )
    op.create_table(
        "inspection_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.String(length=12), nullable=False),
        sa.Column("months", sa.String(length=40), nullable=False),
        sa.Column("phone_visits", sa.Integer(), nullable=False),
        sa.Column("return_visits", sa.Boolean(), nullable=False),
        sa.Column("end_of_life", sa.Boolean(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", portal.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "frequency IN ('none', 'monthly', 'quarterly', 'half_yearly')", name=op.f("ck_inspection_plan_frequency")
        ),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_inspection_plan_client_id_client")),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"], name=op.f("fk_inspection_plan_contract_id_contract")),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["user_account.id"],
            name=op.f("fk_inspection_plan_updated_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_plan")),
        sa.UniqueConstraint("contract_id", name=op.f("uq_inspection_plan_contract_id")),
    )
    with op.batch_alter_table("inspection_plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inspection_plan_client_id"), ["client_id"], unique=False)

    op.create_table(
        "service_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("work_date", sa.Date(), nullable=False),
        sa.Column("engineers", sa.String(length=200), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.Column("time_in", sa.Time(), nullable=False),
        sa.Column("time_out", sa.Time(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("work_done", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", portal.types.UTCDateTime(), nullable=False),
        sa.Column("signed_name", sa.String(length=100), nullable=False),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.Column("signed_at", portal.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint("headcount >= 1", name=op.f("ck_service_log_headcount")),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_service_log_client_id_client")),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"], name=op.f("fk_service_log_contract_id_contract")),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_service_log_recorded_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"],
            ["user_account.id"],
            name=op.f("fk_service_log_signed_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_service_log_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_log")),
    )
    with op.batch_alter_table("service_log", schema=None) as batch_op:
        batch_op.create_index("ix_service_log_client_date", ["client_id", "work_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_log_contract_id"), ["contract_id"], unique=False)
        batch_op.create_index("ix_service_log_date", ["work_date"], unique=False)
        batch_op.create_index("ix_service_log_site_date", ["site_id", "work_date"], unique=False)

    op.create_table(
        "inspection_plan_site",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["inspection_plan.id"],
            name=op.f("fk_inspection_plan_site_plan_id_inspection_plan"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_inspection_plan_site_site_id_site"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("plan_id", "site_id", name=op.f("pk_inspection_plan_site")),
    )
    op.create_table(
        "visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=15), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=True),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("engineers", sa.String(length=200), nullable=False),
        sa.Column("hardware", sa.Text(), nullable=False),
        sa.Column("software", sa.Text(), nullable=False),
        sa.Column("risks", sa.Text(), nullable=False),
        sa.Column("recommendations", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", portal.types.UTCDateTime(), nullable=True),
        sa.Column("signed_name", sa.String(length=100), nullable=False),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.Column("signed_at", portal.types.UTCDateTime(), nullable=True),
        sa.Column("sign_comment", sa.Text(), nullable=False),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("dispute_reason", sa.Text(), nullable=False),
        sa.Column("disputed_at", portal.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('inspection', 'phone_visit', 'return_visit', 'end_of_life', 'extra')", name=op.f("ck_visit_kind")
        ),
        sa.CheckConstraint("method IS NULL OR method IN ('on_site', 'remote', 'phone')", name=op.f("ck_visit_method")),
        sa.CheckConstraint("status IN ('scheduled', 'done', 'signed', 'disputed')", name=op.f("ck_visit_status")),
        sa.CheckConstraint("satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name=op.f("ck_visit_satisfaction")),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_visit_client_id_client")),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"], name=op.f("fk_visit_contract_id_contract")),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["inspection_plan.id"], name=op.f("fk_visit_plan_id_inspection_plan"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_visit_recorded_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"], ["user_account.id"], name=op.f("fk_visit_signed_by_id_user_account"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_visit_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit")),
    )
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.create_index("ix_visit_client_status_due", ["client_id", "status", "due_on"], unique=False)
        batch_op.create_index("ix_visit_contract_due", ["contract_id", "due_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_visit_plan_id"), ["plan_id"], unique=False)
        batch_op.create_index("ix_visit_site_done", ["site_id", "done_on"], unique=False)
        batch_op.create_index("ix_visit_site_status_due", ["site_id", "status", "due_on"], unique=False)
        batch_op.create_index("ix_visit_status_due", ["status", "due_on"], unique=False)

    op.create_table(
        "visit_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("uploaded_at", portal.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visit.id"], name=op.f("fk_visit_attachment_visit_id_visit"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_attachment")),
    )
    with op.batch_alter_table("visit_attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_attachment_visit_id"), ["visit_id"], unique=False)

    op.create_table(
        "visit_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("equipment_id", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=10), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("result IN ('ok', 'issue', 'fixed', 'not_found')", name=op.f("ck_visit_unit_result")),
        sa.ForeignKeyConstraint(["equipment_id"], ["equipment.id"], name=op.f("fk_visit_unit_equipment_id_equipment")),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_visit_unit_ticket_id_ticket"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visit.id"], name=op.f("fk_visit_unit_visit_id_visit"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_unit")),
        sa.UniqueConstraint("visit_id", "equipment_id", name="uq_visit_unit"),
    )
    with op.batch_alter_table("visit_unit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_unit_equipment_id"), ["equipment_id"], unique=False)


def downgrade():
    with op.batch_alter_table("visit_unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_unit_equipment_id"))

    op.drop_table("visit_unit")
    with op.batch_alter_table("visit_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_attachment_visit_id"))

    op.drop_table("visit_attachment")
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_status_due")
        batch_op.drop_index("ix_visit_site_status_due")
        batch_op.drop_index("ix_visit_site_done")
        batch_op.drop_index(batch_op.f("ix_visit_plan_id"))
        batch_op.drop_index("ix_visit_contract_due")
        batch_op.drop_index("ix_visit_client_status_due")

    op.drop_table("visit")
    op.drop_table("inspection_plan_site")
    with op.batch_alter_table("service_log", schema=None) as batch_op:
        batch_op.drop_index("ix_service_log_site_date")
        batch_op.drop_index("ix_service_log_date")
        batch_op.drop_index(batch_op.f("ix_service_log_contract_id"))
        batch_op.drop_index("ix_service_log_client_date")

    op.drop_table("service_log")
    with op.batch_alter_table("inspection_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_plan_client_id"))

    op.drop_table("inspection_plan")
    op.drop_table("calendar_feed")
