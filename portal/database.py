"""The database connection's behaviour, the same on SQLite and PostgreSQL where it matters: a request that writes
never reads a value it then overwrites without holding the lock.

PostgreSQL: a step locks its row (``SELECT … FOR UPDATE``, see ``portal.steps``). SQLite has one writer at a time;
a transaction that reads first and writes later can find another writer between the two and fail ("database is
locked") rather than wait. So on SQLite, every transaction of a request that may write (any method but GET, HEAD
and OPTIONS) and of a command or job starts with ``BEGIN IMMEDIATE``: it takes the write lock first and waits for
it (``busy_timeout``), and what it reads is then current. Page views start a plain ``BEGIN`` and, in WAL mode, read
while a writer works. This needs pysqlite's own transaction handling off (SQLAlchemy's documented recipe,
"Serializable isolation / Savepoints / Transactional DDL").
"""

import sqlalchemy as sa
from flask import current_app, has_request_context, request

from .extensions import db

READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BUSY_TIMEOUT_MS = 30_000


def records_on_get(view):
    """Mark a view that writes on GET although it is not a page: a document download records who took which
    version (an audit record). Its transaction takes the write lock first, like any other write. Put it right under
    the route decorator. Page views never write (``tests/test_sweeps.py`` checks every one)."""
    view.records_on_get = True
    return view


def writing():
    """Whether the current transaction may write: a request other than a page view (or a view marked
    ``records_on_get``), or no request at all."""
    if not has_request_context() or request.method not in READING_METHODS:
        return True
    return getattr(current_app.view_functions.get(request.endpoint), "records_on_get", False)


def configure_sqlite(engine):
    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")  # readers do not wait for the writer
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(connection):
        # A connection opened to write (``execution_options(portal_writes=True)``: the audit records a page view
        # keeps, see ``portal.audit.hooks``) takes the write lock first too.
        immediate = writing() or connection.get_execution_options().get("portal_writes", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def init_app(app):
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                configure_sqlite(engine)
