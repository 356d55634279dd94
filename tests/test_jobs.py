"""The job worker (``portal.jobs``): the schedule in Beijing time, the locks, a real worker process on a SQLite
queue and (with TEST_REDIS_URL) on Redis, two workers doing a job's work once, and the wake-up after a commit."""

import os
import subprocess
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from huey.exceptions import TaskLockedException

from portal.extensions import db
from portal.jobs import JOBS, huey, ping, run_job
from portal.notify import scheduled
from portal.notify.models import Notification
from portal.notify.services import managers, tell
from portal.tickets.models import CLOCKS, Ticket, TicketEvent
from portal.types import utcnow

from .conftest import at_once, make_app
from .factories import Factory, World

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(
    not REDIS_URL and os.environ.get("PORTAL_REQUIRE_REDIS") != "1", reason="TEST_REDIS_URL is not set"
)


def redis_url():
    assert REDIS_URL, "PORTAL_REQUIRE_REDIS=1 but TEST_REDIS_URL is not set"
    return REDIS_URL


# ---------------------------------------------------------------- the schedule


def test_the_schedule_reads_beijing_time():
    utc = datetime  # Huey's scheduler asks with naive UTC times
    assert JOBS["tickets"].due(utc(2026, 3, 2, 5, 17)) and JOBS["deliver"].due(utc(2026, 3, 2, 5, 17))
    assert JOBS["complaints"].due(utc(2026, 3, 2, 5, 15)) and not JOBS["complaints"].due(utc(2026, 3, 2, 5, 17))
    # 08:00 in Beijing is 00:00 UTC.
    assert JOBS["inspections"].due(utc(2026, 3, 2, 0, 0)) and JOBS["digests"].due(utc(2026, 3, 2, 0, 0))
    assert not JOBS["inspections"].due(utc(2026, 3, 2, 8, 0))
    # The 1st of the month at 08:00 in Beijing (00:00 UTC); 00:00 in Beijing is the day before in UTC.
    assert JOBS["warranty"].due(utc(2026, 4, 1, 0, 0))
    assert not JOBS["warranty"].due(utc(2026, 3, 31, 16, 0)) and not JOBS["warranty"].due(utc(2026, 4, 2, 0, 0))
    assert set(JOBS) == {
        "tickets",
        "deliver",
        "quotes",
        "auto-close",
        "complaints",
        "inspections",
        "digests",
        "warranty",
        "forget",
        "audit",
    }


def test_a_job_held_by_another_worker_does_not_run(app, world):
    job = JOBS["tickets"]
    with app.app_context():
        with job.lock:
            with pytest.raises(TaskLockedException):
                run_job("tickets")
        assert run_job("tickets")["breaches"] == 0  # released: it runs


def test_the_cli_lists_and_runs_the_jobs(app, world):
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["jobs", "list"])
    assert "warranty" in listed.output and "Asia/Shanghai" in listed.output
    ran = runner.invoke(args=["jobs", "run", "complaints"])
    assert ran.exit_code == 0 and "overdue" in ran.output
    assert runner.invoke(args=["jobs", "run", "nothing"]).exit_code != 0


def test_each_job_runs_twice_and_tells_nobody_twice(app, world):
    """The notification-making jobs, one after the other and again: the second round writes nothing."""
    names = ("tickets", "quotes", "auto-close", "complaints", "inspections", "warranty", "forget")
    later = utcnow() + timedelta(days=2)
    with app.app_context():
        first = {name: run_job(name, now=later) for name in names}
        count = db.session.scalar(sa.select(sa.func.count(Notification.id)))
        second = {name: run_job(name, now=later) for name in names}
        assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == count
    assert first["tickets"]["no_response"] > 0 and first["complaints"]["overdue"] > 0
    assert second["tickets"]["no_response"] == 0 and second["complaints"]["overdue"] == 0


# ---------------------------------------------------------------- two at once


def test_two_sweeps_at_once_tell_each_user_once(shared):
    """Real threads (on PostgreSQL, real concurrent transactions), past the Huey lock: the database alone keeps
    each notification once."""
    world = World(Factory(shared))
    with shared.app_context():
        ticket = db.session.get(Ticket, world.ticket_a.id)
        now = ticket.filed_at + timedelta(hours=25)
        before = db.session.scalar(sa.select(sa.func.max(Notification.id))) or 0  # the world's own notifications

    def sweep():
        with shared.app_context():
            return scheduled.tickets_without_response(now) + scheduled.complaints_overdue(now)

    results = at_once(sweep, sweep, sweep)
    assert not [r for r in results if isinstance(r, BaseException)], results
    with shared.app_context():
        keys = db.session.execute(
            sa.select(Notification.user_id, Notification.key).where(Notification.id > before)
        ).all()
    assert len(keys) == len(set(keys)) == sum(results)
    assert (world.a_admin.id, f"no_response:{world.ticket_a.id}") in keys


