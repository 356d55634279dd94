"""The job worker: Huey (a kept task queue with a scheduler) runs the periodic jobs (``portal.jobs.schedule``) and
the tasks the web processes enqueue (waking the delivery of notifications after a commit).

Where the queue lives: in a SQLite file under instance/ by default (nothing to install, one host), in Redis when
``REDIS_URL`` is set (several hosts, several workers). Run the worker with ``flask jobs worker`` (the CLI's
application), or with Huey's own consumer, ``huey_consumer portal.jobs.huey -w 2 -k thread`` (the application is then
created from the environment when the first task runs). Every task runs inside a Flask application context.

The web processes enqueue; they never run a task themselves. A periodic job may be enqueued by several workers at
once (each worker's scheduler enqueues it): a Huey lock lets one run at a time, and the database keeps each event
and each notification at most once whatever runs twice.
"""

import functools
import logging
import signal
import threading
import time
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, g, has_app_context
from huey import Huey, crontab, signals
from huey import consumer as huey_consumer
from huey import storage as huey_storage

from .. import logs, metrics

log = logging.getLogger(__name__)


class SqliteStorage(huey_storage.SqliteStorage):
    """Huey's SQLite storage, with locks that expire: a worker killed in the middle of a job does not keep the job's
    lock for ever (Huey's own SQLite storage has no expiry; its Redis storages do)."""

    def put_if_empty(self, key, value, ttl=None):
        if ttl is None:
            return super().put_if_empty(key, value)
        now = time.time()
        with self.db(commit=True) as curs:
            curs.execute(
                "delete from kv where queue = ? and key = ? and cast(value as real) < ?", (self.name, key, now)
            )
            curs.execute(
                "insert or ignore into kv (queue, key, value) values (?, ?, ?)",
                (self.name, key, self.to_blob(str(now + ttl).encode())),
            )
            return curs.rowcount == 1


class Jobs(Huey):
    """The portal's Huey: its storage is chosen from the application's configuration (``configure``), and it knows
    the application its tasks run in."""

    def __init__(self):
        super().__init__("portal", results=False, utc=True, storage_class=huey_storage.MemoryStorage)
        self.flask_app = None
        self.zone = ZoneInfo("Asia/Shanghai")
        self._app_lock = threading.Lock()

    def configure(self, app):
        """Point the queue at the storage ``app``'s configuration names (see ``portal.config``)."""
        config = app.config
        kind = config["JOBS_STORAGE"] or (
            "memory" if config.get("TESTING") else "redis" if config["REDIS_URL"] else "sqlite"
        )
        self.name = config["JOBS_NAME"]
        if kind == "redis":
            from redis import ConnectionPool

            # A short connect timeout: an enqueue after a request's commit never hangs on an unreachable Redis.
            pool = ConnectionPool.from_url(config["REDIS_URL"], socket_connect_timeout=3, socket_timeout=10)
            self.storage_class, self.storage_kwargs = huey_storage.PriorityRedisExpireStorage, {"connection_pool": pool}
        elif kind == "sqlite":
            Path(config["JOBS_DB"]).parent.mkdir(parents=True, exist_ok=True)  # instance/ on a fresh clone
            self.storage_class, self.storage_kwargs = SqliteStorage, {"filename": config["JOBS_DB"]}
        elif kind == "memory":
            self.storage_class, self.storage_kwargs = huey_storage.MemoryStorage, {}
        else:
            raise RuntimeError(f"PORTAL_JOBS_STORAGE: {kind!r} is none of redis, sqlite, memory.")
        self.storage = self.create_storage()
        self.zone = ZoneInfo(config["BABEL_DEFAULT_TIMEZONE"])
        self.flask_app = app

    def application(self):
        """The application tasks run in: the current one (a command's, a test's), the one this queue was configured
        for, or (under ``huey_consumer``) one created from the environment."""
        if has_app_context():
            return current_app._get_current_object()
        with self._app_lock:
            if self.flask_app is None:
                from .. import create_app

                create_app()  # configures this queue, and sets flask_app
            return self.flask_app

    def execute(self, task, timestamp=None):
        """Run ``task`` with its context set for the log lines (its id and name, the request that enqueued it):
        Huey's own lines about the task carry them too."""
        token = logs.JOB.set(logs.job_context(task))
        try:
            return super().execute(task, timestamp)
        finally:
            logs.JOB.reset(token)


huey = Jobs()


@huey.signal(signals.SIGNAL_ENQUEUED)
def _carry_request_id(signal, task):
    """A task enqueued by a request (or by a job that one enqueued) carries that request's id to the worker."""
    request_id = logs.current_request_id()
    if request_id:
        task.kwargs[logs.REQUEST_ID_KWARG] = request_id


