"""Periodic work: the sweeps that record what time alone changes (SLA breaches, quotes past their validity, resolved
tickets the client left unconfirmed for 7 days). No page view writes: pages compute what they show from the stored
due times, and these sweeps record it, by the job worker (``portal.jobs``) or from cron (``flask sweep``).

Each sweep is a plain function a job can call, inside an application context and outside any transaction of its
own caller (it commits). Each is safe to run on several hosts at the same moment, and while people use the portal:

- it takes its rows in small batches and commits each batch, so no lock is held for long and a backlog of any size
  is worked off in one run;
- on PostgreSQL each batch locks its rows with ``FOR UPDATE SKIP LOCKED``: a row another sweep or a user's step
  holds right now is left to the next run, never waited for; on SQLite a command's transaction takes the write lock
  first (``portal.database``), so sweeps and steps take turns;
- each event it records is recorded at most once, enforced by the database: the event carries a key (e.g.
  ``breach:response``, ``auto_closed``, ``expired``) under a unique constraint with its object, and is inserted with
  ``ON CONFLICT DO NOTHING``, so a concurrent duplicate is a no-op.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from .extensions import db

BATCH = 100  # rows per transaction: a few milliseconds of work, so a lock is never held for long

INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def dialect_of(model):
    return db.session.get_bind(mapper=sa.inspect(model)).dialect.name


def insert_once(model, conflict, **values):
    """Insert one row unless a row with the same ``conflict`` columns (a unique constraint) is already there, or is
    being inserted by a concurrent transaction (PostgreSQL waits for it, then does nothing). True if inserted."""
    insert = (
        INSERTS[dialect_of(model)](model.__table__)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(conflict))
        .returning(*model.__table__.primary_key.columns)
    )
    # RETURNING, not rowcount: psycopg reports no row count for this statement (-1)
    inserted = db.session.execute(insert).first() is not None
    if inserted and "action" in values:  # a timeline event (a breach, an expiry): in the audit trail too
        from .audit import record

        parent = next((k for k in conflict if k.endswith("_id")), None)
        kind = {"ticket_id": "ticket", "quote_id": "quote"}.get(parent, model.__tablename__)
        record(
            f"{kind}.{values['action']}",
            target=(kind, values.get(parent)),
            step=values["action"],
            note=str(values.get("body") or values.get("detail") or "")[:100],
        )
    return inserted


def claim(query, model):
    """Lock the rows a batch takes (PostgreSQL), skipping those locked by someone else; SQLite has no row locks and
    serialises writers instead."""
    return query.with_for_update(skip_locked=True, of=model)


def in_batches(query, model, order, handle, batch=BATCH):
    """Work off every row of ``query`` in batches of ``batch``: each batch claimed, handled (``handle(row)``) and
    committed. ``order`` is a column of ``model`` that, with the id, orders the rows; each batch starts after the
    last one (keyset), so every row is seen once per run whatever the handling does to it. Returns how many rows
    were handled."""
    done, after = 0, None
    while True:
        page = query
        if after is not None:
            page = page.where(sa.or_(order > after[0], sa.and_(order == after[0], model.id > after[1])))
        rows = db.session.scalars(claim(page.order_by(order, model.id).limit(batch), model)).all()
        if not rows:
            return done
        after = (getattr(rows[-1], order.key), rows[-1].id)
        with db.session.no_autoflush:  # one UPDATE per row, at the commit
            for row in rows:
                handle(row)
        db.session.commit()
        done += len(rows)


def local_today(now=None):
    """Today in the deployment's time zone (quotes are valid until a date there)."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return (now or datetime.now(zone)).astimezone(zone).date()


def run(now=None):
    """Every frequent sweep, once: what ``flask sweep`` runs from cron (the job worker runs the same functions on
    its schedule, ``portal.jobs.schedule``; the daily and monthly reminders are ``flask jobs run inspections`` and
    ``flask jobs run warranty``). Returns how many rows or notifications each changed."""
    from .notify import scheduled
    from .renewals.services import expire_quotes
    from .steps import forget
    from .tickets.services import close_unconfirmed, record_breaches

    done = {
        "breaches": record_breaches(now),
        "at_risk": scheduled.tickets_at_risk(now),
        "no_response": scheduled.tickets_without_response(now),
        "auto_closed": close_unconfirmed(now),
        "expired_quotes": expire_quotes(local_today(now)),
        "expiring_quotes": scheduled.quotes_expiring(now),
        "complaints_overdue": scheduled.complaints_overdue(now),
        "forms_forgotten": forget(now),  # one-time form tokens past their 30 days
    }
    db.session.commit()
    return done
