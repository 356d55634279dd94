"""The audit record (审计日志) and the database's own guard over it.

A record is never changed and never deleted before its retention: triggers refuse every UPDATE, and every DELETE of a
row younger than ``MIN_RETENTION_DAYS`` (the Cybersecurity Law's six months), on SQLite and PostgreSQL alike. On
PostgreSQL, when the role that builds the schema may create roles, the table also belongs to a role of its own
(``portal_audit_owner``, which cannot sign in) and the application's role is granted only SELECT and INSERT: it could
not even drop the triggers. The triggers are installed by the migration and, for the tests, by ``db.create_all()``
(a DDL event, as ``portal.equipment.tally`` installs its own).

Who did it is kept twice: the user's id (no foreign key: deleting or renaming a user changes no record) and a copy
of their e-mail, name and role at the time.
"""

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..types import UTCDateTime

log = logging.getLogger(__name__)
MIN_RETENTION_DAYS = 180
RESULTS = ("ok", "refused", "failed")
OWNER_ROLE = "portal_audit_owner"
DETAILS_MAX = 4000  # characters of a record's details (JSON); longer values are cut, see ``chain.details_json``


class AuditEvent(db.Model):
    """One thing that happened: when, who (and as which role, for which client, from which address), what, to what,
    with what result; chained to the record before it by ``prev_hash``."""

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.CheckConstraint("result IN ('ok', 'refused', 'failed')", name="result"),
        # The auditor's filters, each with seq last: a page of the list is a seek on one of these.
        sa.Index("ix_audit_event_at", "at", "seq"),
        sa.Index("ix_audit_event_user_seq", "user_id", "seq"),
        sa.Index("ix_audit_event_email_seq", "user_email", "seq"),
        sa.Index("ix_audit_event_event_seq", "event", "seq"),
        sa.Index("ix_audit_event_client_seq", "client_id", "seq"),
        sa.Index("ix_audit_event_address_seq", "address", "seq"),
        sa.Index("ix_audit_event_request", "request_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, unique=True)  # 1, 2, 3 … assigned under the chain's lock
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column()  # no foreign key: history outlives the account
    user_email: Mapped[str] = mapped_column(sa.String(254), default="")
    user_name: Mapped[str] = mapped_column(sa.String(100), default="")
    role: Mapped[str] = mapped_column(sa.String(32), default="")
    client_id: Mapped[int | None] = mapped_column()
    address: Mapped[str] = mapped_column(sa.String(64), default="")
    event: Mapped[str] = mapped_column(sa.String(80))
    target_type: Mapped[str] = mapped_column(sa.String(40), default="")
    target_id: Mapped[str] = mapped_column(sa.String(64), default="")
    target_label: Mapped[str] = mapped_column(sa.String(200), default="")
    result: Mapped[str] = mapped_column(sa.String(10), default="ok")
    details: Mapped[str] = mapped_column(sa.Text, default="{}")
    request_id: Mapped[str] = mapped_column(sa.String(64), default="")
    prev_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    hash: Mapped[str] = mapped_column(sa.String(64))


# ---------------------------------------------------------------- append-only, in the database

REFUSE_UPDATE = "audit records cannot be changed"
REFUSE_DELETE = "audit records are kept at least 180 days"


def sqlite_triggers():
    """SQLite stores the naive UTC time as text ('YYYY-MM-DD HH:MM:SS.ffffff'), which compares as a time."""
    return [
        "CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSE_UPDATE}'); END",
        "CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event "
        f"WHEN OLD.at > datetime('now', '-{MIN_RETENTION_DAYS} days') "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSE_DELETE}'); END",
    ]


def postgresql_triggers():
    function = f"""CREATE OR REPLACE FUNCTION audit_event_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    RAISE EXCEPTION '{REFUSE_UPDATE}' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.at > (now() AT TIME ZONE 'UTC') - interval '{MIN_RETENTION_DAYS} days' THEN
    RAISE EXCEPTION '{REFUSE_DELETE}' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN OLD;
END $$"""
    return [
        function,
        "DROP TRIGGER IF EXISTS audit_event_guard ON audit_event",
        "CREATE TRIGGER audit_event_guard BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_guard()",
        # TRUNCATE fires no row trigger: refused as a statement.
        "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event",
        "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_guard_truncate()",
    ]


# Pruning (``retention.prune``) as the application's role, which may not DELETE: a function owned by the table's
# owner that deletes old records only, as the trigger allows.
PG_PRUNE_FUNCTION = f"""CREATE OR REPLACE FUNCTION audit_event_prune(upto bigint) RETURNS bigint LANGUAGE sql
SECURITY DEFINER SET search_path FROM CURRENT AS $$
  WITH gone AS (DELETE FROM audit_event WHERE seq <= upto
                AND at < (now() AT TIME ZONE 'UTC') - interval '{MIN_RETENTION_DAYS} days' RETURNING 1)
  SELECT count(*) FROM gone
$$"""  # nosec B608  # DDL from a constant of this module: no value from outside
FUNCTIONS = ("audit_event_guard()", "audit_event_guard_truncate()", "audit_event_prune(bigint)")

