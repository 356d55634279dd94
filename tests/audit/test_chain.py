"""The chain: intact when untouched, an edit or a deletion found, no fork under concurrent writers, and the
database itself refusing to change or delete a record (SQLite and PostgreSQL)."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.audit import record
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.types import utcnow

from ..conftest import at_once
from .helpers import last_seq, records, write


def verify(app):
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--batch", "100"])
    return result.exit_code, result.output


def without_guard(app, statement, **params):
    """Run ``statement`` as an attacker holding the table's owner role would: the guard lifted first."""
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER USER")
            conn.execute(sa.text(statement), params)
            conn.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_delete")
            conn.execute(sa.text(statement), params)


def test_an_intact_chain_verifies_in_batches(app):
    write(app, 250)
    code, output = verify(app)
    assert code == 0 and "intact" in output and f"{last_seq(app)} records" in output
    found = records(app)
    assert [r["seq"] for r in found] == list(range(1, len(found) + 1))
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(found, found[1:], strict=False))


def test_an_edited_record_is_found(app):
    write(app, 30)
    without_guard(app, "UPDATE audit_event SET details = :d WHERE seq = 17", d='{"n":99}')
    code, output = verify(app)
    assert code == 1 and "changed: seq 17" in output


def test_an_edited_record_with_its_hash_recomputed_breaks_the_link(app):
    from portal.audit.chain import digest

    write(app, 30)
    with app.app_context():
        row = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.seq == 12))
        values = {c.key: getattr(row, c.key) for c in AuditEvent.__table__.columns}
        values["user_email"] = "someone.else@example.com"
        forged = digest(values)
    without_guard(
        app, "UPDATE audit_event SET user_email = 'someone.else@example.com', hash = :h WHERE seq = 12", h=forged
    )
    code, output = verify(app)
    assert code == 1 and "broken" in output and "seq 13" in output


def test_a_missing_guard_is_reported_by_verify(app):
    write(app, 3)
    without_guard(app, "SELECT 1")  # SQLite: dropped; PostgreSQL: lifted and put back
    code, output = verify(app)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            assert code == 0
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_guard")
            code, output = verify(app)
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER audit_event_guard")
    assert code == 1 and "guard of audit_event is missing" in output and "intact" in output


def test_a_deleted_record_is_found(app):
    write(app, 30)
    without_guard(app, "DELETE FROM audit_event WHERE seq = 9")
    code, output = verify(app)
    assert code == 1 and "missing: seq 9" in output


def test_deleted_records_at_the_start_are_found(app):
    write(app, 30)
    without_guard(app, "DELETE FROM audit_event WHERE seq <= 3")
    code, output = verify(app)
    assert code == 1 and "at the start" in output and "seq 4" in output


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET result = 'refused' WHERE seq = 1",
        "UPDATE audit_event SET at = at WHERE seq = 1",
        "DELETE FROM audit_event WHERE seq = 1",
        "DELETE FROM audit_event",
    ],
)
def test_the_applications_connection_cannot_change_or_delete_a_record(app, statement):
    write(app, 3)
    with app.app_context():
        with pytest.raises(sa.exc.DatabaseError) as refused:
            db.session.execute(sa.text(statement))
            db.session.commit()
        db.session.rollback()
        assert "audit records" in str(refused.value)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 3
    assert verify(app)[0] == 0


def test_an_old_record_may_be_deleted_by_the_database_but_not_a_young_one(app):
    write(app, 2, at=utcnow() - timedelta(days=181))
    write(app, 1, at=utcnow() - timedelta(days=179))
    with app.app_context():
        db.session.execute(sa.text("DELETE FROM audit_event WHERE seq <= 2"))
        db.session.commit()
        with pytest.raises(sa.exc.DatabaseError):
            db.session.execute(sa.text("DELETE FROM audit_event WHERE seq = 3"))
        db.session.rollback()


def test_postgresql_table_owned_by_its_own_role(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
        owner = db.session.scalar(sa.text("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_event'"))
        privileges = set(
            db.session.scalars(
                sa.text(
                    "SELECT privilege_type FROM information_schema.role_table_grants "
                    "WHERE table_name = 'audit_event' AND grantee = current_user"
                )
            )
        )
    assert owner == "portal_audit_owner"
    assert privileges == {"SELECT", "INSERT"}


def test_concurrent_writers_make_one_chain_without_a_fork(shared):
    def writer(n):
        def call():
            for i in range(5):
                with shared.app_context():
                    record("test.concurrent", writer=n, i=i)
                    db.session.commit()
            return True

        return call

    def alone(n):
        def call():
            for i in range(5):
                with shared.test_request_context("/", environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}):
                    record("test.alone", writer=n, i=i)  # written on its own connection at the end
            return True

        return call

    results = at_once(*(writer(n) for n in range(4)), *(alone(n) for n in range(4)))
    assert results == [True] * 8, results
    found = [r for r in records(shared) if r["event"].startswith("test.")]
    assert len(found) == 40
    assert verify(shared)[0] == 0
