"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from portal.extensions import db

from .conftest import DATABASE_URL, fresh_schema, make_app


def empty_database(tmp_path):
    """A database with nothing in it: a new SQLite file, or the test PostgreSQL database emptied."""
    if DATABASE_URL.startswith("postgresql"):
        app = make_app()
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        return app
    return make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'migrated.sqlite'}")


def test_upgrade_matches_the_models_and_downgrade_undoes_it(tmp_path):
    app = empty_database(tmp_path)
    try:
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
            assert diff == [], "the models changed without a migration: run `flask db migrate`"
            downgrade(revision="base")
            with db.engine.connect() as conn:
                assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
    finally:
        with app.app_context():
            if db.engine.dialect.name == "postgresql":  # leave the schema for the other tests
                with db.engine.begin() as conn:
                    conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
                db.create_all()
            db.engine.dispose()


def test_pauses_recorded_in_minutes_are_kept_in_seconds_and_go_back(tmp_path):
    """0015: a ticket's paused minutes become the same time in seconds (×60); going down, seconds become minutes
    again (rounded to the nearest), on SQLite and PostgreSQL."""
    from .test_sweeps import filled

    app = empty_database(tmp_path)
    try:
        with app.app_context():
            upgrade(revision="0014")
            meta = sa.MetaData()
            with db.engine.begin() as conn:
                meta.reflect(conn)
                t = meta.tables
                conn.execute(t["client"].insert(), filled(t["client"], id=1))
                conn.execute(t["site"].insert(), filled(t["site"], id=1, client_id=1))
                for n, minutes in enumerate([0, 2, 90], start=1):
                    conn.execute(t["ticket"].insert(), filled(
                        t["ticket"], id=n, client_id=1, site_id=1, number=f"GZ-2026-{n:05d}", status="responded",
                        kind="unknown", channel="portal", coverage="in_warranty", severity="B", clock="24x7",
                        paused_minutes=minutes))
            upgrade(revision="0015")
            with db.engine.begin() as conn:
                assert dict(conn.execute(sa.text("SELECT id, paused_seconds FROM ticket")).all()) == {
                    1: 0, 2: 120, 3: 5400}
                conn.execute(sa.text("UPDATE ticket SET paused_seconds = 125 WHERE id = 2"))
                conn.execute(sa.text("UPDATE ticket SET paused_seconds = 29 WHERE id = 1"))
            downgrade(revision="0014")
            with db.engine.connect() as conn:
                assert dict(conn.execute(sa.text("SELECT id, paused_minutes FROM ticket")).all()) == {
                    1: 0, 2: 2, 3: 90}
            upgrade(revision="0015")
            with db.engine.connect() as conn:
                assert dict(conn.execute(sa.text("SELECT id, paused_seconds FROM ticket")).all()) == {
                    1: 0, 2: 120, 3: 5400}
    finally:
        fresh_schema(app)  # on PostgreSQL, an empty schema of the models for the other tests


def test_unit_tallies_are_filled_from_the_units_and_kept_by_triggers_then_go_back(tmp_path):
    """0017: the tallies count the units already there, the triggers it installs keep them, and going down drops
    both (the units stay), on SQLite and PostgreSQL."""
    from datetime import date

    from portal.equipment import tally

    from .test_sweeps import filled

    app = empty_database(tmp_path)
    try:
        with app.app_context():
            upgrade(revision="0016")
            meta = sa.MetaData()
            with db.engine.begin() as conn:
                meta.reflect(conn)
                t = meta.tables
                conn.execute(t["client"].insert(), filled(t["client"], id=1))
                conn.execute(t["site"].insert(), [filled(t["site"], id=n, client_id=1, name_zh=f"校{n}") for n in (1, 2)])
                conn.execute(t["contract"].insert(), filled(t["contract"], id=1, client_id=1))
                conn.execute(t["equipment_model"].insert(), filled(t["equipment_model"], id=1, category="touch"))
                unit = dict(client_id=1, contract_id=1, model_id=1, status="in_service")
                conn.execute(t["equipment"].insert(), [
                    filled(t["equipment"], id=n, serial=f"S{n}", site_id=1 + n % 2,
                           covered_until=None if n == 0 else date(2027, 1, 1 + n % 2), **unit) for n in range(5)])
            upgrade(revision="0017")
            with db.engine.begin() as conn:
                assert tally.differences(conn) == []
                assert conn.execute(sa.text("SELECT sum(units) FROM unit_tally_client")).scalar() == 5
                conn.execute(sa.text("INSERT INTO equipment (id, client_id, site_id, contract_id, model_id, serial, "
                                     "asset_tag, building, room, status, extension_days, replacement_note, created_at, "
                                     "updated_at) VALUES (9, 1, 2, 1, 1, 'S9', '', '', '', 'in_service', 0, '', "
                                     "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
                conn.execute(sa.text("UPDATE equipment SET site_id = 2 WHERE id = 1"))
                conn.execute(sa.text("DELETE FROM equipment WHERE id = 3"))
                assert tally.differences(conn) == []
                assert conn.execute(sa.text("SELECT sum(units) FROM unit_tally_site")).scalar() == 5
            downgrade(revision="0016")
            with db.engine.begin() as conn:
                assert not {"unit_tally_site", "unit_tally_client"} & set(sa.inspect(conn).get_table_names())
                conn.execute(sa.text("DELETE FROM equipment WHERE id = 9"))  # no trigger left to name the tallies
                assert conn.execute(sa.text("SELECT count(*) FROM equipment")).scalar() == 4
    finally:
        fresh_schema(app)  # on PostgreSQL, an empty schema of the models for the other tests
