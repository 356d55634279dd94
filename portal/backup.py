"""``flask backup`` and ``flask restore``: the database and the stored files in one dated archive that restores.

The archive (``portal-backup-YYYYMMDDTHHMMSSZ.tar``, or ``.tar.gz``) holds the database dump (``database.pgdump``:
``pg_dump``'s custom format; ``database.sqlite``: a copy made by SQLite's online backup API), ``files/<key>`` for
every file a row of the dump names, and ``manifest.json`` last, with the SHA-256 and size of every other member.

Consistency without stopping the portal: the database is copied first (PostgreSQL: a repeatable-read transaction
exports its snapshot, ``pg_dump --snapshot`` dumps exactly it, and the rows that name files are read in the same
transaction; SQLite: the rows are read from the copy). Then the files those rows name are copied. A file is kept
only after its row commits and is never changed under its key (``portal.storage``), so every file of the snapshot's
rows is there; files added later are simply not in the archive. A row whose file is missing is a warning of the
manifest, not a failure.

Only the ``Storage`` methods are used (listing, open, put, exists, delete): it works with any backend.
"""

import glob
import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess  # nosec B404  # pg_dump and pg_restore, run with argument lists
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from .extensions import db
from .storage import CHUNK, FINAL_KEY, file_rows, staged_key, storage

FORMAT = 1
MANIFEST = "manifest.json"
NAME = re.compile(r"portal-backup-\d{8}T\d{6}Z\.tar(\.gz)?")
DATABASE_MEMBERS = {"postgresql": "database.pgdump", "sqlite": "database.sqlite"}
ALEMBIC_TABLE = "alembic_version"


class BackupError(Exception):
    """Why a backup or a restore cannot be done (said to the operator as it is)."""


class Hashing:
    """A stream read through, its SHA-256 and size counted on the way."""

    def __init__(self, stream):
        self.stream, self.digest, self.size = stream, hashlib.sha256(), 0

    def read(self, size=-1):
        chunk = self.stream.read(size)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk

    def entry(self, name):
        return {"name": name, "sha256": self.digest.hexdigest(), "size": self.size}


@dataclass
class Snapshot:
    """What the database dump holds: its file, and what was read from the same snapshot."""

    path: Path
    revision: str | None
    tables: dict
    rows: list  # (key, sha256, label) of the rows that name files
    warnings: list = field(default_factory=list)


# ---------------------------------------------------------------- the database: PostgreSQL


def server_major(connection):
    return int(connection.exec_driver_sql("SHOW server_version_num").scalar()) // 10000


def tool_major(path):
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout  # nosec B603
    found = re.search(r"\(PostgreSQL\) (\d+)", out)
    return int(found.group(1)) if found else 0


def pg_tool(name, server):
    """The path of ``name`` (pg_dump, pg_restore) at least as new as the server: on PATH, else in Debian's
    /usr/lib/postgresql/<version>/bin (the newest first)."""
    candidates = [found] if (found := shutil.which(name)) else []
    candidates += sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(re.search(r"/(\d+)/bin/", p).group(1)),
        reverse=True,
    )
    seen = []
    for path in candidates:
        major = tool_major(path)
        if major >= server:
            return path
        seen.append(f"{path} ({major})")
    if not seen:
        raise BackupError(
            f"{name} is not installed (Debian: apt-get install postgresql-client-{server}); it is "
            "looked for on PATH and in /usr/lib/postgresql/*/bin."
        )
    raise BackupError(
        f"{name} is older than the PostgreSQL {server} server: found {', '.join(seen)}. Install "
        f"postgresql-client-{server} or newer, or put its bin folder first on PATH."
    )


