"""Fixtures: a fresh application and database per test, on SQLite or, with TEST_DATABASE_URL, PostgreSQL.

No test holds an application context while it uses the test client: each request gets its own
context, as in production (a context held open would share ``g`` and the session between requests).
"""
import os
import threading

import pytest
import sqlalchemy as sa
from flask_login import FlaskLoginClient

from portal import create_app
from portal.extensions import db

from .factories import Factory, World

DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "sqlite://")
TEST_CONFIG = {
    "TESTING": True,
    "PORTAL_ENV": "test",
    "SECRET_KEY": "test-secret",
    "WTF_CSRF_ENABLED": False,
    "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
    "SERVER_NAME": None,
}
if DATABASE_URL.startswith("postgresql"):
    # Tests commit after every factory call; waiting for each commit to reach the disk only slows them down.
    TEST_CONFIG["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": "-c synchronous_commit=off"}}


class Browser(FlaskLoginClient):
    """The test client, reading every response to its end before handing it over, as a browser does: a streamed
    export a test only looks at the status of is not left open to be closed later, in another test's context.
    A test that reads a stream piece by piece asks for ``buffered=False``.

    ``app.test_client(user=…)`` is signed in as the sign-in form would: a sign-in session row, its id and the time
    of the last activity in the cookie (``portal.auth.gate.load_user`` accepts nothing less)."""

    def __init__(self, *args, **kwargs):
        user = kwargs.get("user")
        super().__init__(*args, **kwargs)
        if user is not None:
            from portal.auth.gate import now_seconds
            from portal.auth.services import open_session

            with self.application.app_context():
                _, token = open_session(user, address="127.0.0.1", user_agent="Werkzeug test client")
                db.session.commit()
            with self.session_transaction() as session:
                session["sid"], session["seen"] = token, now_seconds()

    def open(self, *args, buffered=True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


def make_app(**overrides):
    app = create_app({**TEST_CONFIG, **overrides})
    app.test_client_class = Browser
    return app


def reset_database(app):
    """Leave the database empty: on PostgreSQL, delete every row (children first; for a test's few rows this is
    several times faster than TRUNCATE, and no test depends on ids starting at 1); SQLite in memory just goes away."""
    with app.app_context():
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                # The audit trail refuses deletions (portal.audit.models): the tests' superuser lifts its guard
                # for this cleaning only, in this transaction.
                conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER USER")
                for table in reversed(db.metadata.sorted_tables):
                    conn.execute(table.delete())
                conn.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER USER")
        db.engine.dispose()


def fresh_schema(app):
    """Drop whatever a previous run (or a migration test) left in the PostgreSQL test database, create the models'
    schema (on SQLite: create it)."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        db.create_all()
        db.engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def _fresh_schema():
    """Once per run: a fresh schema."""
    fresh_schema(make_app())
    yield


@pytest.fixture
def app(tmp_path):
    app = make_app(STORAGE_DIR=str(tmp_path / "files"))  # uploaded documents: a folder of this test's own
    if not DATABASE_URL.startswith("postgresql"):  # PostgreSQL keeps the schema made once per run
        with app.app_context():
            db.create_all()  # a new in-memory SQLite database each time
    yield app
    reset_database(app)


@pytest.fixture
def make(app):
    return Factory(app)


@pytest.fixture
def world(make):
    return World(make)


@pytest.fixture
def client(app):
    return app.test_client()


class QueryCounter:
    def __init__(self):
        self.statements = []

    def __call__(self, conn, cursor, statement, *args):
        self.statements.append(statement)

    @property
    def count(self):
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """``with count_queries() as counter: ...`` counts the SQL statements the block sends."""
    from contextlib import contextmanager

    @contextmanager
    def counting():
        counter = QueryCounter()
        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            sa.event.remove(engine, "before_cursor_execute", counter)

    return counting


@pytest.fixture(scope="session")
def cal():
    """China's official 2025–2026 schedule (holidays and swapped working days), as a BusinessCalendar."""
    from portal.sla.calendar import BusinessCalendar
    from portal.sla.holidays import library_schedule

    holidays, workdays, years = library_schedule(2025)
    return BusinessCalendar(holidays=holidays, workdays=workdays, confirmed_years=years)


@pytest.fixture
def shared(tmp_path):
    """The application on a database several connections share: a SQLite file (in memory, every thread would have
    a database of its own), or the PostgreSQL test database."""
    if DATABASE_URL.startswith("postgresql"):
        url = DATABASE_URL
    else:
        url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    app = make_app(SQLALCHEMY_DATABASE_URI=url, STORAGE_DIR=str(tmp_path / "files"))
    if url.startswith("sqlite"):
        with app.app_context():
            db.create_all()
    yield app
    reset_database(app)


def at_once(*calls):
    """Run every call in a thread of its own, all released at the same moment; their results (or exceptions)."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            results[i] = error

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return results


# ---------------------------------------------------------------- S3-compatible storage: a real server


@pytest.fixture(scope="session")
def s3_server():
    """moto's standalone S3 server on a free local port, for the whole run: its endpoint URL."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")  # moto takes any; boto3 wants some
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_config(s3_server):
    """The settings of a bucket of this test's own on the S3 server (created here)."""
    import uuid

    import boto3

    bucket = f"portal-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket=bucket)
    return {"STORAGE": "s3", "S3_ENDPOINT_URL": s3_server, "S3_BUCKET": bucket, "S3_REGION": "us-east-1",
            "S3_ACCESS_KEY_ID": "testing", "S3_SECRET_ACCESS_KEY": "testing", "S3_PREFIX": "portal"}


@pytest.fixture
def s3_app(tmp_path, s3_config):
    """The application with its files in the S3 bucket of this test."""
    app = make_app(STORAGE_DIR=str(tmp_path / "unused"), **s3_config)
    if not DATABASE_URL.startswith("postgresql"):
        with app.app_context():
            db.create_all()
    yield app
    reset_database(app)
