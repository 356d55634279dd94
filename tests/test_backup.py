"""``flask backup`` and ``flask restore``: a world with stored documents backed up and restored into an empty
installation (a fresh database and storage folder) comes back row for row and byte for byte, with nothing missing
or orphaned; a damaged archive is refused before anything is written; a non-empty installation is refused; a
backup taken while rows and files keep being added is consistent. On SQLite, and on PostgreSQL (TEST_DATABASE_URL)
with pg_dump and pg_restore."""

import glob
import io
import json
import shutil
import tarfile
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from portal.backup import NAME, BackupError, pg_tool
from portal.extensions import db
from portal.storage import FolderStorage, audit, file_rows

from .conftest import DATABASE_URL, make_app
from .factories import Factory, World

POSTGRES = DATABASE_URL.startswith("postgresql")
# The restore's target: a database of its own beside this worker's test database (xdist: one per worker).
TARGET_DATABASE = f"{sa.engine.make_url(DATABASE_URL).database}_restore" if POSTGRES else None
HEAD = ScriptDirectory(str(Path(__file__).resolve().parent.parent / "migrations")).get_current_head()
NAMING_TABLES = ("document_version", "ticket_photo", "complaint_attachment", "visit_attachment")  # + issued PDFs
pytestmark = pytest.mark.skipif(
    POSTGRES and not (shutil.which("pg_dump") or glob.glob("/usr/lib/postgresql/*/bin/pg_dump")),
    reason="pg_dump is not installed",
)


def run(app, *args, input=None):
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    return result.exit_code, result.output


@pytest.fixture
def source(shared):
    """The installation backed up: the PostgreSQL test database, or a SQLite file, with a storage folder."""
    yield shared
    with shared.app_context():
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")  # left by `flask db stamp`
        db.engine.dispose()