def libpq(url):
    """The connection string and environment for pg_dump/pg_restore: the password in PGPASSWORD, never on a
    command line that ``ps`` shows."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    dsn = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return dsn, env


def dump_postgresql(engine, folder):
    """pg_dump of one exported snapshot, the rows that name files read in the same transaction."""
    path = folder / DATABASE_MEMBERS["postgresql"]
    with engine.connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True) as conn:
        snapshot_id = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
        pg_dump = pg_tool("pg_dump", server_major(conn))
        revision, tables = describe(conn)
        rows = file_rows(conn)
        dsn, env = libpq(engine.url)
        done = subprocess.run(  # nosec B603  # an argument list, no shell
            [
                pg_dump,
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot_id}",
                f"--file={path}",
                f"--dbname={dsn}",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        conn.rollback()
    if done.returncode:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    return Snapshot(path, revision, tables, rows)


# ---------------------------------------------------------------- the database: SQLite


def sqlite_copy(source, target):
    """Copy one SQLite connection's database into another with the online backup API: one step, under a read
    lock that does not stop writers (WAL)."""
    source.backup(target)


def dump_sqlite(engine, folder):
    path = folder / DATABASE_MEMBERS["sqlite"]
    raw = engine.raw_connection()
    try:
        with sqlite3.connect(path) as target:
            sqlite_copy(raw.driver_connection, target)
        target.close()
    finally:
        raw.close()
    copy = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
    try:
        with copy.connect() as conn:
            revision, tables = describe(conn)
            rows = file_rows(conn)
    finally:
        copy.dispose()
    return Snapshot(path, revision, tables, rows)


def describe(connection):
    """The Alembic revision (None for a schema made without migrations) and every table's row count."""
    names = sa.inspect(connection).get_table_names()
    revision = None
    if ALEMBIC_TABLE in names:
        revision = connection.execute(sa.text(f"SELECT version_num FROM {ALEMBIC_TABLE}")).scalar()  # nosec B608
    counts = {}
    for name in sorted(names):
        table = sa.table(name)
        counts[name] = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar()
    return revision, counts


# ---------------------------------------------------------------- backup


def backup_name(now):
    return f"portal-backup-{now:%Y%m%dT%H%M%SZ}.tar"


def backup(output, *, gzip=False, now=None):
    """Write an archive into ``output``; returns (its path, its manifest)."""
    now = now or datetime.now(UTC)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    final = output / (backup_name(now) + (".gz" if gzip else ""))
    if final.exists():
        raise BackupError(f"{final} exists already.")
    engine = db.engine
    dump = {"postgresql": dump_postgresql, "sqlite": dump_sqlite}.get(engine.dialect.name)
    if dump is None:
        raise BackupError(f"No backup for a {engine.dialect.name} database.")
    db.session.remove()
    store = storage()
    with tempfile.TemporaryDirectory(prefix=".portal-backup-", dir=output) as folder:
        snapshot = dump(engine, Path(folder))
        partial = Path(folder) / (final.name + ".partial")
        members, files, sizes = [], 0, 0
        with open(partial, "wb") as out:
            with tarfile.open(fileobj=out, mode="w:gz" if gzip else "w", format=tarfile.PAX_FORMAT) as tar:
                with open(snapshot.path, "rb") as handle:
                    members.append(add(tar, snapshot.path.name, handle, snapshot.path.stat().st_size, now))
                listed = {item.key: item.size for item in store.listing()}  # after the snapshot: its files are there
                for key, sha256, label in snapshot.rows:
                    entry = add_file(tar, store, listed, key, now)
                    if entry is None:
                        snapshot.warnings.append(f"missing: {label} ({key})")
                        continue
                    if entry["sha256"] != sha256:
                        snapshot.warnings.append(f"differs: {label} ({key}): not the file uploaded")
                    members.append(entry)
                    files, sizes = files + 1, sizes + entry["size"]
                manifest = {
                    "format": FORMAT,
                    "portal_version": importlib.metadata.version("portal"),
                    "alembic_revision": snapshot.revision,
                    "engine": engine.dialect.name,
                    "database": snapshot.path.name,
                    "created": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
                    "counts": {
                        "tables": snapshot.tables,
                        "rows": sum(snapshot.tables.values()),
                        "files": files,
                        "file_bytes": sizes,
                    },
                    "members": members,
                    "warnings": snapshot.warnings,
                }
                data = json.dumps(manifest, indent=1, ensure_ascii=False).encode()
                add(tar, MANIFEST, io.BytesIO(data), len(data), now)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, final)
    sync_folder(output)
    return final, manifest


def add(tar, name, stream, size, now):
    """One member, streamed (never all in memory), its hash counted while written."""
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(now.timestamp()), 0o600
    reader = Hashing(stream)
    tar.addfile(info, reader)
    return reader.entry(name)


