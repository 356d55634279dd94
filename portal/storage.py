"""Where uploaded files live: one small interface, a folder on disk by default.

Files are stored under generated names (never the uploader's), in two levels of folders so that no folder grows
huge; their SHA-256 is computed while they are written. Several hosts share the files by pointing
``PORTAL_STORAGE_DIR`` at shared storage (an NFS or SMB mount); another backend (object storage) implements the
same four methods and is returned by ``storage()``.
"""
import hashlib
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

import sqlalchemy as sa
from flask import Response, current_app
from sqlalchemy.orm import Mapped, mapped_column

from .types import UTCDateTime, utcnow

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Stored:
    key: str
    size: int
    sha256: str


class Storage(Protocol):
    def save(self, stream: BinaryIO) -> Stored: ...

    def open(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...


class FolderStorage:
    """Files in a folder: ``ab/cd/abcd…`` names from a random token, written to a temporary file first and moved
    into place in one step, so that a reader never sees half a file."""

    def __init__(self, root):
        self.root = Path(root)

    def path(self, key):
        if not key or not all(c in "0123456789abcdef/" for c in key) or ".." in key:
            raise ValueError("not a storage key")
        return self.root / key

    def save(self, stream):
        token = secrets.token_hex(16)
        key = f"{token[:2]}/{token[2:4]}/{token}"
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return Stored(key=key, size=size, sha256=digest.hexdigest())

    def open(self, key):
        return open(self.path(key), "rb")  # the caller (a response) closes it

    def delete(self, key):
        self.path(key).unlink(missing_ok=True)

    def exists(self, key):
        return self.path(key).is_file()

    def clear(self):
        """Remove every file (tests only)."""
        shutil.rmtree(self.root, ignore_errors=True)


def storage() -> Storage:
    """The configured storage of the current application."""
    return FolderStorage(current_app.config["STORAGE_DIR"])


class AttachmentColumns:
    """The columns of a small file kept in the database (a complaint's or a visit's attachment): its name, type
    found from the content, size, bytes (loaded only when served) and upload time."""

    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(40))
    size: Mapped[int] = mapped_column()
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=True, deferred=True)  # as migrated (0008, 0010)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def inline(item):
    """A stored photo or PDF (any object with ``data`` and ``content_type``) shown in the browser."""
    response = Response(item.data, mimetype=item.content_type)
    response.headers["Content-Disposition"] = "inline"
    return response
