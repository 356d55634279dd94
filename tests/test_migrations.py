"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from portal.extensions import db

from .conftest import DATABASE_URL, make_app


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