@pytest.fixture
def target(tmp_path):
    """An empty installation: a database with no tables (PostgreSQL: a database of its own, dropped at the end)
    and an empty storage folder."""
    if POSTGRES:
        url = sa.engine.make_url(DATABASE_URL).set(database=TARGET_DATABASE)
        admin = sa.create_engine(DATABASE_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {TARGET_DATABASE} WITH (FORCE)")
            conn.exec_driver_sql(f"CREATE DATABASE {TARGET_DATABASE}")
        uri = url.render_as_string(hide_password=False)
    else:
        uri = f"sqlite:///{tmp_path / 'restored' / 'portal.sqlite'}"
    app = make_app(SQLALCHEMY_DATABASE_URI=uri, STORAGE_DIR=str(tmp_path / "restored-files"))
    yield app
    with app.app_context():
        db.engine.dispose()
    if POSTGRES:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {TARGET_DATABASE} WITH (FORCE)")
        admin.dispose()


def tables(app):
    """Every table's row count and its first rows (by primary key), as the database holds them."""
    found = {}
    with app.app_context():
        names = set(sa.inspect(db.engine).get_table_names())
        for table in db.metadata.sorted_tables:
            if table.name not in names:
                continue
            count = db.session.scalar(sa.select(sa.func.count()).select_from(table))
            rows = db.session.execute(sa.select(table).order_by(*table.primary_key.columns).limit(5)).all()
            found[table.name] = (count, [tuple(row) for row in rows])
        db.session.rollback()
    return found


def stored(app):
    """The kept files of an installation's storage: {key: bytes}."""
    store = FolderStorage(app.config["STORAGE_DIR"])
    return {item.key: store.open(item.key).read() for item in store.listing() if not item.staged}


def findings(app):
    with app.app_context():
        checked, found = audit(FolderStorage(app.config["STORAGE_DIR"]), lambda: file_rows(db.session))
        db.session.rollback()
    return checked, found


def archives(folder):
    return sorted(p for p in Path(folder).iterdir() if NAME.fullmatch(p.name))


def manifest_of(path):
    with tarfile.open(path) as tar:
        return json.load(tar.extractfile("manifest.json"))


def back_up(app, folder, *args):
    code, output = run(app, "backup", "--output", str(folder), *args)
    assert code == 0, output
    [path] = archives(folder)
    return path, output


def a_world(app):
    make = Factory(app)
    world = World(make)
    make.version(world.doc_a, world.manager, label="V2.0")  # a document with two versions
    return world


def empty(app):
    with app.app_context():
        names = sa.inspect(db.engine).get_table_names()
        db.engine.dispose()
    return names == [] and stored(app) == {}


# ---------------------------------------------------------------- the round trip


@pytest.mark.parametrize("gzip", [False, True])
def test_a_backup_restores_into_an_empty_installation_row_for_row_and_byte_for_byte(source, target, tmp_path, gzip):
    a_world(source)
    assert run(source, "db", "stamp", "head")[0] == 0
    path, output = back_up(source, tmp_path / "backups", *(["--gzip"] if gzip else []))
    assert path.name.endswith(".tar.gz" if gzip else ".tar")
    files = stored(source)
    named = findings(source)[0]  # the rows that name a file: document versions, issued PDFs, photos, attachments
    assert len(files) == named and named > 9  # 5 document versions and 4 issued PDFs among them
    assert f"and {named} files ({sum(map(len, files.values()))} bytes) to {path}" in output
    manifest = manifest_of(path)
    assert manifest["engine"] == ("postgresql" if POSTGRES else "sqlite") and manifest["alembic_revision"] == HEAD
    assert manifest["format"] == 1 and manifest["created"].endswith("Z") and manifest["warnings"] == []
    assert {m["name"] for m in manifest["members"]} == {manifest["database"], *(f"files/{k}" for k in files)}
    source_tables = tables(source)
    assert all(manifest["counts"]["tables"][name] == count for name, (count, _) in source_tables.items())

    code, output = run(source, "backup", "--verify", str(path))
    assert code == 0 and output.startswith(f"OK {path}: {named + 1} members") and f"revision {HEAD}" in output

    code, output = run(target, "restore", str(path))
    assert code == 0, output
    assert f"stored files checked: {named}, problems: 0." in output and "flask db upgrade" not in output
    assert tables(target) == source_tables
    assert stored(target) == files
    assert findings(target) == (named, [])
    assert run(target, "documents-check") == (0, f"Stored files checked: {named}, problems: 0.\n")
    with target.app_context():
        assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) == HEAD
    # The restored portal works: a signed-in download of a restored file.
    from portal.auth.models import User
    from portal.documents.models import DocumentVersion

    with target.app_context():
        version = db.session.scalars(sa.select(DocumentVersion).order_by(DocumentVersion.id)).first()
        manager = db.session.scalars(sa.select(User).where(User.role == "vendor_manager")).first()
        db.session.expunge_all()
    response = target.test_client(user=manager).get(f"/documents/{version.document_id}/versions/{version.id}/download")
    assert response.status_code == 200 and response.data == files[version.storage_key]


def test_an_archive_of_an_older_revision_restores_and_says_to_upgrade(source, target, tmp_path):
    a_world(source)
    assert run(source, "db", "stamp", "0028")[0] == 0
    path, _ = back_up(source, tmp_path / "backups")
    code, output = run(target, "restore", str(path))
    assert code == 0 and "at revision 0028, older than this code: run `flask db upgrade` now." in output


# ---------------------------------------------------------------- refused before anything is written


def tampered(path, member_name=None):
    """The archive with one byte of a member changed (a file's, by default) in place."""
    with tarfile.open(path) as tar:
        member = next(
            m
            for m in tar.getmembers()
            if m.name == member_name or (member_name is None and m.name.startswith("files/"))
        )
    with open(path, "r+b") as handle:
        handle.seek(member.offset_data + member.size // 2)
        byte = handle.read(1)
        handle.seek(-1, io.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 1]))
    return member.name