def test_two_job_runs_at_once_one_runs_the_other_is_locked_out(shared):
    World(Factory(shared))

    def job():
        with shared.app_context():
            try:
                return run_job("tickets", now=utcnow() + timedelta(days=2))
            except TaskLockedException:
                return "locked"

    results = at_once(job, job)
    assert not [r for r in results if isinstance(r, BaseException)], results
    with shared.app_context():
        events = db.session.execute(
            sa.select(TicketEvent.ticket_id, TicketEvent.key).where(TicketEvent.key.is_not(None))
        ).all()
        breached = db.session.execute(
            sa.select(Notification.user_id, Notification.key).where(Notification.kind == "ticket.breached")
        ).all()
    assert len(events) == len(set(events)) > 0
    assert len(breached) == len(set(breached)) > 0


# ---------------------------------------------------------------- waking the worker


def test_a_commit_that_told_someone_enqueues_one_delivery(app, world):
    huey.flush()
    with app.test_request_context(method="POST"):
        db.session.commit()
        assert huey.pending_count() == 0  # nothing told: nothing to wake
        ticket = db.session.get(Ticket, world.ticket_a.id)
        tell("ticket.breached", ticket, managers(), number=ticket.number, clock="response", due_at=None)
        tell("ticket.breached", ticket, managers(), number=ticket.number, clock="proposal", due_at=None)
        assert huey.pending_count() == 0  # not before the commit
        db.session.commit()
    assert [task.name for task in huey.pending()] == ["deliver_now"]
    # In tests nothing ran: the delivery stub would have raised.
    huey.flush()


def test_a_queue_that_is_down_never_breaks_the_commit(app, world, caplog):
    from huey import storage
    from redis import ConnectionPool

    before = huey.storage
    huey.storage = storage.RedisStorage(
        "portal", connection_pool=ConnectionPool.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    )
    try:
        with app.test_request_context(method="POST"):
            ticket = db.session.get(Ticket, world.ticket_a.id)
            tell("ticket.breached", ticket, managers(), number=ticket.number, clock="response", due_at=None)
            db.session.commit()
    finally:
        huey.storage = before
    assert "Could not wake the job worker" in caplog.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Notification.kind == "ticket.breached")) == 1


def test_a_fresh_checkout_has_no_instance_folder_and_the_queue_makes_its_own(tmp_path):
    """On a fresh clone instance/ does not exist yet: the application (and its queue's SQLite file) starts all the
    same, and an enqueued task is kept in that file."""
    folder = tmp_path / "not-yet" / "instance"
    before = huey.storage, huey.flask_app, huey.name
    try:
        app = make_app(JOBS_STORAGE="sqlite", JOBS_DB=str(folder / "jobs.sqlite"), JOBS_NAME="fresh")
        with app.app_context():
            ping("fresh")
        assert (folder / "jobs.sqlite").is_file() and huey.pending_count() == 1
    finally:
        huey.storage, huey.flask_app, huey.name = before


def test_in_immediate_mode_a_task_runs_inline_in_the_application(app):
    huey.immediate = True
    try:
        with app.app_context():
            ping("inline")
            assert huey.get("pong:inline") == {"database": db.engine.dialect.name, "users": 0}
    finally:
        huey.immediate = False


# ---------------------------------------------------------------- a real worker


@pytest.fixture
def filed(tmp_path):
    """A SQLite file database holding the test world, with one fault filed long ago (its clocks all breached,
    nothing recorded yet); the environment a worker process needs to reach it."""
    url = f"sqlite:///{tmp_path / 'portal.sqlite'}"
    app = make_app(SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS={})
    with app.app_context():
        db.create_all()
    make = Factory(app)
    world = World(make)
    old = make.ticket(world.a_school, world.a_site1, world.unit_a1, now=utcnow() - timedelta(days=30))
    with app.app_context():  # every clock ran out an hour ago: recent breaches, which the managers are told of
        hour_ago = utcnow() - timedelta(hours=1)
        db.session.execute(
            sa.update(Ticket)
            .where(Ticket.id == old.id)
            .values(
                watch_at=hour_ago,
                **{f"{clock}_due": hour_ago for clock in CLOCKS},
                **{f"{clock}_risk": hour_ago - timedelta(hours=1) for clock in CLOCKS},
            )
        )
        db.session.commit()
    env = {
        **os.environ,
        "FLASK_APP": "app",
        "PORTAL_ENV": "development",
        "DATABASE_URL": url,
        "PORTAL_JOBS_DB": str(tmp_path / "jobs.sqlite"),
        "PORTAL_JOBS_NAME": f"test-{uuid.uuid4().hex[:8]}",
    }
    env.pop("REDIS_URL", None)
    return app, world, old, env