def add_file(tar, store, listed, key, now):
    """``files/<key>``: the kept file, or the staged one of a row committed a moment ago (kept meanwhile: read
    under its key). None when neither is there."""
    for name in (key, staged_key(key)):
        if name not in listed:
            continue
        for attempt in dict.fromkeys((name, key)):
            try:
                handle = store.open(attempt)
            except FileNotFoundError:
                continue
            with handle:
                return add(tar, f"files/{key}", handle, listed[name], now)
    return None


def sync_folder(folder):
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename is on disk
    finally:
        os.close(fd)


def prune(output, keep):
    """Remove all but the newest ``keep`` archives of ``output`` (only the portal's own names); the removed."""
    archives = sorted(p for p in Path(output).iterdir() if NAME.fullmatch(p.name))
    removed = archives[:-keep] if keep else archives
    for path in removed:
        path.unlink()
    return removed


# ---------------------------------------------------------------- verify


def verify(path):
    """Check every member's SHA-256 and size against the manifest, and that the archive holds nothing else; the
    manifest, or BackupError with every problem found."""
    seen, manifest, problems = {}, None, []
    try:
        with tarfile.open(path, "r|*") as tar:
            for member in tar:
                if not member.isreg():
                    problems.append(f"{member.name}: not a regular file")
                    continue
                if member.name in seen or (member.name == MANIFEST and manifest is not None):
                    problems.append(f"{member.name}: twice in the archive")
                    continue
                stream = tar.extractfile(member)
                if member.name == MANIFEST:
                    manifest = read_manifest(stream)
                    continue
                reader = Hashing(stream)
                while reader.read(CHUNK):
                    pass
                seen[member.name] = reader.entry(member.name)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BackupError(f"{path}: not a readable archive ({error}).") from None
    if manifest is None:
        raise BackupError(f"{path}: no manifest.")
    expected = {entry["name"]: entry for entry in manifest["members"]}
    for name, entry in expected.items():
        if name not in seen:
            problems.append(f"{name}: missing from the archive")
        elif seen[name] != entry:
            problems.append(f"{name}: SHA-256 or size differs from the manifest")
    problems += [f"{name}: not in the manifest" for name in seen if name not in expected]
    problems += [
        f"{name}: not a member of a portal backup"
        for name in expected
        if name != manifest.get("database")
        and not (name.startswith("files/") and FINAL_KEY.fullmatch(name[len("files/") :]))
    ]
    if manifest.get("database") not in expected:
        problems.append("the manifest names no database dump")
    if problems:
        raise BackupError(f"{path} is damaged: " + "; ".join(problems))
    return manifest


def read_manifest(stream):
    try:
        manifest = json.loads(stream.read())
        members = manifest["members"]
        if manifest["format"] == FORMAT and all(set(entry) == {"name", "sha256", "size"} for entry in members):
            return manifest
    except (ValueError, KeyError, TypeError):
        pass
    raise BackupError("the manifest is not one this portal reads (another format version, or damaged).")


# ---------------------------------------------------------------- restore


def revision_state(revision):
    """How the archive's Alembic revision stands to the code's migrations: "same", "older" (``flask db upgrade``
    after the restore), "none" (a schema made without migrations); BackupError when the code does not know it
    (the archive of a newer portal)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    from .config import ROOT

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    script = ScriptDirectory.from_config(config)
    if revision is None:
        return "none"
    if revision in script.get_heads():
        return "same"
    try:
        known = script.get_revision(revision) is not None
    except (RevisionError, CommandError):
        known = False
    if not known:
        raise BackupError(
            f"The archive's database is at revision {revision}, which this portal's code does not "
            f"know (it is at {', '.join(script.get_heads())}): it was made by a newer version. "
            "Install that version or a newer one, then restore."
        )
    return "older"


def contents(engine, store):
    """What an installation holds: its tables, the rows of the portal's own (not the Alembic revision, nor the
    search indexes' inner tables a migrated schema starts with), its kept files."""
    with engine.connect() as conn:
        _revision, tables = describe(conn)
    kept = sum(1 for item in store.listing() if not item.staged)
    rows = {table.name: tables[table.name] for table in db.metadata.sorted_tables if tables.get(table.name)}
    return tables, rows, kept


@dataclass
class Restored:
    manifest: dict
    revision: str  # revision_state()
    differences: list  # (table, rows in the archive, rows restored)
    checked: int  # rows that name files, checked against storage
    findings: list  # portal.storage.Finding


