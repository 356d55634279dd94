"""Where uploaded files live: one small interface, a folder on disk by default.

Files are stored under generated names (never the uploader's), in two levels of folders so that no folder grows
huge; their SHA-256 is computed while they are written. A file is kept only once the row that names it commits:

1. ``stage(stream)`` writes it under a staging name (``staging/<token>``) and registers it with the
   database session;
2. when that session commits, the staged file is moved to its key (``ab/cd/<token>``) in one step;
3. when the transaction rolls back or ends without a commit (a refused form, an error), the staged file is
   removed.

A worker killed at any point leaves at worst a staged file (no row: removed by ``flask documents-check --clean``
once stale) or a committed row whose file is still staged (moved into place by the same command); never a file
under a key that no row names, and never half a file under a key.

Several hosts share the files by pointing ``PORTAL_STORAGE_DIR`` at shared storage (an NFS or SMB mount), or by
keeping them in S3-compatible object storage (MinIO, Alibaba OSS, Tencent COS: ``PORTAL_STORAGE=s3``, see
``S3Storage``): the same keys, staging is an object under the ``staging/`` prefix, keeping it a server-side copy
and a delete. ``storage()`` returns the configured one. ``put(key, stream)`` writes a file
straight under its key (a restore, ``portal.backup``: its row is already committed).
"""

import hashlib
import logging
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Protocol

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, Session, mapped_column

from .extensions import db
from .types import UTCDateTime, utcnow

CHUNK = 1024 * 1024
STAGING = "staging"
FINAL_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}")
STAGED_KEY = re.compile(STAGING + r"/[0-9a-f]{32}")
# Left by versions before staging: a temporary file beside its target, of a write that never finished.
OLD_TEMPORARY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/\.upload-[a-z0-9_]+")
PENDING = "portal.staged_files"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stored:
    key: str  # where the file is once kept
    staged_key: str  # where it is until then
    size: int
    sha256: str


@dataclass(frozen=True)
class Listed:
    key: str
    size: int
    modified: datetime  # UTC
    staged: bool  # a staged (or never finished) upload rather than a kept file


def staged_key(key):
    """The staging name of a kept key (the same token)."""
    return f"{STAGING}/{key.rsplit('/', 1)[-1]}"


class Storage(Protocol):
    def stage(self, stream: BinaryIO) -> Stored: ...

    def keep(self, key: str) -> None: ...

    def open(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def listing(self) -> Iterator[Listed]: ...

    def ready(self) -> None: ...

    def put(self, key: str, stream: BinaryIO) -> None: ...


def checked_key(key):
    """``key`` when it is one of ours (kept, staged, or an old temporary file), else ValueError: a key never comes
    from a request, but a damaged row must not name a path outside storage."""
    if not isinstance(key, str) or not any(p.fullmatch(key) for p in (FINAL_KEY, STAGED_KEY, OLD_TEMPORARY)):
        raise ValueError("not a storage key")
    return key


def new_key():
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token[2:4]}/{token}"


class Hashing:
    """Reads a stream, counting its bytes and computing their SHA-256 on the way. It has no ``seek``: boto3 then
    reads it once, in order, as the hash needs."""

    def __init__(self, stream):
        self.stream, self.digest, self.size = stream, hashlib.sha256(), 0

    def read(self, size=-1):
        chunk = self.stream.read(size)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk


