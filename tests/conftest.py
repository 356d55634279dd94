"""Fixtures: one application per run, its database emptied after each test, on SQLite or, with TEST_DATABASE_URL,
PostgreSQL (see ``SessionApp``).

No test holds an application context while it uses the test client: each request gets its own
context, as in production (a context held open would share ``g`` and the session between requests).
"""

import copy
import os
import pickle
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_login import FlaskLoginClient

from portal import create_app
from portal.extensions import db
from portal.jobs import huey

from .factories import Factory, World


def for_this_worker(database_url, redis_url, worker):
    """Under pytest-xdist (``make test``), each worker its own PostgreSQL database (``<name>_gw0``, …, made when
    missing) and its own Redis database number (the given one plus the worker's number): the workers' tests
    empty and fill their databases at the same time. SQLite in memory is each process's own already."""
    if not worker:
        return database_url, redis_url
    number = int(worker.removeprefix("gw"))
    if database_url.startswith("postgresql"):
        url = sa.engine.make_url(database_url)
        name = f"{url.database}_{worker}"
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                if conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
                    conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        finally:
            engine.dispose()
        database_url = url.set(database=name).render_as_string(hide_password=False)
    if redis_url:
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(redis_url)
        base = int(parts.path.strip("/") or 0)
        redis_url = urlunsplit(parts._replace(path=f"/{base + number}"))
    return database_url, redis_url


DATABASE_URL, REDIS_URL = for_this_worker(
    os.environ.get("TEST_DATABASE_URL", "sqlite://"),
    os.environ.get("TEST_REDIS_URL"),
    os.environ.get("PYTEST_XDIST_WORKER"),
)
if REDIS_URL:
    os.environ["TEST_REDIS_URL"] = REDIS_URL  # tests/test_jobs.py reads it
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


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
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


class SessionApp:
    """The one application of the run (``create_app`` once, the schema once), put back as it was before each test:
    its configuration and extensions, its job queue, and its database's rows (SQLite: a copy of a pristine in-memory
    database by sqlite3's backup API; PostgreSQL: every row deleted, as before). Tests that need another
    configuration from the start call ``make_app`` for an application of their own.

    ``world`` snapshots: the first test of a module that asks for ``world`` builds it; its rows (and files, and the
    jobs it queued) are kept, and each later test of the module starts from them instead of building it again."""

    WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "TRUNCATE", "WITH")

    def __init__(self, root):
        self.root = root
        self.app = make_app(STORAGE_DIR=str(root / "files"))
        self.config = dict(self.app.config)
        self.extensions = dict(self.app.extensions)
        self.mail = dict(vars(self.app.extensions["mailman"]))
        with self.app.app_context():
            self.engine = db.engine
            self.sqlite = self.engine.dialect.name == "sqlite"
            if self.sqlite:
                db.create_all()
        self.pristine = self.snapshot() if self.sqlite else ()
        self.written = False
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        self.worlds = {}

    def _seen(self, conn, cursor, statement, *args):
        if not self.written and statement.lstrip().upper().startswith(self.WRITES):
            self.written = True

    def start(self, storage_dir):
        """Before a test: the configuration the run started with, this test's own storage folder, an empty job
        queue; the database is empty (the previous test's ``finish`` emptied it)."""
        app = self.app
        app.config.clear()
        app.config.update(copy.deepcopy(self.config), STORAGE_DIR=str(storage_dir))  # a test may change a dict in it
        app.extensions.clear()
        app.extensions.update(self.extensions)
        vars(app.extensions["mailman"]).update(self.mail)
        huey.configure(app)  # a fresh in-memory queue, and tasks run in this application again
        self.written = False
        return app

    def finish(self):
        """After a test: every row gone."""
        if self.sqlite:
            self.restore(self.pristine)
        else:
            reset_database(self.app)

    def snapshot(self):
        """The database's rows as they are: an in-memory SQLite copy, or each PostgreSQL table's rows."""
        with self.app.app_context():
            db.session.remove()
            if self.sqlite:
                copy = sqlite3.connect(":memory:", check_same_thread=False)
                raw = self.engine.raw_connection()
                try:
                    raw.driver_connection.backup(copy)
                finally:
                    raw.close()
                return copy
            with self.engine.connect() as conn:
                return [
                    (table, [dict(row) for row in conn.execute(table.select()).mappings()])
                    for table in db.metadata.sorted_tables
                ]

    def restore(self, snapshot):
        """The database as ``snapshot`` holds it, and nothing else."""
        with self.app.app_context():
            db.session.remove()
            if self.sqlite:
                self.engine.dispose()  # a new in-memory database (StaticPool: one connection)
                raw = self.engine.raw_connection()
                try:
                    snapshot.backup(raw.driver_connection)
                finally:
                    raw.close()
                return
            with self.engine.begin() as conn:
                # The tests' superuser turns off the triggers (the audit trail's guard, the foreign keys' checks)
                # for this transaction only: the rows go back as they were, in any order.
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
                for table, _rows in snapshot:
                    conn.execute(table.delete())
                for table, rows in snapshot:
                    if rows:
                        conn.execute(table.insert(), rows)

    def empty(self):
        """Whether this test found the database empty and wrote nothing to it yet (on PostgreSQL, another application
        of the test's, such as a module's live server, may have filled it)."""
        if self.written:
            return False
        if self.sqlite:
            return True
        with self.app.app_context(), self.engine.connect() as conn:
            found = conn.execute(
                sa.union_all(
                    *(sa.select(sa.literal(1)).select_from(table).limit(1) for table in db.metadata.sorted_tables)
                )
            ).first()
        self.written = False  # what the check itself sent
        return found is None

    def world(self, key, make, storage_dir):
        """The ``World`` of module ``key``: built by its first test (on an empty database), then restored."""
        if not self.empty():  # rows are there already: build the world among them, and keep nothing
            return World(make)
        saved = self.worlds.get(key)
        if saved is None:
            world = World(make)
            world.make = None
            files = self.root / "worlds" / str(len(self.worlds))
            shutil.copytree(storage_dir, files) if storage_dir.exists() else files.mkdir(parents=True)
            self.worlds[key] = (pickle.dumps(world), self.snapshot(), files, queued())
            world.make = make
            return world
        pickled, rows, files, queue = saved
        self.restore(rows)
        shutil.rmtree(storage_dir, ignore_errors=True)
        shutil.copytree(files, storage_dir)
        vars(huey.storage).update(copy.deepcopy(queue))
        world = pickle.loads(pickled)
        world.make = make
        return world