def restore(path, *, force=False, confirm=None, echo=lambda text: None):
    """Restore an archive into the configured database and storage, which must be empty unless ``force``
    (then ``confirm(what)`` is asked first). Every hash is checked before anything is changed."""
    manifest = verify(path)
    engine = db.engine
    if manifest["engine"] != engine.dialect.name:
        raise BackupError(
            f"The archive holds a {manifest['engine']} database; this portal is configured for "
            f"{engine.dialect.name}. Restore it into the same kind of database."
        )
    state = revision_state(manifest["alembic_revision"])
    db.session.remove()
    store = storage()
    tables, rows, kept = contents(engine, store)
    if rows or kept:
        what = " and ".join(
            (
                [
                    f"the database's {len(tables)} tables ({sum(rows.values())} rows, in "
                    f"{', '.join(sorted(rows)[:8])}{' …' if len(rows) > 8 else ''})"
                ]
                if rows
                else []
            )
            + (
                [
                    f"the {kept} files in storage (those of the archive's names; the others are left as orphans for "
                    "`flask documents-check --clean`)"
                ]
                if kept
                else []
            )
        )
        if not force:
            raise BackupError(
                f"This installation is not empty: {what} would be replaced. Restore into an empty "
                "database and storage, or give --force."
            )
        if confirm:
            confirm(what)
    echo(f"Archive verified: {len(manifest['members'])} members. Restoring the database…")
    database = manifest["database"]
    expected = {entry["name"]: entry for entry in manifest["members"]}
    put = 0
    with tempfile.TemporaryDirectory(prefix="portal-restore-") as folder, tarfile.open(path, "r|*") as tar:
        for member in tar:
            if member.name == MANIFEST:
                continue
            reader = Hashing(tar.extractfile(member))
            if member.name == database:
                dump = Path(folder) / database
                with open(dump, "wb") as out:
                    shutil.copyfileobj(reader, out, CHUNK)
                same_as_verified(reader, expected[member.name])
                (restore_postgresql if engine.dialect.name == "postgresql" else restore_sqlite)(engine, dump, tables)
                os.unlink(dump)
                echo(f"Database restored; putting {manifest['counts']['files']} files into storage…")
            else:
                key = member.name[len("files/") :]
                store.put(key, reader)
                try:
                    same_as_verified(reader, expected[member.name])
                except BackupError:
                    store.delete(key)
                    raise
                put += 1
    engine.dispose()
    with engine.connect() as conn:
        _revision, now = describe(conn)
    differences = [
        (name, count, now.get(name)) for name, count in manifest["counts"]["tables"].items() if now.get(name) != count
    ]
    from .storage import audit

    def load():
        rows = file_rows(db.session)
        db.session.rollback()
        return rows

    checked, findings = audit(store, load)
    return Restored(manifest, state, differences, checked, findings)


def same_as_verified(reader, entry):
    """The member read now is the one verified a moment ago (the archive was not changed in between)."""
    if reader.entry(entry["name"]) != entry:
        raise BackupError(f"{entry['name']} changed since the archive was verified: restore stopped.")


def restore_postgresql(engine, dump, tables):
    """Into an empty schema (the schema emptied first when it has tables), in one transaction."""
    with engine.connect() as conn:
        pg_restore = pg_tool("pg_restore", server_major(conn))
        conn.rollback()
    if tables:
        with engine.begin() as conn:
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
            quoted = engine.dialect.identifier_preparer.quote_identifier(schema)
            conn.exec_driver_sql(f"DROP SCHEMA {quoted} CASCADE")
            conn.exec_driver_sql(f"CREATE SCHEMA {quoted}")
    engine.dispose()
    dsn, env = libpq(engine.url)
    done = subprocess.run(  # nosec B603  # an argument list, no shell
        [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={dsn}",
            str(dump),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()}")


def restore_sqlite(engine, dump, _tables):
    """Copied into the configured database with the backup API (which replaces the whole of it)."""
    engine.dispose()
    raw = engine.raw_connection()
    try:
        with sqlite3.connect(dump) as source:
            sqlite_copy(source, raw.driver_connection)
        source.close()
    finally:
        raw.close()
    engine.dispose()
