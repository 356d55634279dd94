"""admin roles: the vendor's three separated administrators (system, security, audit) join the role check

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-29 00:45:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

BUSINESS = "'vendor_manager', 'vendor_agent', 'client_admin', 'client_staff', 'site_admin'"
ADMINS = "'system_admin', 'security_admin', 'auditor'"


def _check(roles):
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_user_account_role"), type_="check")
        batch_op.create_check_constraint("role", f"role IN ({roles})")


def upgrade():
    _check(f"{BUSINESS}, {ADMINS}")


def downgrade():
    op.execute(f"DELETE FROM user_account WHERE role IN ({ADMINS})")
    _check(BUSINESS)
