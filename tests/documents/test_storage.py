"""File storage: files are staged and kept only once their row commits; ``flask documents-check`` reports missing,
altered, orphan and stale staged files, and ``--clean`` deals with what it can; a worker killed at any point of
an upload leaves nothing that the check does not find."""

import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.documents.models import Document, DocumentVersion
from portal.documents.samples import pdf
from portal.extensions import db
from portal.storage import FINAL_KEY, STAGED_KEY, FolderStorage, stage, staged_key

from ..conftest import DATABASE_URL, make_app, reset_database
from ..factories import Factory

ROOT = Path(__file__).resolve().parents[2]


def files(root):
    root = Path(root)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


def age(path, hours=2):
    """Make a file look ``hours`` old."""
    then = time.time() - hours * 3600
    os.utime(path, (then, then))


# ---------------------------------------------------------------- the folder


def test_a_file_is_staged_then_kept_under_its_generated_name_with_its_hash(tmp_path):
    store = FolderStorage(tmp_path)
    data = pdf("stored")
    stored = store.stage(io.BytesIO(data))
    assert stored.sha256 == hashlib.sha256(data).hexdigest() and stored.size == len(data)
    assert FINAL_KEY.fullmatch(stored.key) and stored.staged_key == staged_key(stored.key)
    assert files(tmp_path) == [stored.staged_key] and not store.exists(stored.key)
    store.keep(stored.key)
    assert files(tmp_path) == [stored.key] and store.open(stored.key).read() == data
    assert [(item.key, item.size, item.staged) for item in store.listing()] == [(stored.key, len(data), False)]
    assert store.stage(io.BytesIO(data)).key != stored.key
    store.delete(stored.key)
    assert not store.exists(stored.key)


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "ab/../../x",
        "",
        "staging/../ab",
        "ab/cd/ef",
        "AB/CD/" + "A" * 32,
        "staging/" + "0" * 31,
        None,
    ],
)
def test_only_the_storages_own_keys_are_opened(tmp_path, key):
    with pytest.raises(ValueError):
        FolderStorage(tmp_path).open(key)


def test_the_listing_shows_only_the_storages_own_files(tmp_path):
    store = FolderStorage(tmp_path)
    kept = store.stage(io.BytesIO(b"kept"))
    store.keep(kept.key)
    staged = store.stage(io.BytesIO(b"staged"))
    (tmp_path / "lost+found").mkdir()
    (tmp_path / "lost+found" / "x").write_bytes(b"not ours")
    (tmp_path / "README").write_bytes(b"not ours")
    old = tmp_path / kept.key[:5] / ".upload-ab12_x"  # what earlier versions left of an unfinished write
    old.write_bytes(b"half")
    listed = {item.key: item.staged for item in store.listing()}
    assert listed == {kept.key: False, staged.staged_key: True, f"{kept.key[:5]}/.upload-ab12_x": True}


# ---------------------------------------------------------------- kept only once the row commits


def test_a_staged_file_is_kept_when_the_transaction_commits(app):
    with app.app_context():
        stored = stage(io.BytesIO(b"x"))
        assert files(app.config["STORAGE_DIR"]) == [stored.staged_key]
        db.session.commit()
        assert files(app.config["STORAGE_DIR"]) == [stored.key]


@pytest.mark.parametrize("end", ["rollback", "remove", "failed commit"])
def test_a_staged_file_goes_when_the_transaction_does_not_commit(app, end):
    with app.app_context():
        stored = stage(io.BytesIO(b"x"))
        if end == "rollback":
            db.session.rollback()
        elif end == "remove":  # the end of a request that did not commit (Flask-SQLAlchemy's teardown)
            db.session.remove()
        else:
            db.session.add(Document(kind="other"))  # NOT NULL columns missing: the commit fails
            with pytest.raises(sa.exc.IntegrityError):
                db.session.commit()
            db.session.rollback()
        assert files(app.config["STORAGE_DIR"]) == []
        assert not FolderStorage(app.config["STORAGE_DIR"]).exists(stored.key)


def test_a_savepoint_released_does_not_keep_a_file_its_transaction_then_rolls_back(app):
    with app.app_context():
        with db.session.begin_nested():
            stored = stage(io.BytesIO(b"x"))
        assert files(app.config["STORAGE_DIR"]) == [stored.staged_key]
        db.session.rollback()
        assert files(app.config["STORAGE_DIR"]) == []