class FolderStorage:
    """Files in a folder: ``ab/cd/abcd…`` names from a random token, staged in ``staging/`` on the same file
    system, so that keeping a file is one rename and a reader never sees half a file."""

    def __init__(self, root):
        self.root = Path(root)

    def path(self, key):
        return self.root / checked_key(key)

    def stage(self, stream):
        stored_key = new_key()
        target = self.path(staged_key(stored_key))
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        try:
            with open(target, "xb") as out:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())  # on disk before the row that names it commits
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return Stored(key=stored_key, staged_key=staged_key(stored_key), size=size, sha256=digest.hexdigest())

    def keep(self, key):
        """Move the staged file of ``key`` to ``key``."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path(staged_key(key)), target)

    def open(self, key):
        return open(self.path(key), "rb")  # the caller (a response) closes it

    def delete(self, key):
        self.path(key).unlink(missing_ok=True)

    def exists(self, key):
        return self.path(key).is_file()

    def put(self, key, stream):
        """Write ``stream`` under ``key`` (replacing a file there) in one step: to a temporary name beside it
        (``.upload-…``, which the listing shows as an unfinished write), on disk, then renamed."""
        target = self.path(key)
        if not FINAL_KEY.fullmatch(key):
            raise ValueError("not a kept key")
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".upload-", dir=target.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                shutil.copyfileobj(stream, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def listing(self):
        """Every file of ours under the folder (anything else there, such as lost+found, is left alone)."""
        if not self.root.is_dir():
            return
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                path = Path(dirpath) / name
                key = path.relative_to(self.root).as_posix()
                staged = bool(STAGED_KEY.fullmatch(key) or OLD_TEMPORARY.fullmatch(key))
                if not staged and not FINAL_KEY.fullmatch(key):
                    continue
                try:
                    stat = path.stat()
                except FileNotFoundError:  # kept or removed meanwhile
                    continue
                yield Listed(
                    key=key, size=stat.st_size, staged=staged, modified=datetime.fromtimestamp(stat.st_mtime, UTC)
                )

    def ready(self):
        """Raise unless files can be written now (``/readyz``): the folder exists (made on a fresh install) and a
        small file can be made and removed in it."""
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.root, prefix=".ready-"):
            pass

    def clear(self):
        """Remove every file (tests only)."""
        shutil.rmtree(self.root, ignore_errors=True)


class S3Storage:
    """Objects in a bucket of S3-compatible storage (MinIO, Alibaba OSS, Tencent COS), under ``prefix``: the same
    keys as a folder. An upload is staged as ``staging/<token>`` (a multipart upload for a large file, its SHA-256
    computed as it is sent); keeping it is a server-side copy to its key and a delete of the staged object, so
    that an object under a key is always whole."""

    def __init__(self, client, bucket, prefix=""):
        self.client, self.bucket = client, bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def name(self, key):
        return self.prefix + checked_key(key)

    def _upload(self, stream, key):
        hashing = Hashing(stream)
        self.client.upload_fileobj(hashing, self.bucket, self.name(key))
        return hashing

    def stage(self, stream):
        stored_key = new_key()
        try:
            hashing = self._upload(stream, staged_key(stored_key))
        except BaseException:
            self.delete(staged_key(stored_key))
            raise
        return Stored(
            key=stored_key, staged_key=staged_key(stored_key), size=hashing.size, sha256=hashing.digest.hexdigest()
        )

    def keep(self, key):
        self.client.copy_object(
            Bucket=self.bucket,
            Key=self.name(key),
            CopySource={"Bucket": self.bucket, "Key": self.name(staged_key(key))},
        )
        self.delete(staged_key(key))

    def open(self, key):
        """The object's body, read as it streams (the caller closes it); FileNotFoundError when there is none."""
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.name(key))["Body"]
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(key) from None

    def delete(self, key):
        self.client.delete_object(Bucket=self.bucket, Key=self.name(key))  # no error when there is none

    def exists(self, key):
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.name(key))
        except self.client.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def listing(self):
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for item in page.get("Contents", ()):
                key = item["Key"][len(self.prefix) :]
                staged = bool(STAGED_KEY.fullmatch(key))
                if staged or FINAL_KEY.fullmatch(key):
                    yield Listed(
                        key=key, size=item["Size"], staged=staged, modified=item["LastModified"].astimezone(UTC)
                    )

    def ready(self):
        """Raise unless the bucket answers with these credentials now (``/readyz``): one HEAD request, no write
        (a probe every few seconds would otherwise add an object each time)."""
        self.client.head_bucket(Bucket=self.bucket)

    def put(self, key, stream):
        """Write a kept file under ``key`` (a restore): an object appears whole or not at all."""
        if not FINAL_KEY.fullmatch(key or ""):
            raise ValueError("not a storage key")
        self._upload(stream, key)

    def presigned_url(self, key, seconds, content_type, disposition):
        """A link that downloads the object for ``seconds``, with these headers in the answer."""
        return self.client.generate_presigned_url(
            "get_object",
            ExpiresIn=seconds,
            Params={
                "Bucket": self.bucket,
                "Key": self.name(key),
                "ResponseContentType": content_type,
                "ResponseContentDisposition": disposition,
                "ResponseCacheControl": "private, no-store",
            },
        )