@pytest.mark.parametrize("member", [None, "database"])
def test_a_tampered_archive_is_refused_by_verify_and_by_restore_before_anything_is_written(
    source, target, tmp_path, member
):
    a_world(source)
    path, _ = back_up(source, tmp_path / "backups")
    name = tampered(path, member and manifest_of(path)["database"])
    code, output = run(source, "backup", "--verify", str(path))
    assert code == 1 and f"{name}: SHA-256 or size differs from the manifest" in output
    code, output = run(target, "restore", str(path))
    assert code == 1 and f"{name}: SHA-256 or size differs from the manifest" in output
    assert empty(target)


def rewritten(path, out, **changes):
    """A copy of the archive whose manifest says otherwise (its members' hashes still right)."""
    with tarfile.open(path) as tar, tarfile.open(out, "w") as copy:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()
            if member.name == "manifest.json":
                data = json.dumps({**json.loads(data), **changes}).encode()
                member.size = len(data)
            copy.addfile(member, io.BytesIO(data))
    return out


def test_an_archive_of_a_newer_portal_or_another_engine_is_refused_before_anything_is_written(source, target, tmp_path):
    a_world(source)
    path, _ = back_up(source, tmp_path / "backups")
    newer = rewritten(path, tmp_path / "newer.tar", alembic_revision="0099")
    code, output = run(target, "restore", str(newer))
    assert code == 1 and "revision 0099, which this portal's code does not know" in output
    other = rewritten(path, tmp_path / "other.tar", engine="sqlite" if POSTGRES else "postgresql")
    code, output = run(target, "restore", str(other))
    assert code == 1 and "Restore it into the same kind of database." in output
    assert empty(target)


def test_a_member_the_manifest_does_not_name_is_refused(source, tmp_path):
    a_world(source)
    path, _ = back_up(source, tmp_path / "backups")
    with tarfile.open(path, "a") as tar:
        info = tarfile.TarInfo("files/../../etc/cron.d/x")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    code, output = run(source, "backup", "--verify", str(path))
    assert code == 1 and "files/../../etc/cron.d/x: not in the manifest" in output


def test_a_restore_into_a_non_empty_installation_is_refused_unless_forced(source, target, tmp_path):
    a_world(source)
    path, _ = back_up(source, tmp_path / "backups")
    before = tables(source), stored(source)
    code, output = run(source, "restore", str(path))  # the installation it came from
    assert code == 1 and "This installation is not empty" in output and "give --force" in output
    assert (tables(source), stored(source)) == before

    # A target with a schema and rows of its own: refused; with --force, asked, then replaced.
    with target.app_context():
        db.create_all()
    Factory(target).vendor()
    code, output = run(target, "restore", str(path))
    assert code == 1 and "This installation is not empty" in output
    code, output = run(target, "restore", "--force", str(path), input="n\n")
    assert code == 1 and "Replace the database's" in output and "Aborted" in output
    assert tables(target)["vendor"][0] == 1 and stored(target) == {}
    code, output = run(target, "restore", "--force", "--yes", str(path))
    assert code == 0 and "problems: 0." in output
    assert tables(target) == before[0] and stored(target) == before[1]


def test_a_restore_into_a_migrated_schema_with_no_rows_is_allowed(source, target, tmp_path):
    a_world(source)
    path, _ = back_up(source, tmp_path / "backups")
    with target.app_context():
        db.create_all()  # what `flask db upgrade` leaves on a new host: tables, no rows
        db.engine.dispose()
    code, output = run(target, "restore", str(path))
    assert code == 0 and "problems: 0." in output, output
    assert tables(target) == tables(source) and stored(target) == stored(source)


def test_files_in_an_otherwise_empty_storage_are_refused(source, target, tmp_path):
    a_world(source)
    path, _ = back_up(source, tmp_path / "backups")
    FolderStorage(target.config["STORAGE_DIR"]).put("ab/cd/" + "ab" * 16, io.BytesIO(b"someone else's"))
    code, output = run(target, "restore", str(path))
    assert code == 1 and "This installation is not empty: the 1 files in storage" in output


# ---------------------------------------------------------------- consistency while the portal runs


