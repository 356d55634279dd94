"""Keeping, archiving, pruning and checking the trail.

Retention: ``PORTAL_AUDIT_RETENTION_DAYS`` days online, never fewer than 180 (a smaller value is raised, with a
warning); the database's trigger refuses to delete anything younger than 180 days whatever the configuration says.

Pruning never loses a record: it deletes only records that an export has already written out, and only a prefix of
the chain. The safe design chosen: ``prune`` refuses (``NotArchived``) unless an ``audit.exported`` or
``audit.archived`` record covers every record it would delete; the daily job (``archive_and_prune``) first writes
the records to a file under ``PORTAL_AUDIT_ARCHIVE_DIR`` (JSON lines with every field and both hashes, flushed to
disk), records that, then prunes. Pruning records ``audit.pruned`` with the last pruned record's seq and hash, in the
same transaction as the deletion: ``verify`` anchors the remaining chain on it, and an archive is checked against it
(``verify_file``).

Verification walks the chain in seq order, a batch at a time (bounded memory for millions of rows), and reports the
first gap (a missing seq), edited record (its hash does not match its fields) or broken link (its prev_hash is not
the hash of the record before it). A deleted record at the very end cannot be told from no record at all (a hash
chain's limit): the archive files and the daily ``audit.verified`` records bound what that could hide.
"""

import csv
import hashlib
import json
import logging
import os
import warnings
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from ..extensions import db
from ..types import utcnow
from . import chain, hooks
from .models import MIN_RETENTION_DAYS, AuditEvent

log = logging.getLogger(__name__)
BATCH = 5000
EXPORT_EVENTS = ("audit.exported", "audit.archived")
COLUMNS = ("seq",) + tuple(f for f in chain.FIELDS if f != "seq") + ("hash",)


def check_config(app):
    """Fewer than 180 days is not allowed (Cybersecurity Law art. 21): raised to 180, with a warning."""
    days = app.config.get("AUDIT_RETENTION_DAYS") or MIN_RETENTION_DAYS
    if days < MIN_RETENTION_DAYS:
        message = (
            f"PORTAL_AUDIT_RETENTION_DAYS={days} is below the legal minimum: audit records are kept "
            f"{MIN_RETENTION_DAYS} days."
        )
        warnings.warn(message, stacklevel=2)
        log.warning(message)
        days = MIN_RETENTION_DAYS
    app.config["AUDIT_RETENTION_DAYS"] = days


def retention_days():
    from flask import current_app

    return max(current_app.config.get("AUDIT_RETENTION_DAYS") or MIN_RETENTION_DAYS, MIN_RETENTION_DAYS)


def cutoff(now=None):
    return (now or utcnow()) - timedelta(days=retention_days())


def system_record(event, result="ok", **details):
    """A record of the trail's own upkeep, in the current transaction (the caller commits)."""
    chain.append(db.session.connection(), [hooks.row_of(hooks.entry(event, result, None, None, details))])


def as_dict(row):
    values = {name: getattr(row, name) for name in COLUMNS}
    values["at"] = chain.moment(values["at"])
    return values


