"""Registering, listing, exporting and labelling units; the warranty overview; contracts and models."""

import csv
import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from portal.contracts.models import Contract
from portal.equipment.models import Equipment, WarrantyExtension
from portal.equipment.warranty import add_months
from portal.extensions import db
from portal.i18n import local_today

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


def today(app):
    with app.test_request_context():
        return local_today()


def unit_data(world, **changes):
    data = {
        "contract": world.contract_a.id,
        "site": world.a_site1.id,
        "model": world.model.id,
        "serial": "NEW-001",
        "asset_tag": "ZC-9",
        "building": "教学楼",
        "room": "302",
        "status": "in_service",
    }
    data.update(changes)
    return data


class TestRegistering:
    def test_client_staff_registers_a_unit_with_the_contracts_warranty(self, app, world):
        response = app.test_client(user=world.a_staff).post("/equipment/new", data=unit_data(world))
        assert response.status_code == 302
        with app.app_context():
            unit = db.session.scalar(sa.select(Equipment).where(Equipment.serial == "NEW-001"))
            assert unit.client_id == world.a.id and unit.warranty_start is None
            assert unit.warranty_end == add_months(date(2025, 1, 15), 36)  # the contract's acceptance + term
        assert response.headers["Location"] == f"/equipment/{unit.id}"

    def test_own_start_and_term_override_the_contract(self, app, world):
        data = unit_data(world, warranty_start="2026-01-31", warranty_months="1")
        assert app.test_client(user=world.a_staff).post("/equipment/new", data=data).status_code == 302
        with app.app_context():
            assert db.session.scalar(sa.select(Equipment.warranty_end).where(Equipment.serial == "NEW-001")) == date(
                2026, 2, 28
            )

    def test_another_clients_contract_or_site_is_not_a_choice(self, app, world):
        client = app.test_client(user=world.a_staff)
        body = client.post("/equipment/new", data=unit_data(world, contract=world.contract_b.id), headers=EN).get_data(
            as_text=True
        )
        assert "Not a valid choice" in body
        body = client.post("/equipment/new", data=unit_data(world, site=world.b_site.id), headers=EN).get_data(
            as_text=True
        )
        assert "Not a valid choice" in body
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Equipment)) == 3

    def test_vendor_site_must_belong_to_the_contracts_client(self, app, world):
        body = (
            app.test_client(user=world.manager)
            .post("/equipment/new", data=unit_data(world, site=world.b_site.id), headers=EN)
            .get_data(as_text=True)
        )
        assert "This site is not one of the contract" in body

    def test_serial_is_unique_per_model_and_input_is_kept(self, app, world, make):
        client = app.test_client(user=world.a_staff)
        body = client.post("/equipment/new", data=unit_data(world, serial="A1-0001", room="楼顶"), headers=EN).get_data(
            as_text=True
        )
        assert "A unit of this model with this serial number is already registered." in body
        assert 'value="楼顶"' in body
        other_model = make.model(manufacturer="鸿合", model_number="HD-1")
        assert (
            client.post("/equipment/new", data=unit_data(world, serial="A1-0001", model=other_model.id)).status_code
            == 302
        )

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("serial", "", "This field is required."),
            ("warranty_months", "0", "Use a number of months from 1 to 240."),
            ("warranty_months", "abc", "Not a valid integer value."),
            ("unit_price", "-1", "The price cannot be negative."),
            ("installed_on", "31/02/2026", "Not a valid date value."),
        ],
    )
    def test_each_field_says_what_is_wrong(self, app, world, field, value, message):
        body = (
            app.test_client(user=world.a_staff)
            .post("/equipment/new", data=unit_data(world, **{field: value}), headers=EN)
            .get_data(as_text=True)
        )
        assert message in body

    def test_messages_in_chinese(self, app, world):
        body = (
            app.test_client(user=world.a_staff)
            .post("/equipment/new", data=unit_data(world, serial="", warranty_months="0"), headers=ZH)
            .get_data(as_text=True)
        )
        assert "此项为必填项。" in body and "请输入 1 到 240 之间的月数。" in body

    def test_edit_moves_a_unit_to_another_room(self, app, world):
        data = unit_data(world, serial="A1-0001", room="401")
        assert (
            app.test_client(user=world.a_admin).post(f"/equipment/{world.unit_a1.id}/edit", data=data).status_code
            == 302
        )
        with app.app_context():
            assert db.session.get(Equipment, world.unit_a1.id).room == "401"


