"""files out of the database: ticket photos and complaint and visit attachments move to storage

Each row's bytes are written to the configured storage (``portal.storage``: the folder or S3 bucket of the
application that runs the migration) under a key of its own, with their SHA-256; then the ``data`` columns go.
One row's bytes are in memory at a time. The key of a row is derived from the table, the row and its bytes: a
migration run again after a failure writes the same files again under the same keys, and leaves none behind that no
row names. Going down puts the bytes back into the rows (the files stay: ``flask documents-check --clean`` of the
earlier version removes them).

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-29 04:30:00

"""

import hashlib
import io

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

TABLES = ("ticket_photo", "complaint_attachment", "visit_attachment")
BATCH = 100  # ids read at a time; the bytes one row at a time


def _table(name):
    return sa.table(
        name,
        sa.column("id", sa.Integer),
        sa.column("data", sa.LargeBinary),
        sa.column("storage_key", sa.String),
        sa.column("sha256", sa.String),
        sa.column("size", sa.Integer),
    )


def _columns(name):
    return {column["name"] for column in sa.inspect(op.get_bind()).get_columns(name)}


def _ids(bind, query):
    """The ids ``query`` selects, BATCH at a time, in order."""
    last = 0
    while True:
        ids = bind.execute(query.where(sa.column("id") > last).order_by(sa.column("id")).limit(BATCH)).scalars().all()
        if not ids:
            return
        yield from ids
        last = ids[-1]


def key_for(table, id_, sha256):
    token = hashlib.sha256(f"{table}:{id_}:{sha256}".encode()).hexdigest()[:32]
    return f"{token[:2]}/{token[2:4]}/{token}"


def upgrade():
    from portal.storage import storage

    store, bind = storage(), op.get_bind()
    for name in TABLES:
        columns = _columns(name)
        if "data" not in columns:
            continue
        missing = [
            c
            for c in (
                sa.Column("storage_key", sa.String(length=100), nullable=True),
                sa.Column("sha256", sa.String(length=64), nullable=True),
            )
            if c.name not in columns
        ]
        if missing:
            with op.batch_alter_table(name, schema=None) as batch_op:
                for column in missing:
                    batch_op.add_column(column)
        t = _table(name)
        for id_ in _ids(bind, sa.select(t.c.id).where(t.c.storage_key.is_(None))):
            data = bind.execute(sa.select(t.c.data).where(t.c.id == id_)).scalar() or b""
            sha256 = hashlib.sha256(data).hexdigest()
            key = key_for(name, id_, sha256)
            store.put(key, io.BytesIO(data))
            bind.execute(sa.update(t).where(t.c.id == id_).values(storage_key=key, sha256=sha256, size=len(data)))
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.alter_column("storage_key", existing_type=sa.String(length=100), nullable=False)
            batch_op.alter_column("sha256", existing_type=sa.String(length=64), nullable=False)
            batch_op.create_unique_constraint(batch_op.f(f"uq_{name}_storage_key"), ["storage_key"])
            batch_op.drop_column("data")


def downgrade():
    from portal.storage import storage

    store, bind = storage(), op.get_bind()
    for name in TABLES:
        columns = _columns(name)
        if "storage_key" not in columns:
            continue
        if "data" not in columns:
            with op.batch_alter_table(name, schema=None) as batch_op:
                batch_op.add_column(sa.Column("data", sa.LargeBinary(), nullable=True))
        t = _table(name)
        for id_ in _ids(bind, sa.select(t.c.id).where(t.c.data.is_(None))):
            key = bind.execute(sa.select(t.c.storage_key).where(t.c.id == id_)).scalar()
            try:
                with store.open(key) as handle:
                    data = handle.read()
            except FileNotFoundError:
                raise RuntimeError(
                    f"{name} {id_}: its file {key} is missing from storage; restore it (or the "
                    "whole storage) before going back to 0029"
                ) from None
            bind.execute(sa.update(t).where(t.c.id == id_).values(data=data))
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"uq_{name}_storage_key"), type_="unique")
            batch_op.drop_column("sha256")
            batch_op.drop_column("storage_key")