def batches(*criteria, after=0, batch=BATCH):
    """The records meeting ``criteria`` in seq order, a batch (one query) at a time: keyset on seq."""
    table = AuditEvent.__table__
    while True:
        rows = db.session.execute(
            sa.select(table).where(table.c.seq > after, *criteria).order_by(table.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield rows
        after = rows[-1].seq


# ---------------------------------------------------------------- export


@dataclass
class Exported:
    count: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str = ""
    sha256: str = ""


def export(out, *, before=None, upto_seq=None, fmt="jsonl"):
    """Write the records older than ``before`` (and/or up to ``upto_seq``) to the file ``out``, in seq order, every
    field and both hashes, so that an archive can be verified on its own. Returns what it wrote."""
    table = AuditEvent.__table__
    criteria = []
    if before is not None:
        criteria.append(table.c.at < before)
    if upto_seq is not None:
        criteria.append(table.c.seq <= upto_seq)
    done = Exported()
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle) if fmt == "csv" else None
        if writer:
            writer.writerow(COLUMNS)
        for rows in batches(*criteria):
            for row in rows:
                values = as_dict(row)
                if writer:
                    writer.writerow(["" if values[c] is None else values[c] for c in COLUMNS])
                else:
                    handle.write(json.dumps(values, ensure_ascii=False, sort_keys=True) + "\n")
                done.count += 1
                done.first_seq = done.first_seq or row.seq
                done.last_seq, done.last_hash = row.seq, row.hash
        handle.flush()
        os.fsync(handle.fileno())  # on the disk before anything is pruned
    digest.update(path.read_bytes())
    done.sha256 = digest.hexdigest()
    return done


def record_export(event, path, done, **more):
    system_record(
        event,
        file=str(path)[-200:],
        count=done.count,
        first_seq=done.first_seq,
        last_seq=done.last_seq,
        last_hash=done.last_hash,
        sha256=done.sha256,
        **more,
    )


def verify_file(path):
    """Check an archive (JSON lines or CSV) on its own: each record's hash and each link. Returns a ``Verified``."""
    path = Path(path)
    result = Verified()
    with open(path, encoding="utf-8", newline="") as handle:
        if path.suffix == ".csv":
            rows = csv.DictReader(handle)
        else:
            rows = (json.loads(line) for line in handle if line.strip())
        for values in rows:
            for key in ("seq", "user_id", "client_id"):
                values[key] = int(values[key]) if values[key] not in (None, "") else None
            result.check(values)
            if result.problem:
                break
    return result


# ---------------------------------------------------------------- prune


class NotArchived(Exception):
    """Pruning would delete records no export has written out."""


def exports_cover(connection=None):
    """The last seq that exports written from the chain's start cover (0: none)."""
    table = AuditEvent.__table__
    first = db.session.scalar(sa.select(sa.func.min(table.c.seq)))
    if first is None:
        return 0
    covered = 0
    for details in db.session.scalars(
        sa.select(table.c.details).where(table.c.event.in_(EXPORT_EVENTS)).order_by(table.c.seq.desc()).limit(100)
    ):
        data = json.loads(details or "{}")
        if data.get("first_seq") and data.get("last_seq") and data["first_seq"] <= first:
            covered = max(covered, data["last_seq"])
    return covered


def prunable(now=None):
    """The last seq of the chain's prefix that is older than the retention: every record up to it is older (a
    record written later than an older one, by a few seconds, keeps it)."""
    table = AuditEvent.__table__
    young = db.session.scalar(sa.select(sa.func.min(table.c.seq)).where(table.c.at >= cutoff(now)))
    if young is None:
        return db.session.scalar(sa.select(sa.func.max(table.c.seq))) or 0
    return young - 1


def prune(now=None):
    """Delete the records older than the retention that an export covers, and record ``audit.pruned`` with the last
    one's seq and hash (the caller commits). Refuses (``NotArchived``) when older records were never exported.
    Returns how many were deleted."""
    table = AuditEvent.__table__
    chain.lock(db.session.connection())  # no record is appended meanwhile (SQLite: the write transaction)
    upto = prunable(now)
    first = db.session.scalar(sa.select(sa.func.min(table.c.seq)))
    if not upto or first is None or upto < first:
        return 0
    covered = exports_cover()
    if covered < upto:
        raise NotArchived(
            f"records up to seq {upto} are older than the retention, but exports cover only up to "
            f"{covered}: run `flask audit export` (or let the daily job archive them) first"
        )
    last = db.session.execute(sa.select(table.c.seq, table.c.hash).where(table.c.seq == upto)).one()
    if (
        db.session.get_bind().dialect.name == "postgresql"
    ):  # the application's role may not DELETE: the owner's function
        count = db.session.scalar(sa.text("SELECT audit_event_prune(:upto)"), {"upto": upto})
    else:
        count = db.session.execute(sa.delete(table).where(table.c.seq <= upto)).rowcount
    system_record(
        "audit.pruned",
        last_seq=last.seq,
        last_hash=last.hash,
        count=count,
        cutoff=cutoff(now).isoformat(timespec="seconds"),
    )
    return count


def archive_and_prune(now=None, archive_dir=None):
    """The daily job: write the records older than the retention to an archive file, record it, prune them."""
    from flask import current_app

    upto = prunable(now)
    first = db.session.scalar(sa.select(sa.func.min(AuditEvent.seq)))
    db.session.rollback()
    if not upto or first is None or upto < first:
        return {"archived": 0, "pruned": 0}
    folder = Path(archive_dir or current_app.config["AUDIT_ARCHIVE_DIR"])
    stamp = (now or utcnow()).strftime("%Y%m%dT%H%M%S")
    path = folder / f"audit-{first:012d}-{upto:012d}-{stamp}.jsonl"
    done = export(path, upto_seq=upto)
    record_export("audit.archived", path, done)
    db.session.commit()
    pruned = prune(now)
    db.session.commit()
    return {"archived": done.count, "pruned": pruned}


# ---------------------------------------------------------------- verify


@dataclass
class Verified:
    count: int = 0
    problem: str = ""  # "", "start", "gap", "edited", "link"
    seq: int | None = None  # where
    last_seq: int = 0
    last_hash: str = ""
    notes: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.problem

    def fail(self, problem, seq):
        if not self.problem:
            self.problem, self.seq = problem, seq

    def check(self, values):
        """One more record, in seq order."""
        seq = values["seq"]
        if self.count and seq != self.last_seq + 1:
            self.fail("gap", self.last_seq + 1)
        elif self.count and values["prev_hash"] != self.last_hash:
            self.fail("link", seq)
        if not self.problem and chain.digest(values) != values["hash"]:
            self.fail("edited", seq)
        self.count += 1
        self.last_seq, self.last_hash = seq, values["hash"]

    def describe(self):
        if self.ok:
            return f"intact: {self.count} records, last seq {self.last_seq}"
        what = {
            "start": "records missing at the start (no audit.pruned record accounts for them) before seq",
            "gap": "record missing: seq",
            "edited": "record changed: seq",
            "link": "chain broken (prev_hash does not match) at seq",
        }[self.problem]
        return f"{what} {self.seq}"


def _anchored(first):
    """Whether the chain's first record follows a pruned one: an ``audit.pruned`` record names its predecessor."""
    if first.seq == 1:
        return first.prev_hash == ""
    table = AuditEvent.__table__
    for details in db.session.scalars(
        sa.select(table.c.details).where(table.c.event == "audit.pruned").order_by(table.c.seq.desc()).limit(100)
    ):
        data = json.loads(details or "{}")
        if data.get("last_seq") == first.seq - 1 and data.get("last_hash") == first.prev_hash:
            return True
    return False


def verify(batch=BATCH):
    """Walk the chain (see the module's docstring). Returns a ``Verified``."""
    result = Verified()
    for rows in batches(batch=batch):
        if result.count == 0 and not _anchored(rows[0]):
            result.fail("start", rows[0].seq)
        for row in rows:
            result.check(as_dict(row))
        if result.problem:
            break
    return result


def verify_and_record():
    """Verify, and keep the result as an ``audit.verified`` record (the auditor's page shows the last one)."""
    result = verify()
    db.session.rollback()
    system_record(
        "audit.verified",
        "ok" if result.ok else "failed",
        count=result.count,
        problem=result.problem,
        seq=result.seq,
        summary=result.describe(),
    )
    db.session.commit()
    return result


def request_verify():
    """Enqueue a check of the chain for the job worker (``portal.jobs.audit_verify``)."""
    from ..jobs import audit_verify

    audit_verify()


def last_verified():
    table = AuditEvent.__table__
    return db.session.execute(
        sa.select(table.c.at, table.c.result, table.c.details)
        .where(table.c.event == "audit.verified")
        .order_by(table.c.seq.desc())
        .limit(1)
    ).first()
