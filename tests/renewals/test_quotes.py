"""Renewal quotes: asked for, priced, issued, accepted or declined or expired; the coverage they give."""

import re
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from portal.equipment.models import Equipment
from portal.equipment.warranty import WarrantyState, add_months
from portal.extensions import db
from portal.i18n import local_today
from portal.renewals import services
from portal.renewals.models import QuoteEvent, RenewalCoverage, RenewalQuote

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


def today(app):
    with app.test_request_context():
        return local_today()


def quote_of(app, quote_id):
    with app.app_context():
        quote = db.session.get(RenewalQuote, quote_id)
        db.session.expunge(quote)
        return quote


def ask(app, user, **query):
    response = app.test_client(user=user).post(
        "/renewals/request", query_string=query, data={"years": "2", "note": "请尽快报价"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


class TestLifecycle:
    def test_request_price_issue_accept(self, app, world):
        quote_id = ask(app, world.a_staff, unit=world.unit_a1.id)
        quote = quote_of(app, quote_id)
        assert (
            re.fullmatch(r"XB-\d{4}-\d{4}", quote.number)
            and quote.status == "requested"
            and quote.client_id == world.a.id
        )
        with app.app_context():
            line = db.session.scalar(sa.select(RenewalQuote).where(RenewalQuote.id == quote_id)).lines[0]
            assert line.amount == D("3808.00")  # 23,800 × 8% × 2 years
            line_id = line.id

        manager = app.test_client(user=world.manager)
        response = manager.post(
            f"/renewals/{quote_id}/lines/{line_id}",
            data={f"l{line_id}-rate_percent": "8", f"l{line_id}-discount_percent": "10", f"l{line_id}-ceiling": "1500"},
        )
        assert response.status_code == 302
        valid = today(app) + timedelta(days=30)
        assert (
            manager.post(
                f"/renewals/{quote_id}/issue", data={"valid_until": valid.isoformat(), "terms": "含上门服务"}
            ).status_code
            == 302
        )
        quote = quote_of(app, quote_id)
        assert quote.status == "issued" and quote.total == D("3000.00")  # capped at 1,500 a year

        assert app.test_client(user=world.a_admin).post(f"/renewals/{quote_id}/accept").status_code == 302
        with app.app_context():
            unit = db.session.get(Equipment, world.unit_a1.id)
            # The warranty (2025-01-15 + 36 months) ends in 2028: the renewal starts the day after, for 2 years,
            # and ends on the day before the same date two years on (two years of days, not one more).
            assert unit.warranty_end == date(2028, 1, 15)
            assert unit.renewed_until == date(2030, 1, 15) and unit.covered_until == date(2030, 1, 15)
            coverage = db.session.scalar(sa.select(RenewalCoverage))
            assert (coverage.starts_on, coverage.ends_on) == (date(2028, 1, 16), date(2030, 1, 15))
            actions = [
                e.action
                for e in db.session.scalars(
                    sa.select(QuoteEvent).where(QuoteEvent.quote_id == quote_id).order_by(QuoteEvent.id)
                )
            ]
            assert actions == ["requested", "line_changed", "issued", "accepted"]
        page = (
            app.test_client(user=world.a_school)
            .get(f"/equipment/{world.unit_a1.id}", headers=EN)
            .get_data(as_text=True)
        )
        assert "Renewed until January 15, 2030" in page and "Renewed" in page

    def test_an_expired_unit_is_covered_from_today(self, app, world, make):
        now = today(app)
        old = make.unit(
            world.contract_a,
            world.a_site1,
            world.model,
            serial="OLD-1",
            unit_price=D("1000"),
            warranty_start=add_months(now, -40),
        )
        quote = make.quote(world.a, [old], status="issued", valid_until=now + timedelta(days=5))
        assert app.test_client(user=world.a_admin).post(f"/renewals/{quote.id}/accept").status_code == 302
        with app.app_context():
            unit = db.session.get(Equipment, old.id)
            assert unit.renewed_until == add_months(now, 12) - timedelta(days=1)  # a year of days from today
            assert unit.warranty_state(now, 90) == WarrantyState.RENEWED
        body = app.test_client(user=world.a_admin).get("/equipment/?state=renewed").get_data(as_text=True)
        assert "OLD-1" in body and "A1-0001" not in body
        overview = app.test_client(user=world.a_admin).get("/warranty/", headers=EN).get_data(as_text=True)
        assert "Renewed" in overview

    def test_whole_contract_is_one_line_and_covers_every_unit(self, app, world, make):
        second = make.unit(world.contract_a, world.a_site2, world.model, serial="A1-0002")
        quote_id = ask(app, world.a_admin, contract=world.contract_a.id)
        with app.app_context():
            quote = db.session.get(RenewalQuote, quote_id)
            assert len(quote.lines) == 1 and quote.lines[0].basis == D("100000.00")
            assert quote.lines[0].amount == D("16000.00")  # 100,000 × 8% × 2
            services.issue(quote, None, today(app), today=today(app))
            services.accept(quote, None, today(app))
            db.session.commit()
            covered = set(db.session.scalars(sa.select(RenewalCoverage.equipment_id)))
        assert covered == {world.unit_a1.id, second.id}

    def test_decline_needs_a_reason(self, app, world, make):
        quote = make.quote(world.a, [world.unit_a1], status="issued", valid_until=today(app))
        admin = app.test_client(user=world.a_admin)
        body = admin.post(f"/renewals/{quote.id}/decline", data={"reason": ""}, headers=EN).get_data(as_text=True)
        assert "Say why you decline" in body
        assert admin.post(f"/renewals/{quote.id}/decline", data={"reason": "预算不足"}).status_code == 302
        assert quote_of(app, quote.id).status == "declined" and quote_of(app, quote.id).decline_reason == "预算不足"

    def test_expired_quotes_cannot_be_accepted(self, app, world, make):
        quote = make.quote(world.a, [world.unit_a1], status="issued", valid_until=today(app) - timedelta(days=1))
        admin = app.test_client(user=world.a_admin)
        # Before the sweep: shown expired, without the decision, and refused.
        body = admin.get(f"/renewals/{quote.id}", headers=EN).get_data(as_text=True)
        assert quote_of(app, quote.id).status == "issued"  # the page wrote nothing
        assert "Expired" in body and "Accept the quote" not in body
        body = admin.post(f"/renewals/{quote.id}/accept", headers=EN).get_data(as_text=True)
        assert "This quote expired on" in body
        body = admin.post(f"/renewals/{quote.id}/decline", data={"reason": "太贵"}, headers=EN).get_data(as_text=True)
        assert "This quote expired on" in body and quote_of(app, quote.id).status == "issued"
        # The sweep records it once; then the state machine refuses.
        with app.app_context():
            assert services.expire_quotes(today(app)) == 1
            assert services.expire_quotes(today(app)) == 0
            assert db.session.scalars(
                sa.select(QuoteEvent.action).where(QuoteEvent.quote_id == quote.id, QuoteEvent.action == "expired")
            ).all() == ["expired"]
        assert quote_of(app, quote.id).status == "expired"
        body = admin.post(f"/renewals/{quote.id}/accept", headers=EN).get_data(as_text=True)
        assert "that step is not possible" in body
        with app.app_context():
            assert db.session.get(Equipment, world.unit_a1.id).renewed_until is None


class TestRules:
    @pytest.mark.parametrize(
        ("status", "step"),
        [
            ("requested", "accept"),
            ("requested", "decline"),
            ("accepted", "issue"),
            ("accepted", "accept"),
            ("declined", "accept"),
            ("expired", "issue"),
            ("issued", "issue"),
        ],
    )
    def test_only_the_allowed_moves(self, app, world, make, status, step):
        quote = make.quote(world.a, [world.unit_a1], status=status, valid_until=today(app) + timedelta(days=9))
        with app.app_context():
            q = db.session.get(RenewalQuote, quote.id)
            action = {
                "accept": lambda: services.accept(q, None, today(app)),
                "decline": lambda: services.decline(q, None, "x", today(app)),
                "issue": lambda: services.issue(q, None, today(app), today=today(app)),
            }[step]
            with pytest.raises(services.QuoteRefused):
                action()

    def test_issued_lines_are_frozen(self, app, world, make):
        quote = make.quote(world.a, [world.unit_a1], status="issued", valid_until=today(app))
        with app.app_context():
            q = db.session.get(RenewalQuote, quote.id)
            with pytest.raises(services.QuoteRefused):
                services.update_line(q, q.lines[0], None, D("0.05"), D("0"), None)
        # ...and a later change of the unit's price does not alter the quote.
        with app.app_context():
            db.session.get(Equipment, world.unit_a1.id).unit_price = D("99999")
            db.session.commit()
            assert db.session.get(RenewalQuote, quote.id).lines[0].amount == D("1904.00")

    def test_numbers_are_unique_and_never_reused(self, app, world):
        with app.app_context():
            numbers = [services.next_number(2026) for _ in range(3)] + [services.next_number(2027)]
            db.session.commit()
        assert numbers == ["XB-2026-0001", "XB-2026-0002", "XB-2026-0003", "XB-2027-0001"]

    def test_a_unit_without_a_price_is_quoted_for_the_vendor_to_price(self, app, world):
        quote_id = ask(app, world.a_staff, unit=world.unit_a2.id)
        with app.app_context():
            line = db.session.get(RenewalQuote, quote_id).lines[0]
            assert line.to_be_priced and line.basis is None and line.amount == 0

    def test_years_are_one_to_three(self, app, world):
        body = (
            app.test_client(user=world.a_staff)
            .post(f"/renewals/request?unit={world.unit_a1.id}", data={"years": "5"}, headers=EN)
            .get_data(as_text=True)
        )
        assert "Not a valid choice" in body

    def test_a_unit_named_with_control_characters_is_refused_saying_why(self, app, world):
        for name in ("unit", "listed"):
            data = {"years": "1", "unit": str(world.unit_a1.id), "listed": str(world.unit_a1.id)}
            data[name] = "\x00"
            response = app.test_client(user=world.a_staff).post("/renewals/request", data=data, headers=EN)
            body = response.get_data(as_text=True)
            assert response.status_code == 200 and "Remove the control characters" in body, name
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(RenewalQuote)) == 2  # the world's own


class TestPages:
    def test_clients_see_their_own_quotes_only(self, app, world):
        body = app.test_client(user=world.a_admin).get("/renewals/").get_data(as_text=True)
        assert world.quote_a.number in body and world.quote_b.number not in body
        vendor = app.test_client(user=world.agent).get("/renewals/").get_data(as_text=True)
        assert world.quote_a.number in vendor and world.quote_b.number in vendor

    def test_request_from_the_equipment_list_selection(self, app, world):
        body = (
            app.test_client(user=world.a_staff)
            .get(f"/renewals/request?id={world.unit_a1.id}&id={world.unit_b.id}", headers=EN)
            .get_data(as_text=True)
        )
        assert "A1-0001" in body and "B-0001" not in body and "1 unit" in body

    def test_printable_quote_in_both_languages(self, app, world, make):
        quote = make.quote(world.a, [world.unit_a1], status="issued", valid_until=date(2026, 12, 31))
        zh = app.test_client(user=world.a_admin).get(f"/renewals/{quote.id}/print", headers=ZH).get_data(as_text=True)
        assert "人民币壹仟玖佰零肆元整" in zh and "续保报价单" in zh and "¥1,904.00" in zh
        en = app.test_client(user=world.a_admin).get(f"/renewals/{quote.id}/print", headers=EN).get_data(as_text=True)
        assert "Renewal quote" in en and "CN¥1,904.00" in en and "壹" not in en

    def test_indicative_prices_on_unit_and_contract_pages(self, app, world):
        unit = (
            app.test_client(user=world.a_school)
            .get(f"/equipment/{world.unit_a1.id}", headers=EN)
            .get_data(as_text=True)
        )
        assert "CN¥1,904.00 a year" in unit
        contract = (
            app.test_client(user=world.a_staff)
            .get(f"/contracts/{world.contract_a.id}", headers=EN)
            .get_data(as_text=True)
        )
        assert "CN¥8,000.00 a year (indicative)" in contract

    def test_price_list(self, app, world):
        body = app.test_client(user=world.a_school).get("/parts/", headers=ZH).get_data(as_text=True)
        assert "触控笔" in body and "¥300.00" in body and "9%" in body
        data = {"name_zh": "电源适配器", "unit_price": "150", "market_price": "165", "models": [str(world.model.id)]}
        assert app.test_client(user=world.manager).post("/parts/new", data=data).status_code == 302
        assert "希沃 F86EA" in app.test_client(user=world.a_staff).get("/parts/").get_data(as_text=True)
