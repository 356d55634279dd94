"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from portal.extensions import db
from portal.search import include_name

from .conftest import DATABASE_URL, fresh_schema, make_app


def empty_database(tmp_path, **overrides):
    """A database with nothing in it: a new SQLite file, or the test PostgreSQL database emptied. Its files (if a
    migration writes any) in a folder of the test's own."""
    overrides = {"STORAGE_DIR": str(tmp_path / "files"), **overrides}
    if DATABASE_URL.startswith("postgresql"):
        app = make_app(**overrides)
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        return app
    return make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'migrated.sqlite'}", **overrides)


def test_upgrade_matches_the_models_and_downgrade_undoes_it(tmp_path):
    app = empty_database(tmp_path)
    try:
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                diff = compare_metadata(
                    MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name}),
                    db.metadata,
                )
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
                    conn.execute(
                        t["ticket"].insert(),
                        filled(
                            t["ticket"],
                            id=n,
                            client_id=1,
                            site_id=1,
                            number=f"GZ-2026-{n:05d}",
                            status="responded",
                            kind="unknown",
                            channel="portal",
                            coverage="in_warranty",
                            severity="B",
                            clock="24x7",
                            paused_minutes=minutes,
                        ),
                    )
            upgrade(revision="0015")
            with db.engine.begin() as conn:
                assert dict(conn.execute(sa.text("SELECT id, paused_seconds FROM ticket")).all()) == {
                    1: 0,
                    2: 120,
                    3: 5400,
                }
                conn.execute(sa.text("UPDATE ticket SET paused_seconds = 125 WHERE id = 2"))
                conn.execute(sa.text("UPDATE ticket SET paused_seconds = 29 WHERE id = 1"))
            downgrade(revision="0014")
            with db.engine.connect() as conn:
                assert dict(conn.execute(sa.text("SELECT id, paused_minutes FROM ticket")).all()) == {1: 0, 2: 2, 3: 90}
            upgrade(revision="0015")
            with db.engine.connect() as conn:
                assert dict(conn.execute(sa.text("SELECT id, paused_seconds FROM ticket")).all()) == {
                    1: 0,
                    2: 120,
                    3: 5400,
                }
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
                conn.execute(
                    t["site"].insert(), [filled(t["site"], id=n, client_id=1, name_zh=f"校{n}") for n in (1, 2)]
                )
                conn.execute(t["contract"].insert(), filled(t["contract"], id=1, client_id=1))
                conn.execute(t["equipment_model"].insert(), filled(t["equipment_model"], id=1, category="touch"))
                unit = dict(client_id=1, contract_id=1, model_id=1, status="in_service")
                conn.execute(
                    t["equipment"].insert(),
                    [
                        filled(
                            t["equipment"],
                            id=n,
                            serial=f"S{n}",
                            site_id=1 + n % 2,
                            covered_until=None if n == 0 else date(2027, 1, 1 + n % 2),
                            **unit,
                        )
                        for n in range(5)
                    ],
                )
            upgrade(revision="0017")
            with db.engine.begin() as conn:
                assert tally.differences(conn) == []
                assert conn.execute(sa.text("SELECT sum(units) FROM unit_tally_client")).scalar() == 5
                conn.execute(
                    sa.text(
                        "INSERT INTO equipment (id, client_id, site_id, contract_id, model_id, serial, "
                        "asset_tag, building, room, status, extension_days, replacement_note, created_at, "
                        "updated_at) VALUES (9, 1, 2, 1, 1, 'S9', '', '', '', 'in_service', 0, '', "
                        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    )
                )
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