class TestExtensions:
    def test_vendor_extends_visibly_and_the_end_moves(self, app, world):
        before = world.unit_a1.warranty_end
        agent = app.test_client(user=world.agent)
        response = agent.post(
            f"/equipment/{world.unit_a1.id}/extensions", data={"days": "60", "reason": "报修单未在48小时内修复"}
        )
        assert response.status_code == 302
        with app.app_context():
            unit = db.session.get(Equipment, world.unit_a1.id)
            assert unit.warranty_end == before + timedelta(days=60) and unit.extension_days == 60
            extension = db.session.scalar(sa.select(WarrantyExtension))
            assert extension.created_by_id == world.agent.id
        page = app.test_client(user=world.a_school).get(f"/equipment/{world.unit_a1.id}").get_data(as_text=True)
        assert "报修单未在48小时内修复" in page and "+60" in page

    def test_an_extension_needs_a_reason(self, app, world):
        body = (
            app.test_client(user=world.agent)
            .post(f"/equipment/{world.unit_a1.id}/extensions", data={"days": "60", "reason": ""}, headers=EN)
            .get_data(as_text=True)
        )
        assert "Say why the warranty is extended." in body

    def test_changing_the_contracts_acceptance_moves_its_units(self, app, world):
        data = {
            "client": world.a.id,
            "number": "HT-A-1",
            "title": "项目",
            "accepted_on": "2026-03-31",
            "price": "100000",
            "warranty_months": "12",
            "renewal_percent": "8",
        }
        assert (
            app.test_client(user=world.manager).post(f"/contracts/{world.contract_a.id}/edit", data=data).status_code
            == 302
        )
        with app.app_context():
            assert db.session.get(Equipment, world.unit_a1.id).warranty_end == date(2027, 3, 31)


class TestList:
    @pytest.fixture
    def spread(self, app, world, make):
        """Units whose warranty ends at known distances from today."""
        now = today(app)
        ends = {"expired": -10, "expiring": 30, "in_warranty": 400}
        units = {}
        for name, offset in ends.items():
            start = add_months(now + timedelta(days=offset), -36)
            units[name] = make.unit(
                world.contract_a, world.a_site1, world.model, serial=f"S-{name}", warranty_start=start
            )
        units["pending"] = make.unit(
            make.contract(world.a, accepted_on=None), world.a_site2, world.model, serial="S-pending"
        )
        return units

    @pytest.mark.parametrize("state", ["expired", "expiring", "in_warranty", "pending"])
    def test_filter_by_warranty_state(self, app, world, spread, state):
        body = app.test_client(user=world.a_admin).get(f"/equipment/?state={state}").get_data(as_text=True)
        for name in spread:
            assert (f"S-{name}" in body) == (name == state), name

    def test_search_as_you_type_returns_the_table_only(self, app, world, spread):
        response = app.test_client(user=world.a_admin).get("/equipment/?q=s-exp", headers={"HX-Request": "true"})
        body = response.get_data(as_text=True)
        assert "<html" not in body and "S-expired" in body and "S-expiring" in body and "S-in_warranty" not in body

    def test_sorted_by_warranty_end(self, app, world, spread):
        body = app.test_client(user=world.a_admin).get("/equipment/?sort=end&q=S-").get_data(as_text=True)
        assert (
            body.index("S-expired") < body.index("S-expiring") < body.index("S-in_warranty") < body.index("S-pending")
        )
        body = app.test_client(user=world.a_admin).get("/equipment/?sort=-end&q=S-").get_data(as_text=True)
        assert body.index("S-in_warranty") < body.index("S-expiring") < body.index("S-expired")

    def test_site_admin_sees_their_school_only(self, app, world, spread):
        body = app.test_client(user=world.a_school).get("/equipment/").get_data(as_text=True)
        assert "A1-0001" in body and "S-expired" in body and "A2-0001" not in body and "S-pending" not in body
        # A site filter naming another school changes nothing.
        body = app.test_client(user=world.a_school).get(f"/equipment/?site={world.a_site2.id}").get_data(as_text=True)
        assert "A2-0001" not in body

    def test_bounded_queries_whatever_the_number_of_units(self, app, world, make, count_queries):
        browser = app.test_client(user=world.a_admin)
        with count_queries() as few:
            browser.get("/equipment/")
            browser.get("/warranty/")
        other_model = make.model()
        for n in range(40):
            make.unit(
                world.contract_a if n % 2 else world.contract_a2,
                world.a_site1 if n % 3 else world.a_site2,
                other_model if n % 2 else world.model,
                serial=f"BULK-{n:03d}",
            )
        with count_queries() as many:
            listing = browser.get("/equipment/")
            browser.get("/warranty/")
        assert many.count == few.count, many.statements
        assert "BULK-" in listing.get_data(as_text=True)