PG_TRUNCATE_FUNCTION = f"""CREATE OR REPLACE FUNCTION audit_event_guard_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '{REFUSE_DELETE}' USING ERRCODE = 'insufficient_privilege';
END $$"""


def postgresql_owner(connection):
    """When the migrating role may create roles: the table (and its id sequence) owned by ``portal_audit_owner``
    (NOLOGIN), the application's role (the current one) granted SELECT and INSERT only. Returns whether it was done;
    without that right (or if any step is refused) the trigger alone guards the table, and a warning says so."""
    may = connection.exec_driver_sql(
        "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
    ).scalar()
    if not may:
        log.warning(
            "audit_event: the database role may not create roles; the trigger alone guards the audit trail "
            "(run the migration once as a role with CREATEROLE to give the table its own owner)."
        )
        return False
    try:
        with connection.begin_nested():
            _hand_over(connection)
    except sa.exc.DBAPIError as refused:
        log.warning(
            "audit_event: could not hand the table to %s (%s); the trigger alone guards it.",
            OWNER_ROLE,
            str(getattr(refused, "orig", refused)).splitlines()[0],
        )
        return False
    return True


def _hand_over(connection):
    exists = connection.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %(r)s", {"r": OWNER_ROLE}).scalar()
    if not exists:
        connection.exec_driver_sql(f"CREATE ROLE {OWNER_ROLE} NOLOGIN")
    superuser = connection.exec_driver_sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar()
    schema = connection.exec_driver_sql("SELECT current_schema()").scalar()
    if not superuser:  # to hand a table over, a non-superuser must be a member of the new owner
        connection.exec_driver_sql(f"GRANT {OWNER_ROLE} TO current_user")
    # The new owner needs CREATE on the schema to receive the table (PostgreSQL 15); taken back afterwards.
    connection.exec_driver_sql(f'GRANT USAGE, CREATE ON SCHEMA "{schema}" TO {OWNER_ROLE}')
    sequence = connection.exec_driver_sql("SELECT pg_get_serial_sequence('audit_event', 'id')").scalar()
    connection.exec_driver_sql(f"ALTER TABLE audit_event OWNER TO {OWNER_ROLE}")
    for function in FUNCTIONS:  # else the application's role could replace the guard's body
        connection.exec_driver_sql(f"ALTER FUNCTION {function} OWNER TO {OWNER_ROLE}")
    connection.exec_driver_sql("REVOKE ALL ON FUNCTION audit_event_prune(bigint) FROM PUBLIC")
    connection.exec_driver_sql("GRANT EXECUTE ON FUNCTION audit_event_prune(bigint) TO current_user")
    connection.exec_driver_sql(f'REVOKE CREATE ON SCHEMA "{schema}" FROM {OWNER_ROLE}')
    connection.exec_driver_sql("REVOKE ALL ON audit_event FROM PUBLIC")
    connection.exec_driver_sql("GRANT SELECT, INSERT ON audit_event TO current_user")
    if sequence:
        connection.exec_driver_sql(f"GRANT USAGE, SELECT ON SEQUENCE {sequence} TO current_user")
    if not superuser:
        connection.exec_driver_sql(f"REVOKE {OWNER_ROLE} FROM current_user")


def install(connection):
    """The triggers (and on PostgreSQL the separate owner, when possible) on ``audit_event``."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(PG_TRUNCATE_FUNCTION)
        connection.exec_driver_sql(PG_PRUNE_FUNCTION)
        for statement in postgresql_triggers():
            connection.exec_driver_sql(statement)
        postgresql_owner(connection)
    else:
        for statement in sqlite_triggers():
            connection.exec_driver_sql(statement)


def drop_statements(dialect):
    if dialect == "postgresql":
        return [
            "DROP TRIGGER IF EXISTS audit_event_guard ON audit_event",
            "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event",
            "DROP FUNCTION IF EXISTS audit_event_guard()",
            "DROP FUNCTION IF EXISTS audit_event_guard_truncate()",
            "DROP FUNCTION IF EXISTS audit_event_prune(bigint)",
        ]
    return ["DROP TRIGGER IF EXISTS audit_event_no_update", "DROP TRIGGER IF EXISTS audit_event_no_delete"]


TRIGGERS = {
    "postgresql": ("audit_event_guard", "audit_event_no_truncate"),
    "sqlite": ("audit_event_no_delete", "audit_event_no_update"),
}


def missing_triggers(connection):
    """The guard's triggers that are not on ``audit_event`` (dropped by hand, or by a migration that rebuilt the
    table on SQLite): ``flask audit verify`` reports them."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        found = connection.exec_driver_sql(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_event'::regclass AND NOT tgisinternal "
            "AND tgenabled <> 'D'"
        ).scalars()
    else:
        found = connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'"
        ).scalars()
    return sorted(set(TRIGGERS.get(dialect, TRIGGERS["sqlite"])) - set(found))


def _install(target, connection, **kw):
    """``db.create_all()`` guards the table too (the tests' schema)."""
    install(connection)


sa.event.listen(AuditEvent.__table__, "after_create", _install)