def s3_client(config):
    """A boto3 client for the configured S3 storage, one per application and settings (boto3's clients are
    thread-safe). Credentials not given here come from boto3's own environment and files."""
    import boto3
    from botocore.config import Config

    settings = {
        "endpoint_url": config.get("S3_ENDPOINT_URL") or None,
        "region_name": config.get("S3_REGION") or None,
        "aws_access_key_id": config.get("S3_ACCESS_KEY_ID") or None,
        "aws_secret_access_key": config.get("S3_SECRET_ACCESS_KEY") or None,
    }
    style = config.get("S3_ADDRESSING_STYLE") or "path"
    cache = current_app.extensions.setdefault("portal_s3_clients", {})
    marker = (*settings.values(), style)
    if marker not in cache:
        # Checksums only where the API requires them: OSS and COS refuse the newer default ones of botocore.
        cache[marker] = boto3.session.Session().client(
            "s3",
            **settings,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": style},
                retries={"mode": "standard"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
    return cache[marker]


def storage(kind=None) -> Storage:
    """The configured storage of the current application: PORTAL_STORAGE=folder (the default) or s3; ``kind``
    names one (its settings are the same variables) for a copy from one to the other."""
    config = current_app.config
    if (kind or config.get("STORAGE", "folder")) == "s3":
        return S3Storage(s3_client(config), config["S3_BUCKET"], config.get("S3_PREFIX") or "")
    return FolderStorage(config["STORAGE_DIR"])


def copy(source, target, replace=False):
    """Copy every kept file of ``source`` to ``target`` under the same key (staged uploads are not copied: their
    rows are not committed). A file already in ``target`` with the same size is left, so that a copy interrupted
    can be run again; ``replace`` copies it anyway. Yields (key, copied)."""
    there = {} if replace else {item.key: item.size for item in target.listing() if not item.staged}
    for item in source.listing():
        if item.staged:
            continue
        if there.get(item.key) == item.size:
            yield item.key, False
            continue
        with source.open(item.key) as handle:
            target.put(item.key, handle)
        yield item.key, True


# ---------------------------------------------------------------- kept once the row commits


def stage(stream, store=None):
    """Write ``stream`` to storage under a staging name, to be kept when the database session's transaction
    commits and removed if it does not (see the module's documentation). Returns Stored: its ``key`` goes into
    the row."""
    store = store or storage()
    session = db.session()
    if not session.in_transaction():
        session.begin()  # the transaction whose end decides
    stored = store.stage(stream)
    session.info.setdefault(PENDING, []).append((store, stored))
    return stored


@sa.event.listens_for(Session, "after_commit")
def _keep_staged(session):
    if session.in_nested_transaction():
        return  # a savepoint released: the outer transaction decides
    for store, stored in session.info.pop(PENDING, []):
        try:
            store.keep(stored.key)
        except Exception:  # the row is committed: its file stays staged, and documents-check says so
            log.exception("storage: the staged file %s of %s could not be kept", stored.staged_key, stored.key)


@sa.event.listens_for(Session, "after_transaction_end")
def _discard_staged(session, transaction):
    if transaction.parent is not None:
        return  # a savepoint: the outer transaction decides
    for store, stored in session.info.pop(PENDING, []):
        try:
            store.delete(stored.staged_key)
        except Exception:
            log.exception("storage: the staged file %s could not be removed", stored.staged_key)


# ---------------------------------------------------------------- checking storage against the rows

STALE_AFTER = timedelta(hours=1)  # an upload still staged after this is not in progress any more


@dataclass(frozen=True)
class Finding:
    problem: str  # missing, differs, unkept (a committed row's file still staged), orphan, stale (staged, no row)
    key: str
    row: str = ""  # which row names the file, as the caller labels it


def audit(store, load_rows, now=None, stale_after=STALE_AFTER):
    """Compare storage with the rows that name files: ``load_rows()`` returns (key, sha256, label) for every
    row. Storage is listed first, then the rows are loaded: a file is kept only after its row commits, so a kept
    file listed here has its row among them. Returns (number of rows checked, [Finding])."""
    now = now or datetime.now(UTC)
    listed = {item.key: item for item in store.listing()}
    findings, named = [], set()
    rows = list(load_rows())
    for key, sha256, label in rows:
        named.update((key, staged_key(key)))
        if key in listed:
            with store.open(key) as handle:
                if hashlib.file_digest(handle, "sha256").hexdigest() != sha256:
                    findings.append(Finding("differs", key, label))
        elif staged_key(key) in listed:
            findings.append(Finding("unkept", key, label))
        else:
            findings.append(Finding("missing", key, label))
    for key, item in sorted(listed.items()):
        if key in named:
            continue
        if not item.staged:
            findings.append(Finding("orphan", key))
        elif now - item.modified > stale_after:
            findings.append(Finding("stale", key))
    return len(rows), findings


def file_kinds():
    """The rows that name a file in storage, one line per kind: a query of (key, SHA-256, the label's values) and
    the label. ``flask documents-check`` and ``flask backup`` both read them through ``file_rows``."""
    from .complaints.models import ComplaintAttachment
    from .documents.models import DocumentVersion as Version
    from .inspections.models import VisitAttachment
    from .reports.models import IssuedDocument as Issued
    from .tickets.models import TicketPhoto

    return [
        (
            sa.select(Version.storage_key, Version.sha256, Version.document_id, Version.label).order_by(Version.id),
            "document {} version {}",
        ),
        # The issued PDFs (evidence packs, warranty certificates).
        (
            sa.select(Issued.storage_key, Issued.sha256, Issued.number)
            .where(Issued.storage_key.is_not(None))
            .order_by(Issued.id),
            "issued document {}",
        ),
        # Fault photos, complaint and visit attachments.
        (
            sa.select(TicketPhoto.storage_key, TicketPhoto.sha256, TicketPhoto.ticket_id, TicketPhoto.id).order_by(
                TicketPhoto.id
            ),
            "ticket {} photo {}",
        ),
        (
            sa.select(
                ComplaintAttachment.storage_key,
                ComplaintAttachment.sha256,
                ComplaintAttachment.complaint_id,
                ComplaintAttachment.id,
            ).order_by(ComplaintAttachment.id),
            "complaint {} attachment {}",
        ),
        (
            sa.select(
                VisitAttachment.storage_key, VisitAttachment.sha256, VisitAttachment.visit_id, VisitAttachment.id
            ).order_by(VisitAttachment.id),
            "visit {} attachment {}",
        ),
    ]


def file_rows(connection):
    """(key, sha256, label) of every row that names a file, read through ``connection`` (a session, or a
    connection to a backup's snapshot), for ``audit``."""
    return [
        (key, sha256, label.format(*values))
        for query, label in file_kinds()
        for key, sha256, *values in connection.execute(query)
    ]


def repair(store, finding):
    """What ``--clean`` does for a finding: True when it is dealt with. Orphans and stale staged files are
    removed; a committed row's staged file is moved into place. Missing or altered files need a backup."""
    if finding.problem in ("orphan", "stale"):
        store.delete(finding.key)
        return True
    if finding.problem == "unkept":
        store.keep(finding.key)
        return True
    return False


def stage_upload(checked, store=None):
    """Stage a file checked by ``portal.uploads`` (a photo, an attachment): the columns of the row that names it,
    kept when that row commits."""
    stored = stage(checked.stream, store)
    return {
        "filename": checked.filename,
        "content_type": checked.content_type,
        "size": stored.size,
        "storage_key": stored.key,
        "sha256": stored.sha256,
    }


class AttachmentColumns:
    """The columns of a small file (a complaint's or a visit's attachment): its name, type found from the content,
    size, key in storage and SHA-256, and upload time."""

    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(40))
    size: Mapped[int] = mapped_column()
    storage_key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
