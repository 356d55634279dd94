"""``flask audit export|prune|archive|verify``: the trail's upkeep from the command line (and from cron)."""

import sys
from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from ..extensions import db
from . import retention

audit = AppGroup("audit", help="The audit trail: export, prune, archive, verify.")


def _date(value):
    return datetime.combine(value.date(), datetime.min.time(), tzinfo=UTC)


@audit.command("export")
@click.option(
    "--before",
    "before",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    required=True,
    help="Records before this day (UTC), e.g. 2026-06-01.",
)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), required=True, help="The file to write.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default=None,
    help="JSON lines (default) or CSV; by default from the file's extension.",
)
def export(before, out, fmt):
    """Write the records before a day to a file, with their hashes (an archive that can be verified)."""
    fmt = fmt or ("csv" if out.endswith(".csv") else "jsonl")
    done = retention.export(out, before=_date(before), fmt=fmt)
    retention.record_export("audit.exported", out, done, before=before.date().isoformat(), format=fmt)
    db.session.commit()
    click.echo(f"Exported {done.count} records (seq {done.first_seq}–{done.last_seq}) to {out}; sha256 {done.sha256}.")


@audit.command("prune")
def prune():
    """Delete the records older than the retention, if an export already covers them."""
    try:
        count = retention.prune()
    except retention.NotArchived as refused:
        db.session.rollback()
        click.echo(f"Not pruned: {refused}.", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Pruned {count} records older than {retention.retention_days()} days.")


@audit.command("archive")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False),
    default=None,
    help="The archive folder (default: PORTAL_AUDIT_ARCHIVE_DIR).",
)
def archive(folder):
    """What the daily job does: archive the records older than the retention to a file, then prune them."""
    done = retention.archive_and_prune(archive_dir=folder)
    click.echo(f"Archived {done['archived']} records, pruned {done['pruned']}.")


@audit.command("verify")
@click.option(
    "--file",
    "path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Verify an archive file instead of the database.",
)
@click.option("--batch", type=click.IntRange(100, 100_000), default=retention.BATCH, show_default=True)
def verify(path, batch):
    """Walk the hash chain: exit 1 at the first gap, edited record or broken link, 0 when intact."""
    from .models import missing_triggers

    result = retention.verify_file(path) if path else retention.verify(batch=batch)
    click.echo(("OK " if result.ok else "PROBLEM ") + result.describe())
    missing = [] if path else missing_triggers(db.session.connection())
    if missing:
        click.echo(f"PROBLEM the guard of audit_event is missing: {', '.join(missing)} (records could be changed)")
    sys.exit(0 if result.ok and not missing else 1)
