"""Search: the one helper every list's search box uses, and the indexes that make it fast on the big tables.

``matches(q, *columns)`` is a condition: one of ``columns`` (of one table) contains ``q``, case-insensitively for
Latin letters, with ``%``, ``_`` and ``\\`` in ``q`` taken literally, the same rows on SQLite and PostgreSQL.

- PostgreSQL: ``column ILIKE '%q%'``, served on the tables declared ``searchable()`` by a trigram GIN index per
  column (``pg_trgm``, ``gin_trgm_ops``), which finds the rows holding every trigram of ``q`` without a scan.
- SQLite: on the tables declared ``searchable()``, an FTS5 table with the ``trigram`` tokenizer (external content:
  it holds only the index, the table's own triggers keep it current) answers ``q`` as a phrase, which with that
  tokenizer means "contains" (``rowid IN (SELECT rowid FROM x_fts WHERE x_fts MATCH '{columns} : "q"')``).
  Elsewhere, ``LIKE '%q%' ESCAPE '\\'``.
- Shorter than three characters, ``q`` has no trigram for an index to look up: both engines use (I)LIKE and read
  the whole table (on PostgreSQL at 100,000 units, counting the matches of "12" takes about 0.2 s).

The user's text never reaches FTS5's query syntax: it is always one quoted phrase (a ``"`` doubled), so ``*``,
``AND``, ``NEAR(``, ``^`` or quotes are characters like any other. Case: A-Z fold on both engines; other letters
(É, Ж) fold with PostgreSQL's locale and in SQLite's FTS5, not in SQLite's LIKE (queries under three characters).

The DDL of both engines is attached to the tables (``create_all`` makes it) and is the one the migrations run
(``ddl()``). A migration that rebuilds a searchable table on SQLite (Alembic's batch mode "move and copy") drops
its triggers with it: it must run ``ddl("sqlite", table, columns)`` again.
"""

from contextlib import contextmanager

import sqlalchemy as sa

from .extensions import db

TRIGRAM = 3  # a trigram index cannot look up less
SEARCHABLE = {}  # table name -> the columns its index covers, in order


def fts_table(table):
    return f"{table}_fts"


def trigram_index(table, column):
    return f"ix_{table}_{column}_trgm"


def sqlite_create(table, columns):
    """The FTS5 trigram table of ``table``'s ``columns``, the triggers that keep it current, and its first fill."""
    fts, cols = fts_table(table), ", ".join(columns)
    new, old = ", ".join(f"new.{c}" for c in columns), ", ".join(f"old.{c}" for c in columns)
    remove = f"INSERT INTO {fts} ({fts}, rowid, {cols}) VALUES ('delete', old.id, {old});"  # nosec B608  # DDL from table and column names in code; searches bind the user's text
    add = f"INSERT INTO {fts} (rowid, {cols}) VALUES (new.id, {new});"  # nosec B608  # DDL from table and column names in code
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({cols}, content='{table}', content_rowid='id', "
        "tokenize='trigram')",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} BEGIN {add} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} BEGIN {remove} END",
        # Only a change of a searched column touches the index (a ticket's status changes often, its title rarely).
        f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {cols} ON {table} BEGIN {remove} {add} END",
        f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')",  # nosec B608  # DDL from table and column names in code
    ]


def sqlite_drop(table):
    fts = fts_table(table)
    return [f"DROP TRIGGER IF EXISTS {fts}_{event}" for event in ("insert", "delete", "update")] + [
        f"DROP TABLE IF EXISTS {fts}"
    ]


def postgresql_create(table, columns):
    return ["CREATE EXTENSION IF NOT EXISTS pg_trgm"] + [
        f"CREATE INDEX IF NOT EXISTS {trigram_index(table, c)} ON {table} USING gin ({c} gin_trgm_ops)" for c in columns
    ]


def postgresql_drop(table, columns):
    # pg_trgm stays: other objects of the database may use it, and creating it again is a no-op.
    return [f"DROP INDEX IF EXISTS {trigram_index(table, c)}" for c in columns]