def test_a_backup_while_documents_keep_being_added_is_consistent(source, target, tmp_path):
    world = a_world(source)
    make, added, stop, errors = Factory(source), [], threading.Event(), []

    def keep_adding():
        try:
            while not stop.is_set() or len(added) < 3:
                added.append(make.document(world.manager, title_en=f"Manual {len(added)}"))  # its own PDF
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    thread = threading.Thread(target=keep_adding)
    thread.start()
    try:
        for _ in range(3000):
            if added or errors:
                break
            threading.Event().wait(0.01)
        path, _ = back_up(source, tmp_path / "backups")
        during = len(added)
    finally:
        stop.set()
        thread.join(120)
    assert errors == [] and not thread.is_alive()
    manifest = manifest_of(path)
    assert manifest["warnings"] == []
    assert manifest["counts"]["files"] == sum(manifest["counts"]["tables"][name] for name in NAMING_TABLES) + 4
    assert manifest["counts"]["files"] < len(stored(source)) and len(added) > during  # rows came after it
    assert run(target, "restore", str(path))[0] == 0
    assert findings(target) == (manifest["counts"]["files"], [])  # no file without its row, no row's file missing


def test_a_row_whose_file_is_missing_is_a_warning_of_the_manifest(source, tmp_path):
    world = a_world(source)
    named = findings(source)[0]
    Path(source.config["STORAGE_DIR"], world.version_b.storage_key).unlink()
    code, output = run(source, "backup", "--output", str(tmp_path / "backups"))
    assert code == 0 and f"warning: missing: document {world.doc_b.id} version V1.0" in output
    [path] = archives(tmp_path / "backups")
    assert manifest_of(path)["warnings"] == [
        f"missing: document {world.doc_b.id} version V1.0 ({world.version_b.storage_key})"
    ]
    assert manifest_of(path)["counts"]["files"] == named - 1


# ---------------------------------------------------------------- the folder of archives, the tools


def test_keep_removes_all_but_the_newest_archives_and_nothing_else(source, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    old = [folder / f"portal-backup-2026010{day}T033000Z.tar" for day in range(1, 4)]
    for path in old:
        path.write_bytes(b"old")
    (folder / "notes.txt").write_text("kept")
    code, output = run(source, "backup", "--output", str(folder), "--keep", "2")
    assert code == 0 and f"Removed the older archive {old[0]}." in output
    assert [p.name for p in archives(folder)][:1] == [old[2].name] and len(archives(folder)) == 2
    assert (folder / "notes.txt").exists() and not any(p.name.startswith(".") for p in folder.iterdir())


def test_a_pg_tool_older_than_the_server_or_absent_is_a_clear_error():
    if not (shutil.which("pg_dump") or glob.glob("/usr/lib/postgresql/*/bin/pg_dump")):
        pytest.skip("pg_dump is not installed")
    assert Path(pg_tool("pg_dump", 9)).name == "pg_dump"
    with pytest.raises(BackupError, match=r"pg_dump is older than the PostgreSQL 99 server: found .*pg_dump \(\d+\)"):
        pg_tool("pg_dump", 99)
    with pytest.raises(BackupError, match="pg_nothing is not installed"):
        pg_tool("pg_nothing", 15)


def test_put_replaces_a_file_in_one_step(tmp_path):
    store = FolderStorage(tmp_path)
    key = "ab/cd/" + "ab" * 16
    store.put(key, io.BytesIO(b"first"))
    store.put(key, io.BytesIO(b"second"))
    assert store.open(key).read() == b"second"
    assert [(item.key, item.staged) for item in store.listing()] == [(key, False)]

    class Broken(io.BytesIO):
        def read(self, *args):
            raise OSError("the archive could not be read")

    with pytest.raises(OSError):
        store.put(key, Broken())
    assert store.open(key).read() == b"second" and len(list(store.listing())) == 1  # no half file left
    with pytest.raises(ValueError):
        store.put("staging/" + "ab" * 16, io.BytesIO(b"x"))
