"""Documents: publish one with its first file, add versions, record downloads.

The file is staged in storage (``store``) and kept only when the transaction that saves its row commits; if the
transaction is rolled back or the request ends without a commit (a refused version, an error), the staged file
is removed: storage holds no orphan (``portal.storage``).
"""

import sqlalchemy as sa

from ..extensions import db
from ..i18n import _l
from ..steps import Refused
from ..storage import stage
from ..types import utcnow
from ..uploads import Checked
from .models import Document, DocumentDownload, DocumentVersion


class VersionRefused(Refused):
    """Refused: the message says why."""


def moment(now=None):
    return (now or utcnow()).replace(microsecond=0)


def store(checked: Checked):
    """Stage the checked upload for the current transaction; returns the version's file columns."""
    checked.stream.seek(0)
    saved = stage(checked.stream)
    return {
        "filename": checked.filename,
        "file_type": checked.type.key,
        "content_type": checked.content_type,
        "size": saved.size,
        "sha256": saved.sha256,
        "storage_key": saved.key,
    }


def publish(by, *, kind, title_zh, title_en, language, description, model_id, contract_id, label, note, file, now=None):
    """A new document with its first version (``file`` as returned by ``store``)."""
    now = moment(now)
    document = Document(
        kind=kind,
        title_zh=title_zh,
        title_en=title_en or "",
        language=language,
        description=description or "",
        model_id=model_id,
        contract_id=contract_id,
        withdrawn=False,
        download_count=0,
        created_by_id=by.id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(document)
    version = DocumentVersion(
        document=document,
        seq=1,
        label=label,
        note=note or "",
        uploaded_by_id=by.id,
        uploaded_at=now,
        download_count=0,
        **file,
    )
    db.session.add(version)
    db.session.flush()
    document.current = version
    return document


def same_file(document, sha256):
    return next((v for v in document.versions if v.sha256 == sha256), None)


def add_version(document, by, *, label, note, file, now=None):
    """The next version of ``document``, which becomes the one offered first. The document row is locked
    (PostgreSQL) so that two uploads at once get consecutive numbers."""
    now = moment(now)
    db.session.execute(sa.select(Document.id).where(Document.id == document.id).with_for_update())
    if any(v.label.casefold() == label.casefold() for v in document.versions):
        raise VersionRefused(_l("Version %(label)s already exists: give this file a new version.", label=label))
    earlier = same_file(document, file["sha256"])
    if earlier:
        raise VersionRefused(_l("This file is the same as version %(label)s.", label=earlier.label))
    seq = (
        db.session.scalar(sa.select(sa.func.max(DocumentVersion.seq)).where(DocumentVersion.document_id == document.id))
        or 0
    ) + 1
    version = DocumentVersion(
        document=document,
        seq=seq,
        label=label,
        note=note or "",
        uploaded_by_id=by.id,
        uploaded_at=now,
        download_count=0,
        **file,
    )
    db.session.add(version)
    db.session.flush()
    document.current = version
    document.updated_at = now
    return version


def record_download(document, version, user, now=None):
    """One download: a row for the record, and the counters raised in the database (not in Python), so that
    workers downloading at once do not lose a count."""
    db.session.add(DocumentDownload(document_id=document.id, version_id=version.id, user_id=user.id, at=moment(now)))
    db.session.execute(
        sa.update(Document).where(Document.id == document.id).values(download_count=Document.download_count + 1)
    )
    db.session.execute(
        sa.update(DocumentVersion)
        .where(DocumentVersion.id == version.id)
        .values(download_count=DocumentVersion.download_count + 1)
    )
