"""The hash chain: each record carries the SHA-256 of its own fields and of the record before it.

Writing takes the chain's lock first (PostgreSQL: a transaction-scoped advisory lock; SQLite: the write transaction
is already the only one, ``BEGIN IMMEDIATE``, see ``portal.database``), reads the last (seq, hash) and numbers the new
records on from it, so two writers never both append after the same record (no fork) and the numbers have no gap.
The lock is taken at the end of the transaction (the records are written just before its commit, see ``hooks``), so
it is held for milliseconds.
"""

import hashlib
import json
import re
from datetime import UTC

import sqlalchemy as sa

from .models import DETAILS_MAX, AuditEvent

# pg_advisory_xact_lock's two-key form (two int4): the portal's "audit chain" lock. Written into the statement, not
# bound: a constant of the code, and no parameter beyond int4 reaches the database (tests/test_fuzz.py watches that).
CHAIN_LOCK = (0x4155_4454, 18)  # "AUDT", issue 18
FIELDS = (
    "seq",
    "at",
    "user_id",
    "user_email",
    "user_name",
    "role",
    "client_id",
    "address",
    "event",
    "target_type",
    "target_id",
    "target_label",
    "result",
    "details",
    "request_id",
    "prev_hash",
)
LIMITS = {
    "user_email": 254,
    "user_name": 100,
    "role": 32,
    "address": 64,
    "event": 80,
    "target_type": 40,
    "target_id": 64,
    "target_label": 200,
    "request_id": 64,
}


def moment(at):
    """A time as the chain hashes it: UTC to the microsecond, the same string whatever the database gave back (an
    archive's records carry it already as this string)."""
    if isinstance(at, str):
        return at
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(row):
    """The record's fields (a mapping or an AuditEvent) as one JSON text: sorted keys, no spaces, UTF-8."""
    get = row.get if isinstance(row, dict) else (lambda name: getattr(row, name))
    values = {name: get(name) for name in FIELDS}
    values["at"] = moment(values["at"])
    return json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def digest(row):
    return hashlib.sha256(canonical(row).encode("utf-8")).hexdigest()


CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def visible(text):
    """Text with its control characters written out (``\\x1b``): a refused request's path is kept as it came, but no
    control character is stored (the portal stores none anywhere, ``portal.bounds``)."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def short(value):
    """A detail as it is kept: numbers, booleans and None as they are, anything else as text of at most 500
    characters; a list or dict of them (e.g. a change's old and new value)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [short(v) for v in value[:20]]
    if isinstance(value, dict):
        return {visible(str(k)[:60]): short(v) for k, v in list(value.items())[:40]}
    return visible(str(value)[:500])


def details_json(details):
    """The details as canonical JSON, at most DETAILS_MAX characters: when longer, the largest values are cut down
    and the record says so (``truncated``)."""
    kept = {str(k)[:60]: short(v) for k, v in (details or {}).items()}
    text = json.dumps(kept, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    if len(text) <= DETAILS_MAX:
        return text
    kept = {k: (v if len(json.dumps(v, ensure_ascii=False)) <= 200 else str(v)[:200]) for k, v in kept.items()}
    kept["truncated"] = True
    text = json.dumps(kept, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    while len(text) > DETAILS_MAX and len(kept) > 1:  # still too long: drop the last keys
        kept.pop(sorted(k for k in kept if k != "truncated")[-1])
        text = json.dumps(kept, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text


def lock(connection):
    """The chain's lock, until the end of the transaction."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock({:d}, {:d})".format(*CHAIN_LOCK))


def last(connection):
    """(seq, hash) of the chain's last record, (0, "") before the first."""
    table = AuditEvent.__table__
    row = connection.execute(sa.select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)).first()
    return (row.seq, row.hash) if row else (0, "")


def append(connection, rows):
    """Append ``rows`` (dicts of the fields but seq, prev_hash and hash) to the chain in the caller's transaction:
    lock, number, hash, one INSERT. Returns the rows as written."""
    if not rows:
        return []
    lock(connection)
    seq, prev = last(connection)
    written = []
    for row in rows:
        seq += 1
        row = {
            **{k: (visible(v)[: LIMITS[k]] if k in LIMITS and isinstance(v, str) else v) for k, v in row.items()},
            "seq": seq,
            "prev_hash": prev,
        }
        row["hash"] = prev = digest(row)
        written.append(row)
    connection.execute(AuditEvent.__table__.insert(), written)
    return written