@huey.signal(signals.SIGNAL_EXECUTING)
def _count_run(signal, task):
    metrics.job_started(task.name)


@huey.signal(signals.SIGNAL_ERROR, signals.SIGNAL_TIMEOUT)
def _count_failure(signal, task, *args):
    metrics.job_failed(task.name)


def in_app(fn):
    """Run ``fn`` inside an application context of its own (a session of its own, removed at the end). Every task
    of the portal goes through here: the id of the request that enqueued it is taken off its arguments (the log
    lines have it from ``Jobs.execute``)."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        kwargs.pop(logs.REQUEST_ID_KWARG, None)
        with huey.application().app_context():
            g.job = fn.__name__  # commits inside a job do not wake the worker (see ``_committed``)
            return fn(*args, **kwargs)

    return run


# ---------------------------------------------------------------- periodic jobs


class Job:
    """A periodic job: its crontab (in the deployment's time zone), how long its lock may be held, and the function
    (``fn(now=None)`` returning counts) that ``flask jobs run`` and ``flask sweep`` call too."""

    def __init__(self, name, when, fn, lock_minutes, cron):
        self.name, self.when, self.fn, self.cron = name, when, fn, cron
        self.lock = huey.lock_task(f"job:{name}", ttl=lock_minutes * 60)
        self.matches = crontab(strict=True, **cron)

    @property
    def summary(self):
        return " ".join((self.fn.__doc__ or "").split()).split(". ")[0].rstrip(".")

    def due(self, timestamp):
        """Huey's scheduler asks with a naive UTC time; the crontab reads the deployment's local time."""
        return self.matches(timestamp.replace(tzinfo=UTC).astimezone(huey.zone))

    def run(self, now=None):
        """Run now, unless another worker (or command) runs this job at this moment: TaskLockedException."""
        with self.lock:
            return self.fn(now=now)


JOBS = {}


def periodic(name, when, lock_minutes=15, **cron):
    """Register ``fn`` as the periodic job ``name``: ``when`` says its schedule in words (``flask jobs list``)."""

    def decorator(fn):
        job = Job(name, when, fn, lock_minutes, cron)
        JOBS[name] = job
        huey.periodic_task(job.due, name=f"job:{name}")(in_app(job.run))
        return fn

    return decorator


def run_job(name, now=None):
    return JOBS[name].run(now=now)


# ---------------------------------------------------------------- waking the worker


@huey.task(name="deliver_now", priority=10)
@in_app
def deliver_now():
    """Deliver what is due now: enqueued when a commit wrote notifications, so the worker need not wait for the
    minute's delivery job."""
    from ..notify.delivery import deliver_due

    return deliver_due()


@huey.task(name="ping")
@in_app
def ping(token):
    """A diagnostic: the worker answers under ``pong:<token>`` with the database it reached (``flask jobs ping``)."""
    from ..extensions import db

    huey.put(
        f"pong:{token}",
        {"database": db.engine.dialect.name, "users": db.session.scalar(sa.text("SELECT count(*) FROM user_account"))},
    )


@huey.task(name="audit_verify")
@in_app
def audit_verify():
    """Verify the audit trail's hash chain and record the result (asked for from the auditor's page)."""
    from ..audit import retention

    return retention.verify_and_record().ok


def kick():
    """Enqueue a delivery now. Never fails its caller (a request that has committed): the minute's delivery job
    catches up whatever a lost kick left."""
    try:
        deliver_now()
    except Exception:  # noqa: BLE001 - the queue is down: logged, and the periodic delivery catches up
        log.exception("Could not wake the job worker (the next minute's delivery will send it)")


def _committed(session):
    """After a commit that wrote notifications (``tell`` sets ``notify_kick``), wake the worker; inside a job the
    minute's delivery job sends them."""
    if not session.info.pop("notify_kick", False):
        return
    if has_app_context() and g.get("job"):
        return
    kick()


class Consumer(huey_consumer.Consumer):
    """Huey's consumer, stopping gracefully on SIGTERM as on SIGINT: the running jobs finish (for up to the shutdown
    timeout), nothing new starts."""

    def _set_signal_handlers(self):
        self._signal_actions[signal.SIGTERM] = (False, True)
        super()._set_signal_handlers()


def init_app(app):
    huey.configure(app)
    if not sa.event.contains(sa.orm.Session, "after_commit", _committed):  # once per process, however many apps
        sa.event.listen(sa.orm.Session, "after_commit", _committed)
    from .cli import jobs

    app.cli.add_command(jobs)


from . import schedule  # noqa: E402,F401 - the periodic jobs, registered on ``huey``
