"""Bulk import: a preview, then all rows or none; errors per row and column in the user's language."""
import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from portal.equipment.models import Equipment, ImportBatch
from portal.extensions import db

ZH_HEADER = ["合同编号", "使用单位", "厂商", "型号", "序列号", "资产编号", "楼宇", "房间", "安装日期", "质保起始日",
             "质保期限（月）", "单价（元）", "设备状态"]
EN_HEADER = ["Contract number", "Site", "Manufacturer", "Model number", "Serial number", "Asset tag", "Building",
             "Room", "Installed on", "Warranty start", "Warranty term (months)", "Unit price (CNY)", "Status"]


def row(serial, site="甲一中", contract="HT-A-1", **kw):
    values = {"installed_on": "2026-03-01", "start": "", "months": "", "price": "12800", "status": "在用", **kw}
    return [contract, site, "希沃", "F86EA", serial, "ZC-1", "教学楼", "302", values["installed_on"], values["start"],
            values["months"], values["price"], values["status"]]


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
    return client.post("/equipment/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", headers={"Accept-Language": lang})


def count_units(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Equipment))


class TestGoodFiles:
    def test_csv_with_chinese_headers_preview_then_confirm(self, app, world):
        client = app.test_client(user=world.a_staff)
        response = upload(client, as_csv(ZH_HEADER, [row("IMP-1"), row("IMP-2", site="A School 2", months="12")]), "设备.csv")
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
            row("", site="没有这个学校"),                      # row 3: serial required, unknown site
            row("OK-1"),                                        # row 4: duplicate of row 2
            row("A1-0001", installed_on="2026-13-01"),          # row 5: registered serial, bad date
            row("Z-1", contract="HT-B-1"),                      # row 6: another client's contract
            row("Z-2", months="0", price="abc", status="坏了"),  # row 7
            row("Z-3", months="twelve"),                          # row 8
        ]
        body = upload(app.test_client(user=world.a_staff), as_csv(EN_HEADER, rows), "bad.csv").get_data(as_text=True)
        found = set(re.findall(r'data-label="Row">(\d+)</td><td data-label="Column">([^<]+)</td><td data-label="Problem">([^<]+)<', body))
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
        body = upload(app.test_client(user=world.a_staff), as_csv(ZH_HEADER, [row("", site="没有")]), "错.csv", "zh-CN"
                      ).get_data(as_text=True)
        assert "必填。" in body and "该合同所属客户下没有这个名称的使用单位。" in body and "未保存任何数据" in body

    @pytest.mark.parametrize(("data", "name", "message"), [
        (b"%PDF-1.4 not a sheet", "manual.pdf", "Upload a .csv or .xlsx file."),
        (b"PK\x03\x04 broken", "units.xlsx", "This is not a readable XLSX file."),
        (b"\n\n", "empty.csv", "The file is empty."),
        (b"\xff\xfe\xfa\xfb\x81\x30", "odd.csv", "The CSV file is not in UTF-8 or GBK encoding."),
    ])
    def test_unreadable_files(self, app, world, data, name, message):
        response = upload(app.test_client(user=world.a_staff), data, name)
        assert response.status_code == 200 and message in response.get_data(as_text=True)

    def test_missing_and_unknown_columns(self, app, world):
        header = [h for h in EN_HEADER if h != "Serial number"] + ["Colour"]
        body = upload(app.test_client(user=world.a_staff), as_csv(header, [row("X")[:4] + row("X")[5:] + ["red"]]),
                      "x.csv").get_data(as_text=True)
        assert "This required column is missing." in body and "Unknown column: use the headers of the template." in body

    def test_no_file(self, app, world):
        body = app.test_client(user=world.a_staff).post("/equipment/import", data={}, headers={"Accept-Language": "en"}
                                                        ).get_data(as_text=True)
        assert "Choose a file to import." in body

    def test_confirm_checks_again(self, app, world, make):
        client = app.test_client(user=world.a_staff)
        location = upload(client, as_csv(EN_HEADER, [row("LATE-1")]), "a.csv").headers["Location"]
        make.unit(world.contract_a, world.a_site1, world.model, serial="LATE-1")  # registered meanwhile
        response = client.post(location)
        assert response.status_code == 302 and response.headers["Location"] == location
        assert "already registered" in client.get(location, headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert count_units(app) == 4
