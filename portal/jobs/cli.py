"""``flask jobs worker`` (the worker and its scheduler), ``flask jobs list`` (the schedule), ``flask jobs run NAME``
(one periodic job now, e.g. from cron), ``flask jobs ping`` (is a worker running?)."""

import secrets
import sys
import time

import click
from flask import current_app
from flask.cli import AppGroup
from huey.exceptions import TaskLockedException

from . import JOBS, Consumer, huey, ping, run_job

jobs = AppGroup("jobs", help="The job worker and the periodic jobs.")


@jobs.command("worker")
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(1, 64),
    default=None,
    help="Threads running tasks (default: PORTAL_JOBS_WORKERS, 2).",
)
@click.option("--no-periodic", is_flag=True, help="Run enqueued tasks only; another worker runs the schedule.")
@click.option(
    "--shutdown-timeout",
    type=click.FloatRange(0, 3600),
    default=60,
    show_default=True,
    help="Seconds the running jobs get to finish after SIGTERM or Ctrl-C.",
)
def worker(workers, no_periodic, shutdown_timeout):
    """Run the job worker: the periodic jobs and the enqueued tasks, until SIGTERM or Ctrl-C (graceful)."""
    huey.flask_app = current_app._get_current_object()  # tasks run in this application
    consumer = Consumer(
        huey,
        workers=workers or current_app.config["JOBS_WORKERS"],
        worker_type="thread",
        periodic=not no_periodic,
        shutdown_timeout=shutdown_timeout,
    )
    consumer.run()


@jobs.command("list")
def list_jobs():
    """The periodic jobs and when they run (in the deployment's time zone)."""
    click.echo(f"Time zone: {huey.zone.key}; queue: {huey.storage_class.__name__} ({huey.name}).")
    for job in JOBS.values():
        click.echo(f"  {job.name:<12} {job.when:<28} {job.summary}")


@jobs.command("run")
@click.argument("name", type=click.Choice(list(JOBS)))
def run(name):
    """Run one periodic job now (what the worker runs on its schedule), e.g. from cron instead of a worker."""
    try:
        done = run_job(name)
    except TaskLockedException:
        click.echo(f"{name}: running elsewhere right now (a worker holds its lock); not run.", err=True)
        sys.exit(1)
    click.echo(f"{name}: {done}")


@jobs.command("ping")
@click.option("--timeout", type=float, default=10, show_default=True)
def ping_command(timeout):
    """Enqueue a diagnostic task and wait for a worker to answer it."""
    token = secrets.token_hex(8)
    ping(token)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = huey.get(f"pong:{token}")
        if answer is not None:
            click.echo(f"A worker answered: {answer}")
            return
        time.sleep(0.2)
    click.echo("No worker answered.", err=True)
    sys.exit(1)
