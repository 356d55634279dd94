"""Both storage backends behave the same (a folder, and S3-compatible object storage on moto's real S3 server):
staging, keeping on commit, discarding on rollback, reading, deleting, listing, writing under a key (restores) and
the check of storage against the rows. Files uploaded through the pages go to the configured storage and come back
byte for byte, streamed, handed to nginx (X-Accel-Redirect) or by a presigned link."""

import hashlib
import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import boto3
import pytest
import requests
import sqlalchemy as sa
from PIL import Image

from portal.documents.samples import pdf
from portal.extensions import db
from portal.storage import FINAL_KEY, FolderStorage, S3Storage, audit, stage, staged_key, storage

from .audit.helpers import last_seq, records
from .conftest import DATABASE_URL, make_app, reset_database


def s3_client(config):
    return boto3.client(
        "s3",
        endpoint_url=config["S3_ENDPOINT_URL"],
        region_name=config["S3_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(params=["folder", "s3"])
def backend(request):
    return request.param


@pytest.fixture
def app(request, tmp_path, backend):
    """The application with its files in a folder or in an S3 bucket of this test's own (every test here runs on
    both)."""
    extra = request.getfixturevalue("s3_config") if backend == "s3" else {}
    app = make_app(STORAGE_DIR=str(tmp_path / "files"), **extra)
    if not DATABASE_URL.startswith("postgresql"):
        with app.app_context():
            db.create_all()
    yield app
    reset_database(app)


@pytest.fixture
def store(app):
    """The app's storage (no application context is held while the test client runs)."""
    with app.app_context():
        return storage()


def put_foreign(app, name, data=b"not ours"):
    """A file under the storage's root that is none of ours (lost+found, a README, another prefix)."""
    if app.config["STORAGE"] == "s3":
        s3_client(app.config).put_object(Bucket=app.config["S3_BUCKET"], Key=name, Body=data)
    else:
        path = Path(app.config["STORAGE_DIR"]) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def read(store, key):
    with store.open(key) as handle:
        return handle.read()


# ---------------------------------------------------------------- the backends


def test_the_configured_backend_is_returned(app, store, backend):
    assert isinstance(store, S3Storage if backend == "s3" else FolderStorage)


@pytest.mark.parametrize("size", [0, 1, 100_000, 9 * 1024 * 1024])  # 9 MB: a multipart upload to S3
def test_a_file_is_staged_then_kept_under_its_key_with_its_hash(store, size):
    data = os.urandom(size)
    stored = store.stage(io.BytesIO(data))
    assert stored.sha256 == hashlib.sha256(data).hexdigest() and stored.size == size
    assert FINAL_KEY.fullmatch(stored.key) and stored.staged_key == staged_key(stored.key)
    assert store.exists(stored.staged_key) and not store.exists(stored.key)
    assert [(i.key, i.size, i.staged) for i in store.listing()] == [(stored.staged_key, size, True)]
    store.keep(stored.key)
    assert store.exists(stored.key) and not store.exists(stored.staged_key)
    assert [(i.key, i.size, i.staged) for i in store.listing()] == [(stored.key, size, False)]
    assert read(store, stored.key) == data
    store.delete(stored.key)
    store.delete(stored.key)  # deleting what is gone is no error
    assert not store.exists(stored.key) and list(store.listing()) == []


def test_a_missing_file_is_file_not_found(store):
    with pytest.raises(FileNotFoundError):
        store.open("ab/cd/" + "0" * 32)


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
def test_only_the_storages_own_keys_are_used(store, key):
    for use in (store.open, store.delete, store.exists, lambda k: store.put(k, io.BytesIO(b"x"))):
        with pytest.raises(ValueError):
            use(key)


def test_put_writes_a_kept_file_under_its_key_and_replaces_one_there(store):
    key = "0a/1b/" + "0a1b" * 8
    store.put(key, io.BytesIO(b"first"))
    assert read(store, key) == b"first" and store.exists(key)
    store.put(key, io.BytesIO(b"second, longer"))
    assert read(store, key) == b"second, longer"
    assert [(i.key, i.size, i.staged) for i in store.listing()] == [(key, 14, False)]
    with pytest.raises(ValueError):
        store.put(staged_key(key), io.BytesIO(b"a restore writes kept files only"))


def test_the_listing_shows_only_the_storages_own_files(app, store):
    kept = store.stage(io.BytesIO(b"kept"))
    store.keep(kept.key)
    staged = store.stage(io.BytesIO(b"staged"))
    if app.config["STORAGE"] == "s3":  # outside the prefix, and under it but not one of ours
        put_foreign(app, kept.key)
        put_foreign(app, "portal/README")
        put_foreign(app, "portal/lost+found/x")
    else:
        put_foreign(app, "README")
        put_foreign(app, "lost+found/x")
    assert {item.key: item.staged for item in store.listing()} == {kept.key: False, staged.staged_key: True}


def test_a_staged_file_is_kept_when_the_transaction_commits_and_goes_when_it_does_not(app, store):
    with app.app_context():
        kept = stage(io.BytesIO(b"kept"))
        db.session.commit()
        discarded = stage(io.BytesIO(b"discarded"))
        assert store.exists(discarded.staged_key)
        db.session.rollback()
        ended = stage(io.BytesIO(b"ended"))
        db.session.remove()  # a request that ends without a commit
    assert {item.key for item in store.listing()} == {kept.key}
    assert read(store, kept.key) == b"kept"
    assert not any(store.exists(k) for s in (discarded, ended) for k in (s.key, s.staged_key))


def test_the_audit_finds_missing_altered_unkept_orphan_and_stale_files(store):
    def kept(data):
        stored = store.stage(io.BytesIO(data))
        store.keep(stored.key)
        return stored

    whole, missing, altered, orphan = (kept(bytes([n]) * 10) for n in range(4))
    unkept, stale = store.stage(io.BytesIO(b"unkept")), store.stage(io.BytesIO(b"stale"))
    store.delete(missing.key)
    store.put(altered.key, io.BytesIO(b"changed"))
    rows = [(s.key, s.sha256, f"row {n}") for n, s in enumerate((whole, missing, altered, unkept))]
    checked, findings = audit(store, lambda: rows)
    assert checked == 4
    assert sorted((f.problem, f.key, f.row) for f in findings) == sorted(
        [
            ("missing", missing.key, "row 1"),
            ("differs", altered.key, "row 2"),
            ("unkept", unkept.key, "row 3"),
            ("orphan", orphan.key, ""),
        ]
    )  # the staged upload is recent: it may be under way
    later = datetime.now(UTC) + timedelta(hours=2)
    _, findings = audit(store, lambda: rows, now=later)
    assert ("stale", stale.staged_key) in {(f.problem, f.key) for f in findings}


# ---------------------------------------------------------------- through the pages


def upload_photo(app, user, unit, content):
    from .tickets.helpers import FIELDS

    response = app.test_client(user=user).post(
        "/tickets/new?lang=en",
        data={**FIELDS, "unit": unit.id, "photos": [(io.BytesIO(content), "故障照片.png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    ticket_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        from portal.tickets.models import TicketPhoto

        photo = db.session.scalars(sa.select(TicketPhoto).where(TicketPhoto.ticket_id == ticket_id)).one()
        db.session.expunge(photo)
    return ticket_id, photo


def png():
    out = io.BytesIO()
    Image.new("RGB", (6, 5), "blue").save(out, "PNG")
    return out.getvalue()


def publish(app, user, content, name="交互平板安装手册.pdf"):
    from .documents.test_documents import form, with_file

    response = app.test_client(user=user).post(
        "/documents/new?lang=en", data=with_file(form(), name, content), content_type="multipart/form-data"
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def current_version(app, doc_id):
    from portal.documents.models import Document

    with app.app_context():
        return db.session.get(Document, doc_id).current


def test_a_photo_and_a_document_uploaded_through_the_pages_are_stored_and_come_back_whole(app, world, store):
    ticket_id, photo = upload_photo(app, world.a_staff, world.unit_a1, png())
    stored = read(store, photo.storage_key)  # the re-encoded photo, as kept
    assert hashlib.sha256(stored).hexdigest() == photo.sha256 and len(stored) == photo.size
    image = app.test_client(user=world.a_staff).get(f"/tickets/{ticket_id}/photos/{photo.id}")
    assert image.status_code == 200 and image.data == stored and image.mimetype == "image/png"
    assert image.headers["Content-Disposition"].startswith("inline; ")
    content = pdf("through the page")
    doc_id = publish(app, world.agent, content)
    version = current_version(app, doc_id)
    assert read(store, version.storage_key) == content
    download = app.test_client(user=world.a_school).get(f"/documents/{doc_id}/download")
    assert download.status_code == 200 and download.data == content
    if app.config["STORAGE"] == "s3":  # the objects are in the bucket, under the prefix
        listed = s3_client(app.config).list_objects_v2(Bucket=app.config["S3_BUCKET"])["Contents"]
        assert {f"portal/{photo.storage_key}", f"portal/{version.storage_key}"} <= {o["Key"] for o in listed}
    # Another client's user gets nothing, as before.
    assert app.test_client(user=world.b_admin).get(f"/tickets/{ticket_id}/photos/{photo.id}").status_code == 404


def test_accel_mode_hands_the_file_to_nginx_with_its_headers_and_no_body(app, world):
    app.config["DOWNLOADS"] = "accel"
    ticket_id, photo = upload_photo(app, world.a_staff, world.unit_a1, png())
    image = app.test_client(user=world.a_staff).get(f"/tickets/{ticket_id}/photos/{photo.id}")
    assert image.status_code == 200 and image.data == b""
    assert image.headers["X-Accel-Redirect"] == f"/protected-files/{photo.storage_key}"
    assert image.mimetype == "image/png" and image.headers["Cache-Control"] == "private, no-store"
    assert unquote(image.headers["Content-Disposition"].split("filename*=UTF-8''", 1)[1]) == "故障照片.png"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    refused = app.test_client(user=world.b_admin).get(f"/tickets/{ticket_id}/photos/{photo.id}")
    assert refused.status_code == 404 and "X-Accel-Redirect" not in refused.headers
    app.config["ACCEL_PREFIX"] = "/files-inside"
    before = last_seq(app)
    download = app.test_client(user=world.a_school).get(f"/documents/{world.doc_a.id}/download")
    assert download.status_code == 200 and download.data == b"" and download.mimetype == "application/pdf"
    assert download.headers["X-Accel-Redirect"] == f"/files-inside/{world.version_a.storage_key}"
    assert download.headers["Content-Disposition"].startswith("attachment; ")
    hit = [r for r in records(app, before) if r["event"] == "document.downloaded"]
    assert len(hit) == 1 and hit[0]["target_id"] == str(world.doc_a.id)  # recorded before nginx sends it


def test_presigned_mode_redirects_to_a_link_that_gives_the_same_bytes(app, world, backend):
    if backend != "s3":
        with pytest.raises(RuntimeError, match="PORTAL_DOWNLOADS=presigned needs PORTAL_STORAGE=s3"):
            make_app(DOWNLOADS="presigned")
        return
    app.config["DOWNLOADS"] = "presigned"
    content = pdf("presigned")
    doc_id = publish(app, world.agent, content, name="授权书.pdf")
    before = last_seq(app)
    response = app.test_client(user=world.a_school).get(f"/documents/{doc_id}/download")
    assert response.status_code == 302 and response.headers["Cache-Control"] == "private, no-store"
    fetched = requests.get(response.headers["Location"], timeout=10)
    assert fetched.status_code == 200 and fetched.content == content
    assert fetched.headers["Content-Type"] == "application/pdf"
    assert unquote(fetched.headers["Content-Disposition"].split("filename*=UTF-8''", 1)[1]) == "授权书.pdf"
    hit = [r for r in records(app, before) if r["event"] == "document.downloaded"]
    assert len(hit) == 1 and hit[0]["target_id"] == str(doc_id)
    ticket_id, photo = upload_photo(app, world.a_staff, world.unit_a1, png())
    assert app.test_client(user=world.b_admin).get(f"/tickets/{ticket_id}/photos/{photo.id}").status_code == 404
    link = app.test_client(user=world.a_staff).get(f"/tickets/{ticket_id}/photos/{photo.id}").headers["Location"]
    with app.app_context():
        kept = read(storage(), photo.storage_key)
    assert requests.get(link, timeout=10).content == kept
    app.config["PRESIGN_SECONDS"] = 1
    link = app.test_client(user=world.a_staff).get(f"/tickets/{ticket_id}/photos/{photo.id}").headers["Location"]
    assert "Expires=1" in link or "X-Amz-Expires=1" in link


def test_documents_check_reports_a_missing_photo_and_an_orphan(app, world, store):
    result = app.test_cli_runner().invoke(args=["documents-check"])
    assert result.exit_code == 0 and "Stored files checked: 17, problems: 0." in result.output, result.output
    store.delete(world.photo_a.storage_key)
    store.delete(world.attachment_b.storage_key)
    orphan = "ab/cd/" + "ab" * 16
    store.put(orphan, io.BytesIO(b"no row names me"))
    result = app.test_cli_runner().invoke(args=["documents-check"])
    assert result.exit_code == 1 and "problems: 3." in result.output
    assert (
        f"missing: ticket {world.ticket_a.id} photo {world.photo_a.id} ({world.photo_a.storage_key})" in result.output
    )
    assert (
        f"missing: complaint {world.complaint_b.id} attachment {world.attachment_b.id} "
        f"({world.attachment_b.storage_key})"
    ) in result.output
    assert f"orphan: {orphan}: no row names this file" in result.output
    result = app.test_cli_runner().invoke(args=["documents-check", "--clean"])
    assert f"cleaned: {orphan}" in result.output and not store.exists(orphan)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"STORAGE": "disk"}, "PORTAL_STORAGE is 'disk'"),
        ({"STORAGE": "s3", "S3_BUCKET": ""}, "PORTAL_STORAGE=s3 needs PORTAL_S3_BUCKET"),
        ({"DOWNLOADS": "sendfile"}, "PORTAL_DOWNLOADS is 'sendfile'"),
        ({"STORAGE": "s3", "S3_BUCKET": "b", "S3_ADDRESSING_STYLE": "dns"}, "PORTAL_S3_ADDRESSING_STYLE"),
    ],
)
def test_a_storage_setting_that_cannot_work_stops_the_start(settings, message):
    with pytest.raises(RuntimeError, match=message):
        make_app(**settings)


def test_the_settings_are_read_from_the_environment():
    from portal.config import from_env

    config = from_env(
        {
            "PORTAL_STORAGE": "S3",
            "PORTAL_S3_ENDPOINT_URL": "https://oss-cn-hangzhou.aliyuncs.com",
            "PORTAL_S3_BUCKET": "portal-files",
            "PORTAL_S3_REGION": "oss-cn-hangzhou",
            "PORTAL_S3_ACCESS_KEY_ID": "id",
            "PORTAL_S3_SECRET_ACCESS_KEY": "secret",
            "PORTAL_S3_PREFIX": "bureau",
            "PORTAL_S3_ADDRESSING_STYLE": "virtual",
            "PORTAL_DOWNLOADS": "presigned",
            "PORTAL_ACCEL_PREFIX": "internal/",
            "PORTAL_PRESIGN_SECONDS": "60",
        }
    )
    assert (
        config["STORAGE"],
        config["S3_BUCKET"],
        config["S3_ADDRESSING_STYLE"],
        config["DOWNLOADS"],
        config["ACCEL_PREFIX"],
        config["PRESIGN_SECONDS"],
    ) == ("s3", "portal-files", "virtual", "presigned", "/internal", 60)
    defaults = from_env({})
    assert (
        defaults["STORAGE"],
        defaults["DOWNLOADS"],
        defaults["ACCEL_PREFIX"],
        defaults["PRESIGN_SECONDS"],
        defaults["S3_ADDRESSING_STYLE"],
    ) == ("folder", "stream", "/protected-files", 300, "path")


def test_storage_copy_moves_every_kept_file_to_the_other_backend(app, world, backend, request):
    """From a folder to S3 (and back): every kept file under the same key; then the portal runs on the target
    with nothing missing; run again, it copies nothing."""
    target = "folder" if backend == "s3" else "s3"
    if target == "s3":
        app.config.update({k: v for k, v in request.getfixturevalue("s3_config").items() if k != "STORAGE"})
    with app.app_context():
        source = storage()
    staged = source.stage(io.BytesIO(b"an upload under way"))  # its row not committed yet: not copied
    kept = {item.key for item in source.listing() if not item.staged}
    runner = app.test_cli_runner()
    result = runner.invoke(args=["storage-copy", "--to", target])
    assert result.exit_code == 0 and f"Files copied to {target}: {len(kept)}; already there: 0." in result.output
    assert runner.invoke(args=["storage-copy", "--to", target]).output.endswith(
        f"Files copied to {target}: 0; already there: {len(kept)}.\n"
    )
    assert runner.invoke(args=["storage-copy", "--to", backend]).exit_code == 1  # already there
    app.config["STORAGE"] = target
    with app.app_context():
        copied = storage()
        assert {item.key for item in copied.listing()} == kept and staged.staged_key not in kept
        assert all(read(copied, key) == read(source, key) for key in kept)
    check = runner.invoke(args=["documents-check"])
    assert check.exit_code == 0 and "Stored files checked: 17, problems: 0." in check.output, check.output
    download = app.test_client(user=world.a_school).get(f"/documents/{world.doc_a.id}/download")
    assert download.status_code == 200 and hashlib.sha256(download.data).hexdigest() == world.version_a.sha256