def search_objects(conn):
    """The search indexes in the database: SQLite's FTS5 tables and triggers, PostgreSQL's trigram indexes."""
    if conn.dialect.name == "sqlite":
        return set(
            conn.execute(
                sa.text(
                    "SELECT name FROM sqlite_master WHERE name LIKE '%\\_fts%' ESCAPE '\\' "
                    "AND type IN ('table', 'trigger')"
                )
            ).scalars()
        )
    return set(conn.execute(sa.text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%\\_trgm'")).scalars())


def test_the_search_indexes_find_the_rows_already_there_and_go_back(tmp_path):
    """0019: units and tickets stored before it are found through the new indexes (SQLite: the FTS5 tables are
    filled from the rows), and its downgrade removes every object it made, on SQLite and PostgreSQL."""
    from portal.equipment.models import Equipment
    from portal.search import matches
    from portal.tickets.models import Ticket

    from .test_sweeps import filled

    app = empty_database(tmp_path)
    try:
        with app.app_context():
            upgrade(revision="0018")
            meta = sa.MetaData()
            with db.engine.begin() as conn:
                assert search_objects(conn) == set()
                meta.reflect(conn)
                t = meta.tables
                conn.execute(t["client"].insert(), filled(t["client"], id=1))
                conn.execute(t["site"].insert(), filled(t["site"], id=1, client_id=1))
                conn.execute(t["contract"].insert(), filled(t["contract"], id=1, client_id=1))
                conn.execute(t["equipment_model"].insert(), filled(t["equipment_model"], id=1, category="touch"))
                conn.execute(
                    t["equipment"].insert(),
                    [
                        filled(
                            t["equipment"],
                            id=n,
                            client_id=1,
                            site_id=1,
                            contract_id=1,
                            model_id=1,
                            serial=serial,
                            status="in_service",
                        )
                        for n, serial in enumerate(["SN-ABC-123", "SN-XYZ-456"], start=1)
                    ],
                )
                conn.execute(
                    t["ticket"].insert(),
                    filled(
                        t["ticket"],
                        id=1,
                        client_id=1,
                        site_id=1,
                        number="GZ-2026-00001",
                        status="new",
                        kind="unknown",
                        channel="portal",
                        coverage="in_warranty",
                        severity="B",
                        clock="24x7",
                        title="白板不亮",
                    ),
                )
            upgrade(revision="0019")
            with db.engine.connect() as conn:
                expected = (
                    {
                        "equipment_fts",
                        "equipment_fts_insert",
                        "equipment_fts_delete",
                        "equipment_fts_update",
                        "ticket_fts",
                        "ticket_fts_insert",
                        "ticket_fts_delete",
                        "ticket_fts_update",
                    }
                    if conn.dialect.name == "sqlite"
                    else {
                        "ix_equipment_serial_trgm",
                        "ix_equipment_asset_tag_trgm",
                        "ix_equipment_building_trgm",
                        "ix_equipment_room_trgm",
                        "ix_ticket_number_trgm",
                        "ix_ticket_title_trgm",
                        "ix_ticket_equipment_text_trgm",
                    }
                )
                assert expected <= search_objects(conn)
                assert conn.execute(
                    sa.select(Equipment.serial).where(matches("abc-1", Equipment.serial))
                ).scalars().all() == ["SN-ABC-123"]
                assert conn.execute(
                    sa.select(Ticket.number).where(matches("白板不", Ticket.title))
                ).scalars().all() == ["GZ-2026-00001"]
            downgrade(revision="0018")
            with db.engine.connect() as conn:
                assert search_objects(conn) == set()
    finally:
        fresh_schema(app)  # on PostgreSQL, an empty schema of the models for the other tests


@pytest.fixture(params=["folder", "s3"])
def files_config(request, tmp_path):
    """The storage a migration writes to: a folder, or a bucket on the tests' S3 server."""
    if request.param == "folder":
        return {"STORAGE_DIR": str(tmp_path / "files")}
    return request.getfixturevalue("s3_config")


def test_photos_and_attachments_move_to_storage_and_back(tmp_path, files_config):
    """0030: every photo's and attachment's bytes are written to storage, the rows name them with their SHA-256 and
    documents-check finds nothing wrong; going down puts the same bytes back in the rows; going up again (as after
    a failed run) writes the same keys, leaving no file that no row names."""
    import hashlib
    import os

    from portal.storage import storage

    from .test_sweeps import filled

    app = empty_database(tmp_path, **files_config)
    blobs = {
        "ticket_photo": [os.urandom(3000), b"\x89PNG small", b""],
        "complaint_attachment": [os.urandom(70_000)],
        "visit_attachment": [os.urandom(10), os.urandom(20)],
    }
    parents = {"ticket_photo": "ticket_id", "complaint_attachment": "complaint_id", "visit_attachment": "visit_id"}
    try:
        with app.app_context():
            upgrade(revision="0029")
            meta = sa.MetaData()
            with db.engine.begin() as conn:
                meta.reflect(conn)
                t = meta.tables
                for name in ("client", "contract"):
                    conn.execute(
                        t[name].insert(),
                        filled(t[name], id=1, **({"client_id": 1} if "client_id" in t[name].c else {})),
                    )
                conn.execute(t["site"].insert(), filled(t["site"], id=1, client_id=1))
                conn.execute(
                    t["ticket"].insert(),
                    filled(
                        t["ticket"],
                        id=1,
                        client_id=1,
                        site_id=1,
                        number="GZ-1",
                        status="responded",
                        kind="unknown",
                        channel="portal",
                        coverage="in_warranty",
                        severity="B",
                        clock="24x7",
                    ),
                )
                conn.execute(
                    t["complaint"].insert(),
                    filled(t["complaint"], id=1, client_id=1, number="TS-1", status="new", category="attitude"),
                )
                conn.execute(
                    t["visit"].insert(),
                    filled(
                        t["visit"], id=1, client_id=1, site_id=1, contract_id=1, kind="inspection", status="scheduled"
                    ),
                )
                for name, datas in blobs.items():
                    conn.execute(
                        t[name].insert(),
                        [
                            filled(t[name], id=n, data=data, size=0, **{parents[name]: 1})
                            for n, data in enumerate(datas, start=1)
                        ],
                    )

            def stored():
                """{(table, id): (key, sha256, size, bytes in storage)} after the upgrade."""
                found = {}
                with db.engine.connect() as conn:
                    for name in blobs:
                        for id_, key, sha256, size in conn.execute(
                            sa.text(f"SELECT id, storage_key, sha256, size FROM {name}")
                        ):  # nosec B608  # our names
                            with storage().open(key) as handle:
                                found[name, id_] = (key, sha256, size, handle.read())
                return found

            upgrade(revision="0030")
            first = stored()
            assert {k: v[3] for k, v in first.items()} == {
                (name, n): data for name, datas in blobs.items() for n, data in enumerate(datas, start=1)
            }
            assert all(
                sha256 == hashlib.sha256(data).hexdigest() and size == len(data)
                for _, sha256, size, data in first.values()
            )
            listed = sorted(item.key for item in storage().listing())
            assert listed == sorted(v[0] for v in first.values())
            with db.engine.connect() as conn:
                assert "data" not in {c["name"] for c in sa.inspect(conn).get_columns("ticket_photo")}
        result = app.test_cli_runner().invoke(args=["documents-check"])
        assert result.exit_code == 0 and "Stored files checked: 6, problems: 0." in result.output, result.output
        with app.app_context():
            downgrade(revision="0029")
            with db.engine.connect() as conn:
                for name, datas in blobs.items():
                    assert dict(conn.execute(sa.text(f"SELECT id, data FROM {name}")).all()) == {  # nosec B608
                        n: data for n, data in enumerate(datas, start=1)
                    }
                assert "storage_key" not in {c["name"] for c in sa.inspect(conn).get_columns("visit_attachment")}
            upgrade(revision="0030")
            assert stored() == first
            assert sorted(item.key for item in storage().listing()) == listed
    finally:
        fresh_schema(app)  # on PostgreSQL, an empty schema of the models for the other tests