def ddl(dialect, table, columns, drop=False):
    """The statements that make (or drop) the search index of ``table``'s ``columns`` on ``dialect``."""
    if dialect == "sqlite":
        return sqlite_drop(table) if drop else sqlite_create(table, columns)
    if dialect == "postgresql":
        return postgresql_drop(table, columns) if drop else postgresql_create(table, columns)
    return []


def _run(statements, connection):
    for statement in statements:
        connection.exec_driver_sql(statement)


def searchable(model, *columns):
    """Declare the text columns of a big table that its list searches: ``create_all`` (and ``drop_all``) then makes
    (and drops) their trigram indexes on PostgreSQL and their FTS5 table on SQLite. The migration that adds them
    runs the same DDL."""
    table = model.__table__
    names = tuple(table.c[c].name for c in columns)
    SEARCHABLE[table.name] = names

    @sa.event.listens_for(table, "after_create")
    def create(target, connection, **_kw):
        _run(ddl(connection.dialect.name, table.name, names), connection)

    @sa.event.listens_for(table, "before_drop")
    def drop(target, connection, **_kw):
        _run(ddl(connection.dialect.name, table.name, names, drop=True), connection)


@contextmanager
def filled_at_the_end():
    """Around a bulk insert (``flask seed-scale``): on SQLite, the FTS5 tables are filled once at the end (their
    ``rebuild``), not row by row by the triggers, which costs about twice as much. PostgreSQL: nothing to do."""
    if db.engine.dialect.name != "sqlite":
        yield
        return
    connection = db.session.connection()
    for table in SEARCHABLE:
        _run(sqlite_drop(table)[:-1], connection)  # the triggers; the table stays
    yield
    for table, columns in SEARCHABLE.items():
        _run(sqlite_create(table, columns), connection)  # the triggers again, and the rows read once


def include_name(name, type_, _parent_names):
    """For Alembic's comparison of the database with the models: the search indexes are not the models' (FTS5's
    tables and their shadow tables on SQLite, the trigram indexes on PostgreSQL): leave them out."""
    if type_ == "table":
        return not any(name == fts_table(t) or name.startswith(fts_table(t) + "_") for t in SEARCHABLE)
    if type_ == "index":
        return not any(name == trigram_index(t, c) for t, cols in SEARCHABLE.items() for c in cols)
    return True


def like_pattern(q):
    """``q`` anywhere, its wildcards (and the escape character) taken literally; escaped with a backslash."""
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def matches(q, *columns):
    """A condition: one of ``columns`` (all of one table) contains ``q`` (see the module's description)."""
    q = q.replace("\x00", "")  # no database takes a NUL in text
    if not q:
        return sa.true()
    table = columns[0].table
    dialect = db.engine.dialect.name
    indexed = SEARCHABLE.get(table.name, ())
    if dialect == "sqlite" and len(q) >= TRIGRAM and all(c.name in indexed for c in columns):
        fts = fts_table(table.name)
        phrase = '"' + q.replace('"', '""') + '"'
        if {c.name for c in columns} != set(indexed):
            phrase = "{" + " ".join(c.name for c in columns) + "} : " + phrase
        found = (
            sa.select(sa.literal_column("rowid"))
            .select_from(sa.table(fts))
            .where(sa.literal_column(fts).op("MATCH")(phrase))
        )
        return table.c.id.in_(found)
    pattern = like_pattern(q)
    if dialect == "postgresql":  # backslash is ILIKE's own escape: the plain form keeps the trigram index usable
        return sa.or_(*(c.ilike(pattern) for c in columns))
    return sa.or_(*(c.like(pattern, escape="\\") for c in columns))  # SQLite's LIKE ignores the case of A-Z


def among(column, ids):
    """``column IN (ids)``, ``ids`` a select of one column. PostgreSQL: written ``= ANY(ARRAY(ids))``, which an index
    on ``column`` serves inside an OR as well (an ``IN`` subquery there is a filter tried on every row)."""
    if db.engine.dialect.name == "postgresql":
        return column == sa.any_(sa.func.array(ids.scalar_subquery()))
    return column.in_(ids)