def test_a_refused_version_leaves_no_file(app, world):
    agent = app.test_client(user=world.agent)
    before = files(app.config["STORAGE_DIR"])
    response = agent.post(
        f"/documents/{world.doc_a.id}/versions?lang=en",
        data={"label": "V1.0", "file": (io.BytesIO(pdf("another")), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert "Version V1.0 already exists" in response.get_data(as_text=True)
    assert files(app.config["STORAGE_DIR"]) == before


# ---------------------------------------------------------------- documents-check


def check(app, *args):
    result = app.test_cli_runner().invoke(args=["documents-check", *args])
    return result.exit_code, result.output


def version_keys(app):
    with app.app_context():
        return [v.storage_key for v in db.session.scalars(sa.select(DocumentVersion).order_by(DocumentVersion.id))]


def test_documents_check_finds_missing_and_altered_files(app, world):
    assert check(app) == (
        0,
        "Stored files checked: 17, problems: 0.\n",
    )  # 4 versions, 4 issued PDFs, 3 photos, 6 attachments
    keys = version_keys(app)
    root = Path(app.config["STORAGE_DIR"])
    (root / keys[0]).unlink()
    (root / keys[1]).write_bytes(b"changed")
    code, output = check(app)
    assert code == 1 and "problems: 2." in output
    with app.app_context():
        first, second = (
            db.session.scalar(sa.select(DocumentVersion.document_id).where(DocumentVersion.storage_key == key))
            for key in keys[:2]
        )
    assert f"missing: document {first} version V1.0 ({keys[0]})" in output
    assert f"differs: document {second} version V1.0 ({keys[1]}): not the file uploaded" in output
    code, output = check(app, "--clean")  # nothing to clean: a backup is needed
    assert code == 1 and "cleaned" not in output and "left: 2." in output


def test_documents_check_reports_orphans_and_stale_staged_files_and_cleans_them_only_when_asked(app, world):
    root = Path(app.config["STORAGE_DIR"])
    orphan = "ab/cd/" + "ab" * 16
    (root / "ab" / "cd").mkdir(parents=True)
    (root / orphan).write_bytes(pdf("orphan"))
    stale, fresh = "staging/" + "01" * 16, "staging/" + "02" * 16
    (root / "staging").mkdir(exist_ok=True)
    (root / stale).write_bytes(b"half an upload")
    (root / fresh).write_bytes(b"an upload in progress")
    age(root / stale)
    code, output = check(app)
    assert code == 1 and "problems: 2." in output
    assert f"orphan: {orphan}: no row names this file" in output
    assert f"stale staged upload: {stale}: a request that never finished" in output
    assert fresh not in output
    assert (root / orphan).exists() and (root / stale).exists()  # reported, not removed
    code, output = check(app, "--clean")
    assert code == 0 and f"cleaned: {orphan}" in output and f"cleaned: {stale}" in output
    assert not (root / orphan).exists() and not (root / stale).exists() and (root / fresh).exists()
    assert check(app) == (
        0,
        "Stored files checked: 17, problems: 0.\n",
    )  # 4 versions, 4 issued PDFs, 3 photos, 6 attachments
    assert all((root / key).exists() for key in version_keys(app))
    with app.app_context():  # the issued PDFs are no orphans: kept
        from portal.reports.models import IssuedDocument

        issued = db.session.scalars(sa.select(IssuedDocument.storage_key)).all()
    assert len(issued) == 4 and all((root / key).exists() for key in issued)


# ---------------------------------------------------------------- a worker killed mid-upload


@pytest.fixture
def shared(app):
    """An application whose database another process can open: the PostgreSQL test database, or a SQLite file."""
    if DATABASE_URL.startswith("postgresql"):
        yield app
        return
    folder = Path(app.config["STORAGE_DIR"])
    other = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder.parent / 'shared.sqlite'}", STORAGE_DIR=str(folder))
    with other.app_context():
        db.create_all()
    yield other
    reset_database(other)


def killed_upload(app, user, point):
    """Publish a document in a process of its own, killed at ``point``; returns the files it left."""
    before = set(files(app.config["STORAGE_DIR"]))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.documents.kill_upload",
            app.config["SQLALCHEMY_DATABASE_URI"],
            app.config["STORAGE_DIR"],
            str(user.id),
            point,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    return sorted(set(files(app.config["STORAGE_DIR"])) - before)


def versions(app):
    with app.app_context():
        return db.session.scalars(
            sa.select(DocumentVersion)
            .join(Document, DocumentVersion.document_id == Document.id)
            .where(Document.title_zh == "中断的上传")
        ).all()


@pytest.mark.parametrize("point", ["writing", "before-commit"])
def test_a_worker_killed_before_the_commit_leaves_only_a_staged_file_that_the_check_finds(shared, point):
    user = Factory(shared).user("vendor_agent")
    left = killed_upload(shared, user, point)
    assert len(left) == 1 and STAGED_KEY.fullmatch(left[0]) and versions(shared) == []
    assert check(shared) == (0, "Stored files checked: 0, problems: 0.\n")  # an upload may still be under way
    age(Path(shared.config["STORAGE_DIR"]) / left[0])
    code, output = check(shared)
    assert code == 1 and f"stale staged upload: {left[0]}" in output
    code, output = check(shared, "--clean")
    assert code == 0 and f"cleaned: {left[0]}" in output
    assert files(shared.config["STORAGE_DIR"]) == []


def test_a_worker_killed_after_the_commit_leaves_a_staged_file_that_the_check_moves_into_place(shared):
    user = Factory(shared).user("vendor_agent")
    left = killed_upload(shared, user, "after-commit")
    [version] = versions(shared)
    assert left == [staged_key(version.storage_key)]
    code, output = check(shared)
    assert code == 1 and f"not kept: document {version.document_id} version V1.0 ({version.storage_key})" in output
    assert check(shared, "--clean")[0] == 0
    assert check(shared) == (0, "Stored files checked: 1, problems: 0.\n")
    download = shared.test_client(user=user).get(f"/documents/{version.document_id}/download")
    assert download.status_code == 200 and download.data == pdf("killed", "after-commit")
    assert hashlib.sha256(download.data).hexdigest() == version.sha256


def test_an_upload_that_is_not_killed_leaves_exactly_its_file(shared):
    """The control for the tests above: the same upload, run to its end, keeps one file under its key."""
    user = Factory(shared).user("vendor_agent")
    response = shared.test_client(user=user).post(
        "/documents/new",
        data={
            "kind": "installation",
            "title_zh": "中断的上传",
            "language": "zh",
            "target": "general",
            "label": "V1.0",
            "file": (io.BytesIO(pdf("whole")), "whole.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    [version] = versions(shared)
    assert files(shared.config["STORAGE_DIR"]) == [version.storage_key]
    assert check(shared) == (0, "Stored files checked: 1, problems: 0.\n")
    shutil.rmtree(shared.config["STORAGE_DIR"])
