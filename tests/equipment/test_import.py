"""Bulk import: a preview, then all rows or none; errors per row and column in the user's language."""

import io
import re
import time
import zipfile

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from portal.equipment.models import Equipment, ImportBatch
from portal.extensions import db

ZH_HEADER = [
    "合同编号",
    "使用单位",
    "厂商",
    "型号",
    "序列号",
    "资产编号",
    "楼宇",
    "房间",
    "安装日期",
    "质保起始日",
    "质保期限（月）",
    "单价（元）",
    "设备状态",
]
EN_HEADER = [
    "Contract number",
    "Site",
    "Manufacturer",
    "Model number",
    "Serial number",
    "Asset tag",
    "Building",
    "Room",
    "Installed on",
    "Warranty start",
    "Warranty term (months)",
    "Unit price (CNY)",
    "Status",
]


def row(serial, site="甲一中", contract="HT-A-1", **kw):
    values = {"installed_on": "2026-03-01", "start": "", "months": "", "price": "12800", "status": "在用", **kw}
    return [
        contract,
        site,
        "希沃",
        "F86EA",
        serial,
        "ZC-1",
        "教学楼",
        "302",
        values["installed_on"],
        values["start"],
        values["months"],
        values["price"],
        values["status"],
    ]


def as_csv(header, rows, encoding="utf-8-sig"):
    text = "\n".join(",".join(str(c) for c in r) for r in [header, *rows]) + "\n"
    return text.encode(encoding)


def as_xlsx(header, rows):
    book = Workbook()
    book.active.append(header)
    for r in rows:
        book.active.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, data, name, lang="en"):
    return client.post(
        "/equipment/import",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        headers={"Accept-Language": lang},
    )


def count_units(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Equipment))


