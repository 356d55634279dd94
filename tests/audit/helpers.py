"""Reading the audit trail in tests."""

import json

import sqlalchemy as sa

from portal.audit import hooks
from portal.audit.chain import append
from portal.audit.models import AuditEvent
from portal.extensions import db


def records(app, after=0, **where):
    """The records after seq ``after`` (matching ``where``), oldest first, as dicts with their details parsed."""
    with app.app_context():
        query = sa.select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        rows = db.session.scalars(query).all()
        return [
            {**{c.key: getattr(r, c.key) for c in AuditEvent.__table__.columns}, "data": json.loads(r.details)}
            for r in rows
        ]


def last_seq(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.max(AuditEvent.seq))) or 0


def write(app, n=1, at=None, event="test.event"):
    """``n`` records appended outside any request, optionally back-dated to ``at``."""
    with app.app_context():
        rows = []
        for i in range(n):
            row = hooks.row_of(hooks.entry(event, details={"n": i}))
            if at is not None:
                row["at"] = at
            rows.append(row)
        written = append(db.session.connection(), rows)
        db.session.commit()
        return written
