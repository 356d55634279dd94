"""Units by warranty state, maintained rather than recounted: the one module every unit-state count goes through.

A unit's warranty state on a day follows from two dates only (``covered_until`` and ``renewed_until``, see
``services.state_case``), and the units of one delivery share them. So the database keeps, in the same transaction as
every change to ``equipment``, how many units each site (``unit_tally_site``) and each client (``unit_tally_client``)
has with each pair of dates: triggers on ``equipment`` (row triggers on SQLite, statement triggers with transition
tables on PostgreSQL), which also see Core bulk inserts, imports, sweeps and hand-made SQL. A count for any day is then
a SUM over a few rows with a CASE over the dates: per site, per client, overall, and the months ahead.

The tallies hold no NULL: a missing date is stored as ``NEVER`` (no warranty start yet; no renewal), so that a row's
dates are a plain key. ``differences()`` compares them with a recount and ``rebuild()`` recounts and stores
(``flask counts check`` / ``flask counts rebuild``).
"""

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..i18n import local_today
from . import warranty
from .models import Equipment
from .services import state_case
from .warranty import LISTED_STATES, WarrantyState

NEVER = date(1, 1, 1)  # stands for a missing date (before any date the portal accepts: bounds.DATE_MIN)
NEVER_SQL = "'0001-01-01'"  # the same in the triggers (a date literal on PostgreSQL, SQLite's text form)
# And in the queries, written into the statement as in the triggers: a constant of the schema, not a value to bind.
NEVER_LITERAL = sa.literal_column(NEVER_SQL, sa.Date)


class SiteTally(db.Model):
    """How many units a site has with these two dates."""

    __tablename__ = "unit_tally_site"
    __table_args__ = (sa.Index("ix_unit_tally_site_site", "site_id"),)

    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"), primary_key=True)
    covered_until: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    renewed_until: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    units: Mapped[int] = mapped_column()


class ClientTally(db.Model):
    """How many units a client has with these two dates (the sum of its sites' rows, kept for the vendor's pages)."""

    __tablename__ = "unit_tally_client"

    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id", ondelete="CASCADE"), primary_key=True)
    covered_until: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    renewed_until: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    units: Mapped[int] = mapped_column()


# ---------------------------------------------------------------- the triggers

GRAINS = (("unit_tally_site", ("client_id", "site_id")), ("unit_tally_client", ("client_id",)))
DATES = ("covered_until", "renewed_until")


def _sqlite_upsert(table, keys, row, delta):
    columns = ", ".join(keys + DATES)
    values = ", ".join([f"{row}.{k}" for k in keys] + [f"coalesce({row}.{d}, {NEVER_SQL})" for d in DATES])
    return (
        f"INSERT INTO {table} ({columns}, units) VALUES ({values}, {delta}) "  # nosec B608  # trigger DDL from names in code, no user input
        f"ON CONFLICT ({columns}) DO UPDATE SET units = units + ({delta});"
    )


def _sqlite_prune(table, keys, row):
    match = " AND ".join(
        [f"{k} = {row}.{k}" for k in keys] + [f"{d} = coalesce({row}.{d}, {NEVER_SQL})" for d in DATES]
    )
    return f"DELETE FROM {table} WHERE {match} AND units = 0;"  # nosec B608  # trigger DDL from names in code, no user input


def sqlite_triggers():
    """Row triggers: +1 for the new row's key, -1 for the old one's (a row left at 0 is removed)."""
    add = " ".join(_sqlite_upsert(t, k, "NEW", 1) for t, k in GRAINS)
    remove = " ".join(_sqlite_upsert(t, k, "OLD", -1) + " " + _sqlite_prune(t, k, "OLD") for t, k in GRAINS)
    watched = ("client_id", "site_id") + DATES
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in watched)
    return [
        f"CREATE TRIGGER IF NOT EXISTS unit_tally_insert AFTER INSERT ON equipment BEGIN {add} END",
        f"CREATE TRIGGER IF NOT EXISTS unit_tally_delete AFTER DELETE ON equipment BEGIN {remove} END",
        f"CREATE TRIGGER IF NOT EXISTS unit_tally_update AFTER UPDATE OF {', '.join(watched)} ON equipment "
        f"WHEN {changed} BEGIN {remove} {add} END",
    ]


def _pg_changes(op):
    """The rows a statement changed, each with +1 (new) or -1 (old), as SQL over the transition tables."""

    def side(table, sign):
        dates = ", ".join(f"coalesce({d}, DATE {NEVER_SQL}) AS {d}" for d in DATES)
        return f"SELECT client_id, site_id, {dates}, {sign} AS units FROM {table}"  # nosec B608  # trigger DDL from names in code, no user input

    parts = {
        "INSERT": [side("new_units", 1)],
        "DELETE": [side("old_units", -1)],
        "UPDATE": [side("old_units", -1), side("new_units", 1)],
    }[op]
    return " UNION ALL ".join(parts)