class TestGoodFiles:
    def test_csv_with_chinese_headers_preview_then_confirm(self, app, world):
        client = app.test_client(user=world.a_staff)
        response = upload(
            client, as_csv(ZH_HEADER, [row("IMP-1"), row("IMP-2", site="A School 2", months="12")]), "设备.csv"
        )
        assert response.status_code == 302
        preview = client.get(response.headers["Location"], headers={"Accept-Language": "en"})
        body = preview.get_data(as_text=True)
        assert "All 2 units are valid and ready to import." in body and "IMP-2" in body
        assert count_units(app) == 3  # nothing saved before the confirmation
        done = client.post(response.headers["Location"])
        assert done.status_code == 302 and count_units(app) == 5
        with app.app_context():
            unit = db.session.scalar(sa.select(Equipment).where(Equipment.serial == "IMP-2"))
            assert unit.site_id == world.a_site2.id and unit.warranty_months == 12 and unit.client_id == world.a.id
            assert str(unit.warranty_end) == "2026-01-15"  # the contract's acceptance 2025-01-15 + 12 months
            assert db.session.get(ImportBatch, int(response.headers["Location"].rsplit("/", 1)[1])) is None

    def test_xlsx_with_english_headers_in_another_order_and_real_dates(self, app, world):
        from datetime import datetime

        header = list(reversed(EN_HEADER))
        rows = [list(reversed(row("X-1", installed_on=datetime(2026, 3, 1), price=12800.5, status="In service")))]
        response = upload(app.test_client(user=world.a_admin), as_xlsx(header, rows), "units.xlsx")
        assert response.status_code == 302

    def test_mixed_headers_and_gbk_csv(self, app, world):
        header = ZH_HEADER[:6] + EN_HEADER[6:]
        response = upload(app.test_client(user=world.a_staff), as_csv(header, [row("GBK-1")], "gb18030"), "excel.csv")
        assert response.status_code == 302

    def test_the_template_round_trips(self, app, world):
        client = app.test_client(user=world.a_staff)
        template = client.get("/equipment/import/template.xlsx", headers={"Accept-Language": "zh-CN"})
        sheet = load_workbook(io.BytesIO(template.data)).active
        header = [c.value for c in next(sheet.iter_rows(max_row=1))]
        assert header == ZH_HEADER
        english = client.get("/equipment/import/template.csv", headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert english.lstrip("\ufeff").startswith(",".join(EN_HEADER))


class TestBadFiles:
    def test_every_problem_with_its_row_and_column_and_nothing_saved(self, app, world):
        rows = [
            row("OK-1"),
            row("", site="没有这个学校"),  # row 3: serial required, unknown site
            row("OK-1"),  # row 4: duplicate of row 2
            row("A1-0001", installed_on="2026-13-01"),  # row 5: registered serial, bad date
            row("Z-1", contract="HT-B-1"),  # row 6: another client's contract
            row("Z-2", months="0", price="abc", status="坏了"),  # row 7
            row("Z-3", months="twelve"),  # row 8
        ]
        body = upload(app.test_client(user=world.a_staff), as_csv(EN_HEADER, rows), "bad.csv").get_data(as_text=True)
        found = set(
            re.findall(
                r'data-label="Row">(\d+)</td><td data-label="Column">([^<]+)</td><td data-label="Problem">([^<]+)<',
                body,
            )
        )
        expected = {
            ("3", "Serial number", "Required."),
            ("3", "Site", "No site of this contract&#39;s client has this name."),
            ("4", "Serial number", "The same serial number appears in row 2."),
            ("5", "Serial number", "A unit of this model with this serial number is already registered."),
            ("5", "Installed on", "Not a date: write it as 2026-09-01."),
            ("6", "Contract number", "No contract with this number (among yours)."),
            ("7", "Warranty term (months)", "Use a number of months from 1 to 240."),
            ("7", "Unit price (CNY)", "Not an amount: write it as 12800 or 12800.50."),
            ("7", "Status", "Unknown status: use one of the template&#39;s."),
            ("8", "Warranty term (months)", "Use a number of months from 1 to 240."),
        }
        assert found == expected
        assert "10 problems; nothing was saved." in body
        assert count_units(app) == 3

    def test_errors_in_chinese(self, app, world):
        body = upload(
            app.test_client(user=world.a_staff), as_csv(ZH_HEADER, [row("", site="没有")]), "错.csv", "zh-CN"
        ).get_data(as_text=True)
        assert "必填。" in body and "该合同所属客户下没有这个名称的使用单位。" in body and "未保存任何数据" in body

    @pytest.mark.parametrize(
        ("data", "name", "message"),
        [
            (b"%PDF-1.4 not a sheet", "manual.pdf", "Upload a .csv or .xlsx file."),
            (b"PK\x03\x04 broken", "units.xlsx", "This is not a readable XLSX file."),
            (b"\n\n", "empty.csv", "The file is empty."),
            (b"\xff\xfe\xfa\xfb\x81\x30", "odd.csv", "The CSV file is not in UTF-8 or GBK encoding."),
        ],
    )
    def test_unreadable_files(self, app, world, data, name, message):
        response = upload(app.test_client(user=world.a_staff), data, name)
        assert response.status_code == 200 and message in response.get_data(as_text=True)

    def test_missing_and_unknown_columns(self, app, world):
        header = [h for h in EN_HEADER if h != "Serial number"] + ["Colour"]
        body = upload(
            app.test_client(user=world.a_staff), as_csv(header, [row("X")[:4] + row("X")[5:] + ["red"]]), "x.csv"
        ).get_data(as_text=True)
        assert "This required column is missing." in body and "Unknown column: use the headers of the template." in body

    def test_no_file(self, app, world):
        body = (
            app.test_client(user=world.a_staff)
            .post("/equipment/import", data={}, headers={"Accept-Language": "en"})
            .get_data(as_text=True)
        )
        assert "Choose a file to import." in body

    def test_confirm_checks_again(self, app, world, make):
        client = app.test_client(user=world.a_staff)
        location = upload(client, as_csv(EN_HEADER, [row("LATE-1")]), "a.csv").headers["Location"]
        make.unit(world.contract_a, world.a_site1, world.model, serial="LATE-1")  # registered meanwhile
        response = client.post(location)
        assert response.status_code == 302 and response.headers["Location"] == location
        assert "already registered" in client.get(location, headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert count_units(app) == 4


# ---------------------------------------------------------------- files too large to read


def huge_xlsx(rows=200_000, dimension=None):
    """The issue's file: 200,000 rows that pack into about 126 KB. openpyxl (write-only) writes the header and one
    row; that row is repeated without its optional ``r`` attributes (as some writers do), so that the rows
    compress to almost nothing. ``dimension``: the sheet's declared size (``<dimension ref="A1:C200001"/>``), which
    openpyxl's write-only files do not declare."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["Contract number", "Site", "Serial number"])
    sheet.append(["HT-2026-001", "示范区第一中学", "SN0001"])
    out = io.BytesIO()
    book.save(out)
    source, packed = zipfile.ZipFile(out), io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                body = re.sub(rb' r="[A-Z]*\d+"', b"", body)
                header, row = re.findall(rb"<row>.*?</row>", body, re.S)
                body = body.replace(header + row, header + row * rows)
                if dimension:
                    body = body.replace(b"<sheetViews>", b'<dimension ref="%s"/><sheetViews>' % dimension.encode())
            archive.writestr(item.filename, body)
    return packed.getvalue()


@pytest.fixture(scope="module")
def issue_file():
    return huge_xlsx()


def timed_upload(app, world, data, name):
    """The response and the processor time the request took. Processor time, not the clock: on this shared
    2-core machine other work can stretch the clock; what the request itself costs is what must stay under 2 s
    (on an idle worker the two are the same)."""
    client = app.test_client(user=world.a_staff)
    started, clock = time.process_time(), time.perf_counter()
    response = upload(client, data, name)
    seconds = time.process_time() - started
    print(f"{name}: {seconds:.2f} s of processor time, {time.perf_counter() - clock:.2f} s on the clock")
    return response, seconds


def test_the_issues_200000_row_xlsx_is_refused_within_2_seconds(app, world, issue_file):
    assert 100_000 < len(issue_file) < 150_000  # the issue's 126 KB
    batches = sa.select(sa.func.count()).select_from(ImportBatch)
    with app.app_context():
        before = db.session.scalar(batches)
    response, seconds = timed_upload(app, world, issue_file, "units.xlsx")
    assert response.status_code == 200
    assert "The file has more than 20000 rows; import at most 20000 at a time." in response.get_data(as_text=True)
    assert seconds < 2, seconds
    assert count_units(app) == 3
    with app.app_context():
        assert db.session.scalar(batches) == before


def test_a_declared_size_over_the_limit_is_refused_before_reading_a_row(app, world, monkeypatch):
    from portal.equipment import io as equipment_io

    def no_row_read(*args, **kwargs):
        raise AssertionError("a row was read")

    monkeypatch.setattr(equipment_io.ReadOnlyWorksheet, "_cells_by_row", no_row_read)
    response, seconds = timed_upload(app, world, huge_xlsx(dimension="A1:C200001"), "units.xlsx")
    assert "The file has 200000 rows; import at most 20000 at a time." in response.get_data(as_text=True)
    assert seconds < 2, seconds


def test_a_200000_row_csv_is_refused_within_2_seconds(app, world):
    data = as_csv(EN_HEADER, [row(f"SN{n}") for n in range(200_000)])
    response, seconds = timed_upload(app, world, data, "units.csv")
    assert "The file has more than 20000 rows" in response.get_data(as_text=True)
    assert seconds < 2, seconds


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_limit_itself_is_accepted_and_one_more_row_refused(app, world, kind):
    app.config["IMPORT_MAX_ROWS"] = 5
    client = app.test_client(user=world.a_staff)
    make_file = as_csv if kind == "csv" else as_xlsx
    rows = [row(f"LIMIT-{n}") for n in range(5)]
    assert upload(client, make_file(EN_HEADER, rows), f"units.{kind}").status_code == 302
    body = upload(client, make_file(EN_HEADER, [*rows, row("LIMIT-5")]), f"units.{kind}").get_data(as_text=True)
    # openpyxl's (not write-only) workbook declares its size: refused from that, with the count
    expected = "more than 5 rows" if kind == "csv" else "6 rows"
    assert f"The file has {expected}; import at most 5 at a time." in body


def test_empty_rows_are_skipped_but_not_read_for_ever(app, world):
    app.config["IMPORT_MAX_ROWS"] = 5
    client = app.test_client(user=world.a_staff)
    gappy = as_csv(EN_HEADER, [row("GAP-1"), *[[""] * 13] * 5, row("GAP-2")])
    assert upload(client, gappy, "units.csv").status_code == 302
    endless = as_csv(EN_HEADER, [row("GAP-3"), *[[""] * 13] * 6])
    assert "The file has more than 5 rows" in upload(client, endless, "units.csv").get_data(as_text=True)


def test_a_declared_size_smaller_than_the_sheet_does_not_lose_rows(app, world):
    data = huge_xlsx(rows=3, dimension="A1:C2")
    header = ["Contract number", "Site", "Serial number"]
    from portal.equipment.io import read_rows

    assert read_rows("units.xlsx", data, 10) == (header, [["HT-2026-001", "示范区第一中学", "SN0001"]] * 3)


def test_a_file_larger_than_the_import_limit_is_refused(app, world):
    app.config["IMPORT_MAX_BYTES"] = 1024 * 1024
    data = as_csv(EN_HEADER, [row("BIG-1")]) + b"#" * (1024 * 1024)
    body = upload(app.test_client(user=world.a_staff), data, "units.csv").get_data(as_text=True)
    assert "The file is larger than 1 MB; import at most 20000 rows at a time." in body


def test_an_xlsx_that_unpacks_to_too_much_is_refused(app, world, monkeypatch):
    from portal.equipment import io as equipment_io

    monkeypatch.setattr(equipment_io, "MAX_UNPACKED", 1024 * 1024)
    body = upload(app.test_client(user=world.a_staff), huge_xlsx(rows=20_000), "units.xlsx").get_data(as_text=True)
    assert "This XLSX file unpacks to more than 1 MB" in body


def test_a_csv_field_too_long_to_read_is_refused(app, world):
    data = b'Serial number\n"' + b"x" * 200_000 + b'"\n'
    body = upload(app.test_client(user=world.a_staff), data, "units.csv").get_data(as_text=True)
    assert "This is not a readable CSV file." in body


def test_the_import_shows_the_files_normalised_name(app, world):
    body = upload(
        app.test_client(user=world.a_staff), as_csv(EN_HEADER, [row("", site="x")]), "../设备\u202e清单.csv"
    ).get_data(as_text=True)
    assert "设备清单.csv: 2 problems" in body and "\u202e" not in body and "../" not in body


def test_a_sheet_of_too_many_cells_is_refused_before_they_are_all_read(app, world):
    app.config["IMPORT_MAX_ROWS"] = 10
    wide = as_xlsx(EN_HEADER + [f"Extra {n}" for n in range(30)], [row(f"W-{n}") + ["x"] * 30 for n in range(10)])
    body = upload(app.test_client(user=world.a_staff), wide, "units.xlsx").get_data(as_text=True)
    assert "The file has too many cells: import at most 10 rows of the template&#39;s columns at a time." in body


def test_a_cell_far_to_the_right_does_not_make_a_row_of_16384_values(app, world):
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.active.append(EN_HEADER)
    book.active.append(row("FAR-1"))
    book.active[f"{get_column_letter(16384)}2"] = "far away"
    out = io.BytesIO()
    book.save(out)
    from portal.equipment.io import read_rows

    with app.test_request_context():
        header, rows = read_rows("units.xlsx", out.getvalue(), 10)
    # the far cell is not kept, nor the 16,000 empty ones before it (openpyxl reads "" back as None)
    assert header == EN_HEADER and rows == [[c if c != "" else None for c in row("FAR-1")]]


@pytest.mark.parametrize("rows", [20_001, 30_000])
def test_rows_over_the_limit_but_not_over_twice_it_are_refused_after_reading_the_limit(app, world, rows):
    response, seconds = timed_upload(app, world, huge_xlsx(rows=rows), "units.xlsx")
    assert "The file has more than 20000 rows" in response.get_data(as_text=True)
    assert seconds < 4, seconds


def prefixed(data):
    """The same workbook with its sheet's elements named with a prefix (<x:row>), as the OpenXML SDK writes them."""
    source, packed = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                body = re.sub(rb"<(/?)([A-Za-z]+)", rb"<\1x:\2", body)
                body = body.replace(b'<x:worksheet xmlns="', b'<x:worksheet xmlns:x="')
            archive.writestr(item.filename, body)
    return packed.getvalue()


def test_rows_are_counted_with_a_prefixed_namespace_too(app):
    from portal.equipment.io import FileProblem, read_rows

    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert read_rows("units.xlsx", prefixed(huge_xlsx(rows=2)), 10) == (
            ["Contract number", "Site", "Serial number"],
            [["HT-2026-001", "示范区第一中学", "SN0001"]] * 2,
        )
        data = prefixed(huge_xlsx())
        started = time.process_time()
        with pytest.raises(FileProblem) as refused:
            read_rows("units.xlsx", data, 20_000)
        assert time.process_time() - started < 0.5  # counted, not read row by row
        assert str(refused.value) == "The file has more than 20000 rows; import at most 20000 at a time."


@pytest.fixture
def demo(app):
    """The demo's data (portal.demo.seed): its users, detached."""
    from portal.auth.models import User
    from portal.demo import seed

    with app.app_context():
        seed()
        db.session.commit()
        users = {u.role: u for u in db.session.scalars(sa.select(User).order_by(User.id.desc()))}
        db.session.expunge_all()
    return users


def template_file(client, fmt, lang):
    return client.get(f"/equipment/import/template.{fmt}", headers={"Accept-Language": lang}).data


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("role", ["client_admin", "vendor_manager"])
def test_the_template_as_downloaded_imports_cleanly_on_the_demo(app, demo, fmt, lang, role):
    client = app.test_client(user=demo[role])
    data = template_file(client, fmt, lang)
    before = count_units(app)
    response = upload(client, data, f"equipment-template.{fmt}", lang=lang)
    assert response.status_code == 302, re.findall(r"<td[^>]*>([^<]*)</td>", response.get_data(as_text=True))
    preview = client.get(response.headers["Location"], headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "1 unit is ready to import." in preview
    assert client.post(response.headers["Location"]).status_code == 302 and count_units(app) == before + 1


def test_the_templates_example_is_the_clients_own(app, demo):
    from portal.contracts.models import Contract

    client = app.test_client(user=demo["client_admin"])
    sheet = load_workbook(io.BytesIO(template_file(client, "xlsx", "zh-CN"))).active
    rows = list(sheet.values)
    assert len(rows) == 2 and rows[1][0] != "HT-2026-001"
    with app.app_context():
        contract = db.session.scalar(sa.select(Contract).where(Contract.number == rows[1][0]))
        assert contract.client_id == demo["client_admin"].client_id
    english = list(load_workbook(io.BytesIO(template_file(client, "xlsx", "en"))).active.values)[1]
    assert english[0] == rows[1][0] and english[2] != rows[1][2]  # the maker in the reader's language


@pytest.mark.parametrize("maker", ["希沃", "Seewo", "SEEWO", "seewo", " Seewo "])
def test_a_maker_is_recognised_in_either_language(app, world, maker):
    with app.app_context():
        from portal.catalog.models import EquipmentModel

        db.session.get(EquipmentModel, world.model.id).manufacturer_en = "Seewo"
        db.session.commit()
    client = app.test_client(user=world.a_staff)
    fields = row("MAKER-1")
    fields[2] = maker
    response = upload(client, as_csv(ZH_HEADER, [row("MAKER-ZH"), fields]), "units.csv")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert client.post(response.headers["Location"]).status_code == 302
    with app.app_context():
        units = db.session.scalars(sa.select(Equipment).where(Equipment.serial.in_(["MAKER-1", "MAKER-ZH"]))).all()
        assert len(units) == 2 and {unit.model_id for unit in units} == {world.model.id}
