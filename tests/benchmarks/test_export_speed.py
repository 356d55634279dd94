"""Benchmark: the vendor agent exports every unit, CSV and XLSX, as a browser downloads them (the body read to its
end). The issue's size is 100,000 units (``EXPORT_BENCH_UNITS`` sets another); seeded with bulk Core inserts.

Measured, not asserted: prints seconds and the peak of Python's memory (tracemalloc, a second run, as tracing
slows the code down) for each format. `make bench` runs the benchmarks; e.g.
``EXPORT_BENCH_UNITS=100000 .venv/bin/python -m pytest tests/benchmarks/test_export_speed.py -s --benchmark-only``.
"""

import os
import time
import tracemalloc
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.equipment.models import Equipment
from portal.extensions import db

UNITS = int(os.environ.get("EXPORT_BENCH_UNITS", "100000"))


def seed(app, world, units):
    contracts = [world.contract_a, world.contract_a2, world.contract_b]
    sites = [world.a_site1, world.a_site2, world.b_site]
    rows = [
        dict(
            client_id=contracts[n % 3].client_id,
            site_id=sites[n % 3].id,
            contract_id=contracts[n % 3].id,
            model_id=world.model.id,
            serial=f"BENCH-{n:06d}",
            asset_tag=f"ZC-{n:06d}",
            building="教学楼",
            room=str(100 + n % 400),
            installed_on=date(2024, 1 + n % 12, 1),
            unit_price=Decimal("12800.00"),
            status="in_service",
            extension_days=0,
            warranty_end=date(2027, 1 + n % 12, 1),
            covered_until=date(2027, 1 + n % 12, 1),
            replacement_note="",
        )
        for n in range(units)
    ]
    with app.app_context():
        for start in range(0, units, 10_000):
            db.session.execute(sa.insert(Equipment), rows[start : start + 10_000])
        db.session.commit()


def download(client, url):
    response = client.get(url)
    assert response.status_code == 200
    size = sum(len(chunk) for chunk in response.response)  # read as a browser does, chunk by chunk
    response.close()
    return size


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_every_unit(benchmark, app, world, fmt):
    seed(app, world, UNITS)
    client = app.test_client(user=world.agent)
    url = f"/equipment/export.{fmt}"
    started = time.perf_counter()
    size = benchmark.pedantic(download, args=(client, url), rounds=1, iterations=1)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    download(client, url)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    benchmark.extra_info.update(units=UNITS, bytes=size, peak_mb=round(peak / 2**20, 1))
    print(
        f"\n{fmt}: {UNITS} units, {size / 2**20:.1f} MB in {seconds:.1f} s, peak Python memory "
        f"{peak / 2**20:.1f} MB (tracemalloc)"
    )