def _pg_apply(op):
    """One statement: the net change per site key and per client key, added to the tallies (in key order, so that
    two transactions take their row locks in the same order)."""

    def upsert(table, keys):
        columns = ", ".join(keys + DATES)
        return (
            f"INSERT INTO {table} AS t ({columns}, units) "  # nosec B608  # trigger DDL from names in code, no user input
            f"SELECT {columns}, sum(units) FROM changes GROUP BY {columns} HAVING sum(units) <> 0 ORDER BY {columns} "
            f"ON CONFLICT ({columns}) DO UPDATE SET units = t.units + excluded.units"
        )

    (site_table, site_keys), (client_table, client_keys) = GRAINS
    return (
        f"WITH changes AS ({_pg_changes(op)}), "
        f"sites AS ({upsert(site_table, site_keys)} RETURNING 1) "
        f"{upsert(client_table, client_keys)};"
    )


def _pg_prune():
    """After a delete or an update: the old rows' keys left at 0 are removed."""
    statements = []
    for table, keys in GRAINS:
        columns = keys + DATES
        old = ", ".join(list(keys) + [f"coalesce({d}, DATE {NEVER_SQL})" for d in DATES])
        statements.append(
            f"DELETE FROM {table} t USING (SELECT DISTINCT {old} FROM old_units) AS o ({', '.join(columns)}) "  # nosec B608  # trigger DDL from names in code, no user input
            f"WHERE {' AND '.join(f't.{c} = o.{c}' for c in columns)} AND t.units = 0;"
        )
    return " ".join(statements)


def postgresql_triggers():
    """Statement triggers with transition tables: one aggregated upsert per statement, however many rows (a Core
    bulk insert of 5,000 units costs one statement, not 5,000)."""
    function = f"""CREATE OR REPLACE FUNCTION unit_tally_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_pg_apply("INSERT")}
  ELSIF TG_OP = 'DELETE' THEN
    {_pg_apply("DELETE")}
    {_pg_prune()}
  ELSE
    {_pg_apply("UPDATE")}
    {_pg_prune()}
  END IF;
  RETURN NULL;
END $$"""
    statements = [function]
    for op, tables in (
        ("INSERT", "NEW TABLE AS new_units"),
        ("DELETE", "OLD TABLE AS old_units"),
        ("UPDATE", "OLD TABLE AS old_units NEW TABLE AS new_units"),
    ):
        name = f"unit_tally_{op.lower()}"
        statements += [
            f"DROP TRIGGER IF EXISTS {name} ON equipment",
            f"CREATE TRIGGER {name} AFTER {op} ON equipment REFERENCING {tables} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION unit_tally_apply()",
        ]
    return statements


def drop_statements(dialect):
    if dialect == "postgresql":
        return [f"DROP TRIGGER IF EXISTS unit_tally_{op} ON equipment" for op in ("insert", "delete", "update")] + [
            "DROP FUNCTION IF EXISTS unit_tally_apply()"
        ]
    return [f"DROP TRIGGER IF EXISTS unit_tally_{op}" for op in ("insert", "delete", "update")]


def create_statements(dialect):
    return postgresql_triggers() if dialect == "postgresql" else sqlite_triggers()


TRIGGERS = ("unit_tally_delete", "unit_tally_insert", "unit_tally_update")


def missing_triggers(connection):
    """The triggers that keep the tallies and are not on ``equipment`` (e.g. after a migration that rebuilt the
    table on SQLite, which drops its triggers)."""
    if connection.dialect.name == "postgresql":
        found = connection.exec_driver_sql(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'equipment'::regclass AND NOT tgisinternal"
        ).scalars()
    else:
        found = connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'equipment'"
        ).scalars()
    return sorted(set(TRIGGERS) - set(found))


def install(connection):
    for statement in create_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


def _install(target, connection, **kw):
    """``db.create_all()`` makes the triggers too (after every table: they name ``equipment`` and both tallies)."""
    install(connection)


sa.event.listen(db.metadata, "after_create", _install)


# ---------------------------------------------------------------- recount, check, rebuild


def recount_rows(connection, table, keys):
    """What ``table`` should hold, counted from ``equipment``: {key tuple: units}."""
    columns = [Equipment.__table__.c[k] for k in keys]
    dates = [sa.func.coalesce(Equipment.__table__.c[d], NEVER_LITERAL) for d in DATES]
    rows = connection.execute(sa.select(*columns, *dates, sa.func.count()).group_by(*columns, *dates)).all()
    return {tuple(r[:-1]): r[-1] for r in rows}


def stored_rows(connection, table, keys):
    t = db.metadata.tables[table]
    rows = connection.execute(sa.select(*(t.c[k] for k in keys + DATES), t.c.units)).all()
    return {tuple(r[:-1]): r[-1] for r in rows}


def differences(connection=None):
    """[(table, key, stored, recounted)] wherever the tallies and a recount of ``equipment`` disagree (a row of
    0 units counts as no row)."""
    connection = connection or db.session.connection()
    found = []
    for table, keys in GRAINS:
        want, have = recount_rows(connection, table, keys), stored_rows(connection, table, keys)
        for key in sorted(set(want) | set(have), key=repr):
            if want.get(key, 0) != have.get(key, 0):
                found.append((table, key, have.get(key, 0), want.get(key, 0)))
    return found


