"""Benchmark: importing 10,000 rows as a user does it — upload the XLSX (read, validate every row), see the
preview, confirm (validated once more, inserted). The issue's figure is under 10 seconds.

Measured, not asserted: a time limit in a test fails on a slow machine for no fault of the code. The run
prints pytest-benchmark's table; `make bench` runs only the benchmarks.
"""

import io

import sqlalchemy as sa
from openpyxl import Workbook

from portal.equipment.models import Equipment
from portal.extensions import db

from ..equipment.test_import import EN_HEADER, row

ROWS = 10_000


def workbook(rows):
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(EN_HEADER)
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_import_10000_rows(benchmark, app, world):
    data = workbook([row(f"BENCH-{n:05d}", site="甲一中" if n % 2 else "A School 2") for n in range(ROWS)])
    client = app.test_client(user=world.a_staff)

    def import_as_a_user():
        uploaded = client.post(
            "/equipment/import", data={"file": (io.BytesIO(data), "units.xlsx")}, content_type="multipart/form-data"
        )
        preview = uploaded.headers["Location"]
        assert client.get(preview).status_code == 200
        return client.post(preview).status_code

    assert benchmark.pedantic(import_as_a_user, rounds=1, iterations=1) == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Equipment.serial.like("BENCH-%"))) == ROWS