def start_worker(env, log):
    return subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "flask"), "jobs", "worker", "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def stop(process):
    process.terminate()  # SIGTERM: a graceful stop
    assert process.wait(30) == 0


def queue_of(env, app_db):
    """An application configured like the worker's: the same queue."""
    overrides = {
        "JOBS_STORAGE": "redis" if env.get("REDIS_URL") else "sqlite",
        "JOBS_DB": env["PORTAL_JOBS_DB"],
        "JOBS_NAME": env["PORTAL_JOBS_NAME"],
        "REDIS_URL": env.get("REDIS_URL"),
        "SQLALCHEMY_DATABASE_URI": app_db,
        "SQLALCHEMY_ENGINE_OPTIONS": {},
    }
    return make_app(**overrides)


def wait_for(check, seconds=45):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    return check()


def breaches_of(app, ticket):
    with app.app_context():
        return db.session.scalars(
            sa.select(TicketEvent.key).where(TicketEvent.ticket_id == ticket.id, TicketEvent.key.is_not(None))
        ).all()


def managers_told(app, ticket):
    with app.app_context():
        return db.session.execute(
            sa.select(Notification.user_id, Notification.key).where(
                Notification.kind == "ticket.breached", Notification.subject_id == ticket.id
            )
        ).all()


def check_worker(filed, tmp_path, workers=1):
    app, world, old, env = filed
    queue_app = queue_of(env, app.config["SQLALCHEMY_DATABASE_URI"])
    logs = [open(tmp_path / f"worker{i}.log", "w") for i in range(workers)]
    processes = [start_worker(env, log) for log in logs]
    try:
        # A periodic job: the minute's ticket sweep runs as the worker starts, and records the breaches.
        assert wait_for(lambda: len(breaches_of(app, old)) == 4), (tmp_path / "worker0.log").read_text()
        # An enqueued task: the diagnostic answers, from inside the application (it reached the database).
        token = uuid.uuid4().hex
        with queue_app.app_context():
            ping(token)
        answer = wait_for(lambda: huey.get(f"pong:{token}"))
        assert answer == {
            "database": "sqlite",
            "users": len(world.by_role()) + 3,
        }  # the world: its roles and three more
        time.sleep(2)  # every worker has had its go at the sweep
    finally:
        for process in processes:
            stop(process)
    assert sorted(breaches_of(app, old)) == sorted(
        f"breach:{c}" for c in ("response", "proposal", "on_site", "resolution")
    )
    told = managers_told(app, old)
    assert len(told) == len(set(told)) == 4 and {user for user, _ in told} == {world.manager.id}
    return [(tmp_path / f"worker{i}.log").read_text() for i in range(workers)]


def test_a_worker_on_a_sqlite_queue_runs_the_schedule_and_the_enqueued_tasks(filed, tmp_path):
    (log,) = check_worker(filed, tmp_path)
    assert "Shutting down gracefully" in log


@needs_redis
def test_a_worker_on_redis(filed, tmp_path):
    filed[3]["REDIS_URL"] = redis_url()
    check_worker(filed, tmp_path)


@needs_redis
def test_two_workers_on_redis_do_the_work_once(filed, tmp_path):
    filed[3]["REDIS_URL"] = redis_url()
    logs = check_worker(filed, tmp_path, workers=2)
    # Both schedulers enqueued the minute's sweep; the lock or the database kept its effect single.
    assert all("Enqueueing periodic task portal.jobs.job:tickets" in log for log in logs)


def test_no_page_view_runs_a_sweep():
    """The sweeps are called by the jobs, the commands and the services' steps, never by a view module."""
    for path in (ROOT / "portal").rglob("views.py"):
        text = path.read_text()
        for name in (
            "import scheduled",
            "notify.scheduled",
            "record_breaches(",
            "close_unconfirmed(",
            "expire_quotes(",
            "sweeps.run",
            "sweeps import run",
            "run_job(",
            ".jobs",
        ):
            assert name not in text, (path, name)
