"""A quote for the expiring units when one of them has no price: the requester sees which and why, leaves it out
or keeps it for the vendor to price on the quote; the other units never wait."""

import html.parser
from datetime import timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from portal.equipment.warranty import add_months
from portal.extensions import db
from portal.i18n import local_today
from portal.renewals.models import QuoteLine, RenewalQuote

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}
REASON = {
    "en": "No price is recorded for this unit, and the contract's transaction price is the price of the whole "
    "contract, not of one unit.",
    "zh": "该设备没有登记单价；合同的系统成交价是整个合同的价格，不是单台设备的价格。",
}


class _RequestForm(html.parser.HTMLParser):
    """What the browser sends with the request form: its hidden fields, the selects' choices and the ticked boxes,
    those inside the form and those outside naming it (``form="request-form"``); and each box's state."""

    def __init__(self):
        super().__init__()
        self.inside, self.select, self.fields, self.boxes = False, None, [], {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == "request-form" or (a.get("method") == "post" and not a.get("action"))
        if not (self.inside or a.get("form") == "request-form"):
            return
        if tag == "select":
            self.select = a.get("name")
        elif tag == "option" and self.select and ("selected" in a or self.select not in dict(self.fields)):
            self.fields = [(k, v) for k, v in self.fields if k != self.select] + [(self.select, a.get("value", ""))]
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "")
            if kind == "checkbox":
                self.boxes[int(a["value"])] = "checked" in a
                if "checked" not in a:
                    return
            if kind not in ("submit", "button"):
                self.fields.append((a["name"], a.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None


def read_form(page):
    parser = _RequestForm()
    parser.feed(page)
    return parser


def send(fields, **changes):
    """The fields as a form post (several values under one name kept), with ``changes`` replacing names."""
    data = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    data.update(changes)
    return data


@pytest.fixture
def expiring(app, world, make):
    """Three of client A's units whose warranty ends within weeks; the second has no price."""
    with app.test_request_context():
        today = local_today()
    start = add_months(today + timedelta(days=20), -12)
    units = [
        make.unit(
            world.contract_a,
            world.a_site1,
            world.model,
            serial=f"EXP-{n}",
            unit_price=price,
            warranty_start=start,
            warranty_months=12,
        )
        for n, price in ((1, D("10000.00")), (2, None), (3, D("5000.00")))
    ]
    return units


def quotes_of(app, client_id):
    with app.app_context():
        return db.session.scalars(
            sa.select(RenewalQuote).where(RenewalQuote.client_id == client_id).order_by(RenewalQuote.id)
        ).all()


def lines_of(app, quote_id):
    with app.app_context():
        lines = db.session.scalars(
            sa.select(QuoteLine).where(QuoteLine.quote_id == quote_id).order_by(QuoteLine.id)
        ).all()
        db.session.expunge_all()
        return lines


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_unpriceable_unit_is_listed_with_its_reason_and_left_unticked(app, world, expiring, lang):
    page = app.test_client(user=world.a_staff).get(f"/renewals/request?state=expiring&lang={lang}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    form = read_form(body)
    priced, unpriced, other = expiring
    assert form.boxes[priced.id] and form.boxes[other.id] and form.boxes[unpriced.id] is False
    assert REASON[lang] in body.replace("&#39;", "'") and body.count(REASON[lang].split("，")[0].split(",")[0]) == 1
    assert ("To be priced by the vendor" if lang == "en" else "由供应商报价") in body


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_sent_as_shown_the_priceable_units_are_quoted_at_once(app, world, expiring, lang):
    staff = app.test_client(user=world.a_staff)
    before = len(quotes_of(app, world.a.id))
    form = read_form(staff.get(f"/renewals/request?state=expiring&lang={lang}").get_data(as_text=True))
    response = staff.post(f"/renewals/request?state=expiring&lang={lang}", data=send(form.fields))
    assert response.status_code == 302, response.get_data(as_text=True)
    quote = quotes_of(app, world.a.id)[before]
    lines = lines_of(app, quote.id)
    assert sorted(line.equipment_id for line in lines) == sorted([expiring[0].id, expiring[2].id])
    assert [line.amount for line in lines] == [D("800.00"), D("400.00")] and not any(
        line.to_be_priced for line in lines
    )
    assert len(quotes_of(app, world.a.id)) == before + 1


def test_unticking_a_priced_unit_leaves_it_out_too(app, world, expiring):
    staff = app.test_client(user=world.a_staff)
    form = read_form(staff.get("/renewals/request?state=expiring").get_data(as_text=True))
    kept = [(k, v) for k, v in form.fields if not (k == "unit" and v == str(expiring[2].id))]
    assert staff.post("/renewals/request?state=expiring", data=send(kept)).status_code == 302
    quote = quotes_of(app, world.a.id)[-1]
    assert [line.equipment_id for line in lines_of(app, quote.id)] == [expiring[0].id]


def test_nothing_ticked_is_refused_with_the_list_kept(app, world, expiring):
    staff = app.test_client(user=world.a_staff)
    before = len(quotes_of(app, world.a.id))
    form = read_form(staff.get("/renewals/request?state=expiring").get_data(as_text=True))
    fields = [(k, v) for k, v in form.fields if k != "unit"]
    response = staff.post("/renewals/request?state=expiring&lang=en", data=send(fields, note="请报价"))
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Tick at least one unit to renew." in body
    assert all(u.serial in body for u in expiring) and "请报价" in body
    assert not any(read_form(body).boxes.values())  # as the requester left them: all unticked
    assert len(quotes_of(app, world.a.id)) == before


def test_kept_ticked_it_is_a_line_the_vendor_prices_before_the_quote_can_be_issued(app, world, expiring):
    staff = app.test_client(user=world.a_staff)
    form = read_form(staff.get("/renewals/request?state=expiring").get_data(as_text=True))
    fields = form.fields + [("unit", str(expiring[1].id))]
    assert staff.post("/renewals/request?state=expiring", data=send(fields, years="2")).status_code == 302
    quote = quotes_of(app, world.a.id)[-1]
    lines = {line.equipment_id: line for line in lines_of(app, quote.id)}
    assert set(lines) == {u.id for u in expiring}
    waiting = lines[expiring[1].id]
    assert waiting.to_be_priced and waiting.amount == 0 and lines[expiring[0].id].amount == D("1600.00")

    manager = app.test_client(user=world.manager)
    for lang, shown in (("en", "To be priced by the vendor"), ("zh", "由供应商报价")):
        page = manager.get(f"/renewals/{quote.id}?lang={lang}").get_data(as_text=True)
        assert shown in page and f'name="l{waiting.id}-basis"' in page
        assert f'name="l{lines[expiring[0].id].id}-basis"' not in page  # a priced line keeps its basis
    valid = (local_today_of(app) + timedelta(days=30)).isoformat()
    refused = manager.post(f"/renewals/{quote.id}/issue?lang=en", data={"valid_until": valid})
    assert "still to be priced" in refused.get_data(as_text=True) and "EXP-2" in refused.get_data(as_text=True)
    assert quotes_of(app, world.a.id)[-1].status == "requested"
    # The client cannot accept it either: it was never issued.
    app.test_client(user=world.a_admin).post(f"/renewals/{quote.id}/accept")
    assert quotes_of(app, world.a.id)[-1].status == "requested"

    # Sent without a price, the line form says what is missing, in the field.
    line = f"l{waiting.id}"
    missing = manager.post(f"/renewals/{quote.id}/lines/{waiting.id}?lang=en", data={f"{line}-rate_percent": "8"})
    assert "Enter the price of this unit" in missing.get_data(as_text=True)
    assert lines_of(app, quote.id)[1].to_be_priced
    priced = manager.post(
        f"/renewals/{quote.id}/lines/{waiting.id}", data={f"{line}-basis": "7000", f"{line}-rate_percent": "8"}
    )
    assert priced.status_code == 302
    assert {row.equipment_id: row.amount for row in lines_of(app, quote.id)}[expiring[1].id] == D("1120.00")
    assert manager.post(f"/renewals/{quote.id}/issue", data={"valid_until": valid}).status_code == 302
    issued = quotes_of(app, world.a.id)[-1]
    assert issued.status == "issued" and issued.total == D("1600.00") + D("1120.00") + D("800.00")


def local_today_of(app):
    with app.test_request_context():
        return local_today()


@pytest.mark.parametrize("field", ["unit", "listed"])
def test_another_clients_unit_in_the_form_is_refused_cleanly(app, world, expiring, field):
    staff = app.test_client(user=world.a_staff)
    before = len(quotes_of(app, world.b.id)), len(quotes_of(app, world.a.id))
    form = read_form(staff.get("/renewals/request?state=expiring").get_data(as_text=True))
    for lang, message in (("en", "not yours to renew"), ("zh", "不属于您")):
        for bad in (str(world.unit_b.id), "x", "0"):
            fields = form.fields + [(field, bad)]
            response = staff.post(f"/renewals/request?state=expiring&lang={lang}", data=send(fields))
            assert response.status_code == 200 and message in response.get_data(as_text=True), bad
            assert "B-0001" not in response.get_data(as_text=True)
    assert (len(quotes_of(app, world.b.id)), len(quotes_of(app, world.a.id))) == before


def test_a_request_sent_twice_makes_one_quote(app, world, expiring):
    staff = app.test_client(user=world.a_staff)
    before = len(quotes_of(app, world.a.id))
    form = read_form(staff.get("/renewals/request?state=expiring").get_data(as_text=True))
    first = staff.post("/renewals/request?state=expiring", data=send(form.fields))
    second = staff.post("/renewals/request?state=expiring", data=send(form.fields))
    assert first.status_code in (302, 303) and second.status_code in (302, 303)
    assert first.headers["Location"] == second.headers["Location"]
    assert len(quotes_of(app, world.a.id)) == before + 1


def test_units_sent_without_the_list_are_asked_for_all(app, world, expiring):
    """A form from elsewhere that names units in its body (no list of the page): those units, all ticked."""
    staff = app.test_client(user=world.a_staff)
    response = staff.post("/renewals/request", data={"unit": [str(expiring[0].id), str(expiring[1].id)], "years": "1"})
    assert response.status_code == 302
    lines = lines_of(app, quotes_of(app, world.a.id)[-1].id)
    assert [(line.equipment_id, line.to_be_priced) for line in lines] == [
        (expiring[0].id, False),
        (expiring[1].id, True),
    ]
