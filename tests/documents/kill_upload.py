"""Run by test_storage.py in a process of its own: publish a document through the real route and kill this
process (SIGKILL, as the kernel or a supervisor does) at one exact point of the upload.

    python -m tests.documents.kill_upload DATABASE_URL STORAGE_DIR USER_ID POINT

POINT: ``writing`` (the staged file written, before it is synced to disk), ``before-commit`` (the staged file
complete, the row not committed) or ``after-commit`` (the row committed, the file not yet moved into place).
Exits with 3 if it was not killed.
"""

import io
import os
import signal
import sys

import sqlalchemy as sa

from portal import create_app, storage
from portal.auth.models import User
from portal.documents.samples import pdf
from portal.extensions import db
from tests.conftest import Browser


def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def main(database, folder, user_id, point):
    app = create_app(
        {
            "TESTING": True,
            "PORTAL_ENV": "test",
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": database,
            "STORAGE_DIR": folder,
        }
    )
    app.test_client_class = Browser  # signed in as the sign-in form would: a sign-in session row, its id in the cookie
    if point == "writing":
        storage.os.fsync = die
    elif point == "before-commit":
        commit = sa.orm.Session.commit

        def commit_or_die(session):
            if session.info.get(storage.PENDING):  # the commit that would keep the file
                die()
            commit(session)

        sa.orm.Session.commit = commit_or_die
    elif point == "after-commit":
        storage.FolderStorage.keep = die
    else:
        raise SystemExit(f"unknown point {point}")
    with app.app_context():
        user = db.session.get(User, int(user_id))
        db.session.expunge(user)
    data = {
        "kind": "installation",
        "title_zh": "中断的上传",
        "title_en": "",
        "language": "zh",
        "target": "general",
        "model": "",
        "contract": "",
        "description": "",
        "label": "V1.0",
        "note": "",
        "file": (io.BytesIO(pdf("killed", point)), f"{point}.pdf"),
    }
    app.test_client(user=user).post("/documents/new", data=data, content_type="multipart/form-data")
    raise SystemExit(3)


if __name__ == "__main__":
    main(*sys.argv[1:5])