class TestExport:
    def test_csv_follows_the_filter_and_the_scope(self, app, world):
        response = app.test_client(user=world.a_admin).get("/equipment/export.csv?q=A", headers=EN)
        assert response.headers["Content-Disposition"].startswith("attachment; filename=equipment-")
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
        assert rows[0][:5] == ["Contract number", "Site", "Manufacturer", "Model number", "Serial number"]
        serials = {r[4] for r in rows[1:]}
        assert serials == {"A1-0001", "A2-0001"}  # not B's unit

    def test_xlsx_headers_in_the_readers_language(self, app, world):
        response = app.test_client(user=world.a_school).get("/equipment/export.xlsx", headers=ZH)
        sheet = load_workbook(io.BytesIO(response.data)).active
        rows = list(sheet.values)
        assert rows[0][:2] == ("合同编号", "使用单位") and rows[0][-3:] == ("质保到期日", "质保状态", "剩余天数")
        assert [r[4] for r in rows[1:]] == ["A1-0001"]


class TestLabels:
    def test_selected_units_with_vendor_hotline_and_qr(self, app, world):
        body = (
            app.test_client(user=world.a_staff)
            .get(f"/equipment/labels?id={world.unit_a1.id}&id={world.unit_b.id}", headers=ZH)
            .get_data(as_text=True)
        )
        assert body.count('class="label"') == 1  # B's unit is not the user's: silently left out
        assert "A1-0001" in body and "400-000-0000" in body
        qr = app.test_client(user=world.a_staff).get(f"/equipment/{world.unit_a1.id}/qr.svg")
        assert qr.mimetype == "image/svg+xml" and qr.data.startswith(b"<svg")

    def test_labels_of_the_current_filter(self, app, world):
        body = app.test_client(user=world.a_admin).get("/equipment/labels?q=A2").get_data(as_text=True)
        assert body.count('class="label"') == 1 and "A2-0001" in body


class TestOverview:
    def test_counts_and_scope(self, app, world, make):
        now = today(app)
        make.unit(
            world.contract_a,
            world.a_site1,
            world.model,
            serial="SOON",
            warranty_start=add_months(now + timedelta(days=20), -36),
        )
        page = app.test_client(user=world.a_school).get("/warranty/", headers=EN).get_data(as_text=True)
        assert "SOON" in page and "A2-0001" not in page and "By site" not in page
        admin = app.test_client(user=world.a_admin).get("/warranty/", headers=EN).get_data(as_text=True)
        assert "By site" in admin and "A School 2" in admin and "B Data Room" not in admin

    def test_expiring_by_month(self, app, world, make):
        from portal.equipment import tally

        now = today(app)
        client = make.client()
        site, contract = make.site(client), make.contract(client)
        for days in (0, 1, 40, 200, 400):
            make.unit(
                contract,
                site,
                world.model,
                serial=f"M{days}",
                warranty_start=add_months(now + timedelta(days=days), -36),
            )
        with app.test_request_context():
            months = tally.expiring_by_month(world.manager, now, client_id=client.id)
        assert len(months) == 12 and sum(c for _, c in months) == 4  # 400 days is beyond the 12 months
        assert months[0][0] == now.replace(day=1) and months[0][1] >= 2