def queued():
    """What the in-memory job queue holds (Huey's MemoryStorage: its queue, schedule, results and counters)."""
    return copy.deepcopy({name: value for name, value in vars(huey.storage).items() if name != "_lock"})


@pytest.fixture(scope="session")
def _session_app(tmp_path_factory):
    return SessionApp(tmp_path_factory.mktemp("session-app"))


@pytest.fixture
def app(_session_app, tmp_path):
    """The run's application, as it was at the start, on an empty database; uploaded documents go to a folder of
    this test's own."""
    yield _session_app.start(tmp_path / "files")
    _session_app.finish()


@pytest.fixture
def own_app(tmp_path):
    """An application of this test's own, for a test that changes its set-up (adds a route: the run's application
    takes none once it has served a request, and must not keep it), on an empty database emptied afterwards."""
    app = make_app(STORAGE_DIR=str(tmp_path / "files"))
    if not DATABASE_URL.startswith("postgresql"):  # PostgreSQL keeps the schema made once per run
        with app.app_context():
            db.create_all()  # a new in-memory SQLite database
    yield app
    reset_database(app)


@pytest.fixture
def make(app):
    return Factory(app)


@pytest.fixture
def world(request, make, _session_app):
    if make.app is not _session_app.app:  # a module's own ``app`` (tests/test_steps.py: the shared database)
        return World(make)
    return _session_app.world(request.module.__name__, make, Path(make.app.config["STORAGE_DIR"]))


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
    boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=bucket)
    return {
        "STORAGE": "s3",
        "S3_ENDPOINT_URL": s3_server,
        "S3_BUCKET": bucket,
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": "testing",
        "S3_SECRET_ACCESS_KEY": "testing",
        "S3_PREFIX": "portal",
    }


@pytest.fixture
def s3_app(tmp_path, s3_config):
    """The application with its files in the S3 bucket of this test."""
    app = make_app(STORAGE_DIR=str(tmp_path / "unused"), **s3_config)
    if not DATABASE_URL.startswith("postgresql"):
        with app.app_context():
            db.create_all()
    yield app
    reset_database(app)