def rebuild(connection=None):
    """Recount both tallies from ``equipment`` and store them (in the caller's transaction), the triggers installed
    again if any is missing; returns the rows written. Units are locked meanwhile on PostgreSQL, so that no change
    slips between the recount and the store."""
    connection = connection or db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("LOCK TABLE equipment IN SHARE MODE")
    if missing_triggers(connection):
        install(connection)
    written = 0
    for table, keys in GRAINS:
        t = db.metadata.tables[table]
        connection.execute(t.delete())
        rows = [
            dict(zip(keys + DATES + ("units",), key + (n,), strict=True))
            for key, n in recount_rows(connection, table, keys).items()
        ]
        if rows:
            connection.execute(t.insert(), rows)
        written += len(rows)
    return written


# ---------------------------------------------------------------- the counts pages show


def state_of(table, today):
    """A SQL expression: the warranty state on ``today`` of the units of a tally row (``services.state_case`` over
    the row's dates, ``NEVER`` standing for a missing one)."""
    return state_case(
        today, pending=table.covered_until == NEVER_LITERAL, covered=table.covered_until, renewed=table.renewed_until
    )


def state_sums(table, today):
    """One SUM column per listed state (labelled by the state's value), and the total."""
    state = state_of(table, today)
    columns = [
        sa.func.coalesce(sa.func.sum(sa.case((state == s.value, table.units), else_=0)), 0).label(s.value)
        for s in LISTED_STATES
    ]
    return columns + [sa.func.coalesce(sa.func.sum(table.units), 0).label("total")]


def scoped(user, client_id=None):
    """The tally that answers for ``user`` (or for one client the user may see) and its criteria: a school
    administrator's site rows; a client's rows; every client's for the vendor."""
    if user.site_id is not None:
        return SiteTally, [SiteTally.client_id == user.client_id, SiteTally.site_id == user.site_id]
    client_id = client_id if user.is_vendor else user.client_id
    return ClientTally, ([] if client_id is None else [ClientTally.client_id == client_id])


def counts_by_state(user, today=None, client_id=None):
    """{state value: units} in the user's scope (or one client's), from the tally: one query of few rows."""
    today = today or local_today()
    table, criteria = scoped(user, client_id)
    state = state_of(table, today).label("state")
    rows = db.session.execute(
        sa.select(state, sa.func.sum(table.units)).where(*criteria).group_by(sa.literal_column("state"))
    ).all()
    return {s: int(n) for s, n in rows if n}


MONTHS_AHEAD = 12


def month_starts(today, count=MONTHS_AHEAD):
    """The first day of this month and of each of the next ``count`` months."""
    first = today.replace(day=1)
    return [warranty.add_months(first, i) for i in range(count + 1)]


def expiring_by_month(user, today=None, client_id=None):
    """[(first day of the month, units whose cover ends in it)] for this month (from today on) and the next 11."""
    today = today or local_today()
    table, criteria = scoped(user, client_id)
    starts = month_starts(today)
    bounds = [today] + starts[1:]
    columns = [
        sa.func.sum(sa.case((sa.and_(table.covered_until >= low, table.covered_until < high), table.units), else_=0))
        for low, high in zip(bounds, bounds[1:], strict=False)
    ]
    counts = db.session.execute(sa.select(*columns).where(*criteria)).one()
    return [(start, int(count or 0)) for start, count in zip(starts[:-1], counts, strict=True)]


def per_client(today=None):
    """A select of every client with its units by state (the vendor's overview, one row a client), the clients with
    units expiring or expired first."""
    from ..orgs.models import Client

    today = today or local_today()
    sums = state_sums(ClientTally, today)
    by = {c.name: c for c in sums}
    return (
        sa.select(Client.id, Client.name_zh, Client.name_en, *sums)
        .outerjoin(ClientTally, ClientTally.client_id == Client.id)
        .group_by(Client.id, Client.name_zh, Client.name_en)
        .order_by(
            by[WarrantyState.EXPIRING.value].desc(), by[WarrantyState.EXPIRED.value].desc(), Client.name_zh, Client.id
        )
    )


def per_site(client_id, today=None):
    """A client's sites with their units by state (sites with no unit too), those with units expiring or expired
    first: one query."""
    from ..orgs.models import Site

    today = today or local_today()
    sums = state_sums(SiteTally, today)
    by = {c.name: c for c in sums}
    return db.session.execute(
        sa.select(Site.id, Site.name_zh, Site.name_en, *sums)
        .outerjoin(SiteTally, sa.and_(SiteTally.client_id == Site.client_id, SiteTally.site_id == Site.id))
        .where(Site.client_id == client_id)
        .group_by(Site.id, Site.name_zh, Site.name_en)
        .order_by(
            by[WarrantyState.EXPIRING.value].desc(), by[WarrantyState.EXPIRED.value].desc(), Site.name_zh, Site.id
        )
    ).all()