class TestContractsAndModels:
    def test_manager_creates_a_contract(self, app, world):
        data = {
            "client": world.b.id,
            "number": "HT-NEW",
            "title": "新项目",
            "signed_on": "2026-01-05",
            "accepted_on": "2026-03-01",
            "price": "1234567.89",
            "warranty_months": "36",
            "renewal_percent": "8",
        }
        assert app.test_client(user=world.manager).post("/contracts/new", data=data).status_code == 302
        with app.app_context():
            contract = db.session.scalar(sa.select(Contract).where(Contract.number == "HT-NEW"))
            assert str(contract.price) == "1234567.89" and str(contract.renewal_rate) == "0.0800"
        body = app.test_client(user=world.b_staff).get(f"/contracts/{contract.id}", headers=ZH).get_data(as_text=True)
        assert "¥1,234,567.89" in body and "8%" in body

    def test_contract_validation(self, app, world):
        data = {
            "client": world.b.id,
            "number": "HT-A-1",
            "title": "x",
            "signed_on": "2026-03-05",
            "accepted_on": "2026-03-01",
            "price": "-5",
            "warranty_months": "36",
            "renewal_percent": "120",
        }
        body = app.test_client(user=world.manager).post("/contracts/new", data=data, headers=EN).get_data(as_text=True)
        for message in (
            "Acceptance cannot come before signing.",
            "The price cannot be negative.",
            "Use a percentage from 0 to 100.",
        ):
            assert message in body

    def test_site_admin_sees_only_contracts_with_units_at_their_school(self, app, world):
        body = app.test_client(user=world.a_school).get("/contracts/").get_data(as_text=True)
        assert "HT-A-1" in body and "HT-A-2" not in body and "HT-B-1" not in body

    def test_model_is_unique_per_manufacturer(self, app, world):
        data = {"manufacturer": "希沃", "model_number": "F86EA", "category": "touch", "name_zh": "平板"}
        body = app.test_client(user=world.agent).post("/models/new", data=data, headers=EN).get_data(as_text=True)
        assert "This manufacturer already has a model with this number." in body
        assert (
            app.test_client(user=world.agent).post("/models/new", data={**data, "manufacturer": "鸿合"}).status_code
            == 302
        )


def test_zero_is_a_value_and_a_bad_number_says_so(app, world):
    manager = app.test_client(user=world.manager)
    data = {
        "client": world.b.id,
        "number": "HT-ZERO",
        "title": "赠送项目",
        "price": "0",
        "warranty_months": "12",
        "renewal_percent": "0",
    }
    assert manager.post("/contracts/new", data=data).status_code == 302  # a free system, no renewal fee
    body = manager.post("/contracts/new", data={**data, "number": "HT-BAD", "price": "abc"}, headers=EN).get_data(
        as_text=True
    )
    assert "Not a valid decimal value." in body and "This field is required." not in body


def test_after_a_renewal_the_unit_page_and_the_list_show_the_warranty_end_and_the_renewed_cover_alike(app, world):
    """One label, one meaning: "Warranty end" is the warranty's own end everywhere, with its own days; the renewal's
    cover is a second fact, with the days of cover left."""
    from datetime import timedelta

    from portal.equipment import warranty
    from portal.equipment.models import Equipment
    from portal.extensions import db
    from portal.i18n import local_today

    with app.test_request_context():
        today = local_today()
    with app.app_context():
        unit = db.session.get(Equipment, world.unit_a1.id)
        unit.warranty_start, unit.warranty_months = today - timedelta(days=300), 12
        unit.warranty_end = warranty.warranty_end(unit.warranty_start, 12)
        unit.renewed_until = warranty.add_months(unit.warranty_end, 24)
        unit.covered_until = unit.renewed_until
        end, renewed = unit.warranty_end, unit.renewed_until
        db.session.commit()
    browser = app.test_client(user=world.a_admin)
    page = browser.get(f"/equipment/{world.unit_a1.id}?lang=en").get_data(as_text=True)
    long = lambda d: f"{d:%B} {d.day}, {d.year}"  # noqa: E731 - Babel's "long" in English
    assert long(end) in page and f"{(end - today).days} days left" in page  # the warranty's own days
    assert "Renewed cover until" in page and f"{(renewed - today).days} days left" in page
    listed = browser.get(f"/equipment/?q={world.unit_a1.serial}&lang=en").get_data(as_text=True)
    short = lambda d: f"{d:%b} {d.day}, {d.year}"  # noqa: E731 - Babel's "medium" in English
    assert short(end) in listed and f"Renewed cover until {short(renewed)}" in listed


def test_a_units_qr_code_is_encoded_once_per_address(app, world, monkeypatch):
    import segno

    from portal.equipment import views

    views.qr_svg.cache_clear()
    calls = []
    real = segno.make
    monkeypatch.setattr(segno, "make", lambda *a, **kw: calls.append(a[0]) or real(*a, **kw))
    browser = app.test_client(user=world.agent)
    first = browser.get(f"/equipment/{world.unit_a1.id}").get_data(as_text=True)
    second = browser.get(f"/equipment/{world.unit_a1.id}").get_data(as_text=True)
    browser.get(f"/equipment/{world.unit_b.id}")
    assert calls == [f"http://localhost/equipment/{world.unit_a1.id}", f"http://localhost/equipment/{world.unit_b.id}"]
    svg = re.search(r"<svg.*?</svg>", first, re.S).group(0)
    assert svg in second
