"""Input bounds (portal/bounds.py), one defect class at a time: ids and page numbers out of range, control
characters, money over the maximum, a quote total too large to save or to write in capitals, dates and numbers out
of range. Each refusal says why, in English and in Chinese, saves nothing and keeps what was typed. The whole
portal, bad value after bad value, role after role: tests/test_fuzz.py."""

import html
import re
import unicodedata
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from werkzeug.exceptions import MethodNotAllowed, NotFound

from portal import bounds
from portal.contracts.models import Contract
from portal.equipment.models import Equipment
from portal.extensions import db
from portal.forms import Form
from portal.orgs.models import Client
from portal.renewals import pricing
from portal.renewals.models import QuoteLine, RenewalQuote, SparePart

from .equipment.test_import import EN_HEADER, as_csv, count_units, row, upload

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}
MAX = bounds.MONEY_MAX


def text(response):
    return html.unescape(response.get_data(as_text=True))


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


# ---------------------------------------------------------------- the helpers, value by value


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1", 1),
        ("2147483647", 2**31 - 1),
        ("0042", 42),
        (7, 7),
        ("2147483648", None),
        ("9223372036854775808", None),
        ("100000000000000000000", None),
        ("0", None),
        ("-1", None),
        ("", None),
        (None, None),
        ("abc", None),
        ("1e3", None),
        ("1.0", None),
        (" 1", None),
        ("+1", None),
        ("1_0", None),
        ("١", None),
        ("１", None),
        ("¹", None),
        ("9" * 5000, None),
        (True, None),
        (0, None),
        (2**31, None),
        (1.0, None),
    ],
)
def test_ids(value, expected):
    assert bounds.optional_id(value) == expected
    if expected is None:
        with pytest.raises((ValueError, TypeError)):
            bounds.db_id(value)
    else:
        assert bounds.db_id(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1", 1),
        ("7", 7),
        ("1000000", 1_000_000),
        (None, 1),
        ("", 1),
        ("0", 1),
        ("-3", 1),
        ("abc", 1),
        ("1e3", 1),
        ("1000001", 1),
        ("99999999999999999999", 1),
        ("2147483648", 1),
        ("١", 1),
    ],
)
def test_page_numbers(value, expected):
    assert bounds.page_number({} if value is None else {"page": value}) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-03-15", date(2026, 3, 15)),
        ("1900-01-01", date(1900, 1, 1)),
        ("2200-12-31", date(2200, 12, 31)),
        ("1899-12-31", None),
        ("2201-01-01", None),
        ("0001-01-01", None),
        ("9999-12-31", None),
        ("2026-02-30", None),
        ("99999-01-01", None),
        ("", None),
        (None, None),
        ("abc", None),
        ("2026-03-15\x00", None),
    ],
)
def test_dates_of_a_query_string(value, expected):
    assert bounds.query_date(value) == expected


def test_control_characters_are_exactly_unicode_category_cc():
    for code in [*range(0x0, 0x300), 0x2028, 0x2029, 0x202E, 0x200B, 0xFEFF, 0xFFFD, 0x1F600, 0x4E2D]:
        char = chr(code)
        control = unicodedata.category(char) == "Cc"
        assert bounds.has_control(f"a{char}b") is control, hex(code)
        assert bounds.has_control(f"a{char}b", multiline=True) is (control and char not in "\t\n\r"), hex(code)


@pytest.mark.parametrize(
    "value, places",
    [("12", 0), ("12.5", 1), ("12.50", 1), ("12.345", 3), ("1E+3", 0), ("0.001", 3), ("999999999999.99", 2)],
)
def test_decimal_places(value, places):
    assert bounds.decimal_places(D(value)) == places


def test_the_money_maximum_fits_the_column_and_every_quote_fits_capital_numerals():
    from portal.contracts.models import MONEY
    from portal.renewals.services import MAX_UNITS

    assert MAX == D(10) ** (MONEY.precision - MONEY.scale) - D(10) ** -MONEY.scale
    # A quote saved has each line and its total within MAX, so every quote can be written in capitals:
    assert pricing.rmb_upper(MAX).startswith("玖仟玖佰玖拾玖亿") and pricing.rmb_upper(MAX).endswith("玖角玖分")
    assert pricing.in_words(MAX * MAX_UNITS) is not None
    assert pricing.in_words(D(10) ** 16) is None  # too large to write: the page shows no words, it still opens


@pytest.mark.parametrize(
    "path, found",
    [
        ("/tickets/1", True),
        ("/tickets/2147483647", True),
        ("/tickets/2147483648", False),
        ("/tickets/9223372036854775808", False),
        ("/tickets/0", False),
        ("/tickets/-1", False),
        ("/tickets/00", False),
        ("/tickets/١", False),
        ("/tickets/1e3", False),
        ("/tickets/" + "9" * 5000, False),
        ("/settings/calendar/2147483648/confirm", False),
    ],
)
def test_the_int_converter(app, path, found):
    adapter = app.url_map.bind("localhost")
    method = "POST" if path.endswith("confirm") else "GET"
    if found:
        assert adapter.match(path, method=method)
    else:
        with pytest.raises((NotFound, MethodNotAllowed)):
            adapter.match(path, method=method)


def test_numbers_from_a_request_go_through_the_bounded_helpers():
    """``type=int`` takes 2⁶³ and ١; a page number read by hand skips ``page_number``: neither is left in the code."""
    from pathlib import Path

    for path in (Path(__file__).resolve().parent.parent / "portal").rglob("*.py"):
        source = path.read_text()
        assert "type=int" not in source, path
        assert not re.search(r"""get\(["']page["']""", source) or path.name == "bounds.py", path
        assert not re.search(r"int\((request|args|form)\.", source), path


# ---------------------------------------------------------------- ids and pages, through the portal


@pytest.mark.parametrize("role", ["vendor_manager", "client_admin", "site_admin"])
def test_the_issues_examples(app, world, role):
    client = app.test_client(user=world.by_role()[role])
    assert client.get("/tickets/2147483648").status_code == 404
    assert client.post("/tickets/2147483648/reply", data={"body": "x"}).status_code == 404
    own = client.get("/tickets/").get_data(as_text=True)
    assert client.get("/tickets/?client=2147483648").get_data(as_text=True).count("/tickets/") == own.count("/tickets/")
    assert client.get("/tickets/?page=99999999999999999999").status_code == 200
    assert client.get(f"/equipment/labels?id={world.unit_a1.id}&id=2147483648").status_code == 200


LISTS = [
    "/tickets/?view=all",
    "/equipment/",
    "/contracts/",
    "/clients/",
    "/sites/",
    "/users/",
    "/renewals/",
    "/complaints/",
    "/complaints/ledger",
    "/documents/",
    "/inspections/?state=all",
    "/inspections/log?month=2026-03",
]


@pytest.mark.parametrize("url", LISTS)
def test_page_numbers_out_of_range_are_the_first_page(app, world, url):
    app.config["PAGE_SIZE"] = 1
    client = app.test_client(user=world.sysadmin if url == "/users/" else world.manager)  # accounts: 三权分立
    join = "&" if "?" in url else "?"
    first = re.search(r"1–1 of (\d+)", text(client.get(url, headers=EN)))
    assert first and int(first[1]) >= 2  # more than one page, or the test would prove nothing
    for bad in ["0", "-1", "abc", "1e3", "2147483648", "99999999999999999999", ""]:
        response = client.get(f"{url}{join}page={bad}", headers=EN)
        assert response.status_code == 200 and f"1–1 of {first[1]}" in text(response), bad
    beyond = client.get(f"{url}{join}page=999999", headers=EN)  # beyond the last: an empty page
    assert beyond.status_code == 200


@pytest.mark.parametrize("host", ["x" * 300, "a" * 64 + ".example.com"])
def test_a_host_header_that_cannot_be_read_is_a_400(app, world, host):
    """Werkzeug cannot build a URL for it, so the error page is plain text: it cannot fail while building links."""
    for client in (app.test_client(), app.test_client(user=world.manager)):
        response = client.get("/tickets/", headers={"Host": host, **ZH})
        assert response.status_code == 400 and "无法识别该请求。请返回后重试。" in text(response)


# ---------------------------------------------------------------- control characters


@pytest.mark.parametrize(
    "headers, message",
    [
        (EN, "The address holds control characters (invisible codes such as NUL)"),
        (ZH, "网址中含有控制字符（NUL 等不可见代码）"),
    ],
)
def test_control_characters_in_a_query_string_are_refused_with_a_page_that_says_why(app, world, headers, message):
    client = app.test_client(user=world.a_staff)
    for url in [
        "/tickets/?q=a%00b",
        "/equipment/?q=%1B",
        "/documents/?q=%C2%9B",
        "/tickets/?x%00=1",
        "/complaints/ledger.xlsx?start=2026-01-01%00",
        "/tickets/?q=ok&q=%00",
    ]:
        response = client.get(url, headers=headers)
        assert response.status_code == 400 and message in text(response), url
    assert app.test_client().get("/login?next=/%00", headers=headers).status_code == 400  # signed out too
    assert app.test_client(user=world.manager).post("/settings/calendar/days/%00/delete").status_code == 400


@pytest.mark.parametrize(
    "headers, message",
    [
        (EN, "Remove the control characters (invisible codes such as NUL) from this field."),
        (ZH, "请删除此项中的控制字符（NUL 等不可见代码）。"),
    ],
)
@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x85", "\t"])  # NUL, C0, C1, and tab in a one-line field
def test_a_control_character_in_a_form_field_is_refused_on_the_field(app, world, headers, message, char):
    client = app.test_client(user=world.manager)
    response = client.post(
        "/clients/new", data={"name_zh": f"丙{char}教育局", "address": "北京市海淀区某路 1 号"}, headers=headers
    )
    body = text(response)
    assert response.status_code == 200 and message in body
    assert "北京市海淀区某路 1 号" in body and f"丙{char}教育局" in body  # what was typed is kept
    assert count(app, Client, Client.name_zh.like("丙%")) == 0


def test_multi_line_fields_keep_line_breaks_and_tabs_and_refuse_the_rest(app, world):
    client = app.test_client(user=world.a_school)
    data = {
        "site": str(world.a_site1.id),
        "severity": "C",
        "kind": "unknown",
        "title": "屏幕不亮",
        "channel": "portal",
        "equipment_text": "投影仪",
        "contact_name": "王老师",
        "contact_phone": "13800000000",
    }
    response = client.post("/tickets/new", data={**data, "description": "第一行\r\n\t第二行"})
    assert response.status_code == 302
    from portal.tickets.models import Ticket

    with app.app_context():
        assert (
            db.session.scalar(sa.select(Ticket.description).order_by(Ticket.id.desc()).limit(1)) == "第一行\r\n\t第二行"
        )
    before = count(app, Ticket)
    response = client.post("/tickets/new", data={**data, "description": "第一行\x00第二行"}, headers=ZH)
    assert response.status_code == 200 and "请删除此项中的控制字符" in text(response)
    # A hidden field has no place for a message: it is said above the form.
    response = client.post("/tickets/new", data={**data, "description": "x", "unit": "\x00"}, headers=EN)
    assert "Remove the control characters" in text(response)
    assert count(app, Ticket) == before


def test_a_control_character_in_a_units_result_is_refused_on_its_row(app, world):
    from portal.inspections.models import Visit

    visit = world.visit_a
    client = app.test_client(user=world.agent)
    data = {"done_on": "2026-03-15", "method": "on_site", "engineers": "张工"}
    for field, value in (
        (f"unit-{world.unit_a1.id}-note", "触控\x00失灵"),
        (f"unit-{world.unit_a1.id}-result", "ok\x00"),
    ):
        response = client.post(
            f"/inspections/{visit.id}/record",
            data={
                f"unit-{world.unit_a1.id}-result": "issue",
                f"unit-{world.unit_a1.id}-note": "触控失灵",
                **data,
                field: value,
            },
            headers=ZH,
        )
        assert response.status_code == 200 and "请删除此项中的控制字符" in text(response)
    with app.app_context():
        assert (
            db.session.get(Visit, visit.id).engineers == "张工"
            and "\x00" not in db.session.get(Visit, visit.id).hardware
        )


# ---------------------------------------------------------------- money


MONEY_CASES = [
    (
        "1000000000000",
        "The largest amount the portal accepts is CN¥999,999,999,999.99.",
        "门户接受的最大金额为 ¥999,999,999,999.99。",
    ),
    ("1e30", "The largest amount the portal accepts is", "门户接受的最大金额为"),
    ("-1", "The price cannot be negative.", "价格不能为负数。"),
    ("NaN", "Enter a number, like 12800 or 12800.50.", "请输入数字，例如 12800 或 12800.50。"),
    ("-Infinity", "Enter a number, like 12800 or 12800.50.", "请输入数字"),
    ("sNaN", "Enter a number, like 12800 or 12800.50.", "请输入数字"),
    ("12.345", "Give the amount to the fen: at most 2 decimals.", "金额精确到分即可：最多 2 位小数。"),
]


def money_forms(world):
    """Every form with an amount of money: (user, url, the other fields, the amount's field, rows saved)."""
    return [
        (
            world.manager,
            "/contracts/new",
            {
                "client": str(world.a.id),
                "number": "HT-MAX",
                "title": "大项目",
                "warranty_months": "36",
                "renewal_percent": "8",
            },
            "price",
            lambda: sa.select(sa.func.count()).select_from(Contract).where(Contract.number == "HT-MAX"),
        ),
        (
            world.manager,
            "/equipment/new",
            {
                "contract": str(world.contract_a.id),
                "site": str(world.a_site1.id),
                "model": str(world.model.id),
                "serial": "SN-MAX",
                "status": "in_service",
            },
            "unit_price",
            lambda: sa.select(sa.func.count()).select_from(Equipment).where(Equipment.serial == "SN-MAX"),
        ),
        (
            world.manager,
            "/parts/new",
            {"name_zh": "主板", "unit_price": "100"},
            "market_price",
            lambda: sa.select(sa.func.count()).select_from(SparePart).where(SparePart.name_zh == "主板"),
        ),
        (
            world.manager,
            "/parts/new",
            {"name_zh": "电源"},
            "unit_price",
            lambda: sa.select(sa.func.count()).select_from(SparePart).where(SparePart.name_zh == "电源"),
        ),
        (
            world.manager,
            f"/renewals/{world.quote_a.id}/lines/{world.quote_a_line}",
            {f"l{world.quote_a_line}-rate_percent": "8"},
            f"l{world.quote_a_line}-ceiling",
            lambda: sa.select(sa.func.count()).select_from(QuoteLine).where(QuoteLine.ceiling.is_not(None)),
        ),
    ]


@pytest.mark.parametrize("value, english, chinese", MONEY_CASES)
def test_money_out_of_bounds_is_refused_on_every_money_form(app, world, value, english, chinese):
    for user, url, data, field, saved in money_forms(world):
        client = app.test_client(user=user)
        for headers, message in ((EN, english), (ZH, chinese)):
            response = client.post(url, data={**data, field: value}, headers=headers)
            body = text(response)
            assert response.status_code == 200 and message in body, (url, field, value)
            assert value in body  # as typed
        with app.app_context():
            assert db.session.scalar(saved()) == 0, url


def test_the_largest_amount_is_accepted(app, world):
    for user, url, data, field, saved in money_forms(world):
        assert app.test_client(user=user).post(url, data={**data, field: "999999999999.99"}).status_code == 302, url
        with app.app_context():
            assert db.session.scalar(saved()) == 1, url


@pytest.mark.parametrize(
    "url_field, value, english, chinese",
    [
        ("renewal_percent", "100.01", "Use a percentage from 0 to 100.", "请输入 0 到 100 之间的百分比。"),
        ("renewal_percent", "-0.5", "Use a percentage from 0 to 100.", "请输入 0 到 100 之间的百分比。"),
        ("renewal_percent", "8.125", "Use at most 2 decimals in a percentage.", "百分比最多使用 2 位小数。"),
        ("renewal_percent", "NaN", "Enter a number, like 12800 or 12800.50.", "请输入数字"),
        ("rate_percent", "1e30", "Use a percentage from 0 to 100.", "请输入 0 到 100 之间的百分比。"),
        ("rate_percent", "sNaN", "Enter a number, like 12800 or 12800.50.", "请输入数字"),
        ("discount_percent", "100", "Use a percentage from 0 to 99.99.", "请输入 0 到 99.99 之间的百分比。"),
        ("discount_percent", "Infinity", "Enter a number, like 12800 or 12800.50.", "请输入数字"),
    ],
)
def test_percentages_are_bounded(app, world, url_field, value, english, chinese):
    client = app.test_client(user=world.manager)
    line = world.quote_a_line
    if url_field == "renewal_percent":
        url, data = (
            "/contracts/new",
            {
                "client": str(world.a.id),
                "number": "HT-P",
                "title": "项目",
                "price": "100",
                "warranty_months": "36",
                url_field: value,
            },
        )
    else:
        url, data = (
            f"/renewals/{world.quote_a.id}/lines/{line}",
            {f"l{line}-rate_percent": "8", f"l{line}-{url_field}": value},
        )
    for headers, message in ((EN, english), (ZH, chinese)):
        response = client.post(url, data=data, headers=headers)
        assert response.status_code == 200 and message in text(response)
    with app.app_context():
        assert db.session.get(QuoteLine, line).rate == D("0.08")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Contract).where(Contract.number == "HT-P")) == 0


# ---------------------------------------------------------------- a quote's total


def test_a_whole_contract_quote_over_the_maximum_is_refused_before_it_is_saved(app, world, make):
    contract = make.contract(world.a, number="HT-BIG", price=MAX, renewal_rate=D("1"))
    client = app.test_client(user=world.a_staff)
    before = count(app, RenewalQuote)
    for headers, message in (
        (EN, "This quote would come to more than CN¥999,999,999,999.99"),
        (ZH, "此报价总额将超过门户接受的最大金额 ¥999,999,999,999.99"),
    ):
        response = client.post(f"/renewals/request?contract={contract.id}", data={"years": "2"}, headers=headers)
        assert response.status_code == 200 and message in text(response)
    assert count(app, RenewalQuote) == before
    response = client.post(f"/renewals/request?contract={contract.id}", data={"years": "1"})  # exactly the maximum
    assert response.status_code == 302
    quote_id = int(response.headers["Location"].rsplit("/", 1)[1])
    body = text(app.test_client(user=world.a_admin).get(f"/renewals/{quote_id}", headers=ZH))
    assert "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分" in body


def test_a_line_change_that_would_take_the_total_over_the_maximum_is_refused(app, world, make):
    half = D("600000000000.00")
    units = [make.unit(world.contract_a, world.a_site1, world.model, unit_price=half) for _ in range(2)]
    quote = make.quote(world.a, units)
    with app.app_context():
        lines = db.session.scalars(
            sa.select(QuoteLine.id).where(QuoteLine.quote_id == quote.id).order_by(QuoteLine.id)
        ).all()
    client = app.test_client(user=world.manager)
    first = client.post(f"/renewals/{quote.id}/lines/{lines[0]}", data={f"l{lines[0]}-rate_percent": "100"})
    assert first.status_code == 302  # 600,000,000,000 + 48,000,000,000: within the maximum
    second = client.post(
        f"/renewals/{quote.id}/lines/{lines[1]}", data={f"l{lines[1]}-rate_percent": "100"}, headers=EN
    )
    assert second.status_code == 400 and "This quote would come to more than" in text(second)  # a refused step
    with app.app_context():
        assert db.session.get(QuoteLine, lines[1]).rate == D("0.08")


def test_a_quote_whose_lines_add_up_past_the_maximum_is_not_issued_and_still_opens(app, world, make):
    units = [make.unit(world.contract_a, world.a_site1, world.model, unit_price=D("1.00")) for _ in range(2)]
    quote = make.quote(world.a, units)
    with app.app_context():  # saved before the portal bounded totals: each line fits its column, not the sum
        db.session.execute(
            sa.update(QuoteLine).where(QuoteLine.quote_id == quote.id).values(amount=D("600000000000.00"))
        )
        db.session.commit()
    client = app.test_client(user=world.manager)
    response = client.post(f"/renewals/{quote.id}/issue", data={"valid_until": "2099-01-01"}, headers=ZH)
    assert response.status_code == 400 and "此报价总额将超过门户接受的最大金额" in text(response)
    with app.app_context():
        assert db.session.get(RenewalQuote, quote.id).status == "requested"
    for url in (f"/renewals/{quote.id}", f"/renewals/{quote.id}/print"):
        response = client.get(url, headers=ZH)
        assert response.status_code == 200 and pricing.rmb_upper(D("1200000000000.00")) in text(response)


# ---------------------------------------------------------------- dates and whole numbers


@pytest.mark.parametrize(
    "value, english, chinese",
    [
        ("0001-01-01", "Give a date from 1900-01-01 to 2200-12-31.", "请填写 1900-01-01 至 2200-12-31 之间的日期。"),
        ("9999-12-31", "Give a date from 1900-01-01 to 2200-12-31.", "请填写 1900-01-01 至 2200-12-31 之间的日期。"),
        ("1899-12-31", "Give a date from 1900-01-01 to 2200-12-31.", "请填写 1900-01-01 至 2200-12-31 之间的日期。"),
        ("2026-02-30", "Not a valid date value.", "不是有效的日期值。"),  # WTForms' own message and translation
        ("99999-01-01", "Not a valid date value.", "不是有效的日期值。"),
    ],
)
def test_dates_out_of_range_are_refused(app, world, value, english, chinese):
    client = app.test_client(user=world.manager)
    data = {
        "client": str(world.a.id),
        "number": "HT-D",
        "title": "项目",
        "price": "100",
        "warranty_months": "36",
        "renewal_percent": "8",
        "accepted_on": value,
    }
    for headers, message in ((EN, english), (ZH, chinese)):
        response = client.post("/contracts/new", data=data, headers=headers)
        assert response.status_code == 200 and message in text(response) and value in text(response)
    assert count(app, Contract, Contract.number == "HT-D") == 0


def test_dates_in_filters_and_months_out_of_range_are_ignored(app, world):
    client = app.test_client(user=world.manager)
    for url in [
        "/complaints/ledger?end=9999-12-31",
        "/complaints/ledger?start=0001-01-01&end=0001-01-01",
        "/complaints/ledger.xlsx?end=9999-12-31",
        "/inspections/log?month=9999-12",
        "/inspections/log?month=0001-01",
        "/inspections/log.xlsx?month=9999-12",
        "/inspections/log?month=2026-13",
        "/settings/calendar?year=99999999999999999999",
        "/settings/calendar/days/9999-12-31/delete",
    ]:
        response = (client.post if url.endswith("delete") else client.get)(url)
        assert response.status_code in (200, 404), url


def test_a_warranty_extension_that_would_end_past_the_portals_dates_is_refused(app, world):
    client = app.test_client(user=world.manager)
    url = f"/equipment/{world.unit_a2.id}/extensions"
    for _ in range(100):
        response = client.post(url, data={"days": "3650", "reason": "长期保修"}, headers=ZH)
        if response.status_code != 302:
            break
    assert response.status_code == 200 and "延长这么多天，保修将在 2200-12-31 之后才结束" in text(response)
    with app.app_context():
        assert db.session.get(Equipment, world.unit_a2.id).warranty_end <= bounds.DATE_MAX


@pytest.mark.parametrize(
    "url, data, english",
    [
        ("/contracts/{contract}/sla", {"A_response": "2147483648"}, "Use minutes from 1 to 86400 (60 days)."),
        ("/inspections/log/new", {"headcount": "100000000000000000000"}, "Give a number from 1 to 200."),
        (
            "/equipment/{unit}/extensions",
            {"days": "9223372036854775808", "reason": "x"},
            "Use a number of days from 1 to 3650.",
        ),
        ("/renewals/request?contract={contract}", {"years": "2147483648"}, "Not a valid choice."),
        ("/renewals/request?contract={contract}", {"years": "5"}, "Not a valid choice."),
        (
            "/settings/team/new",
            {"name": "李", "role_zh": "工程师", "phone": "1", "position": "-1"},
            "Use a number from 0 to 999.",
        ),
    ],
)
def test_whole_numbers_out_of_range_are_refused(app, world, url, data, english):
    user = (
        world.a_staff
        if url.startswith("/renewals")
        else world.manager
        if "sla" in url or "team" in url
        else world.agent
    )
    url = url.format(contract=world.contract_a.id, unit=world.unit_a1.id)
    response = app.test_client(user=user).post(url, data=data, headers=EN)
    assert response.status_code == 200 and english in text(response)


def test_every_number_and_date_field_is_bounded_even_without_its_own_validator(app):
    from wtforms import DateField, DecimalField, IntegerField

    class Bare(Form):
        n = IntegerField()
        amount = DecimalField()
        day = DateField()

    with app.test_request_context(
        method="POST", data={"n": "2147483648", "amount": "1e30", "day": "0001-01-01"}, headers=EN
    ):
        form = Bare(meta={"csrf": False})
        assert not form.validate()
        assert form.errors == {
            "n": ["Use a number from -2,147,483,647 to 2,147,483,647."],
            "amount": ["Use a number from -999,999,999,999.99 to 999,999,999,999.99."],
            "day": ["Give a date from 1900-01-01 to 2200-12-31."],
        }


def test_every_money_and_percentage_field_of_the_portal_declares_its_bounds(app):
    """A DecimalField is money or a percentage: each says which (and so has its maximum and its message)."""
    from wtforms import DecimalField, IntegerField
    from wtforms.fields.core import UnboundField
    from wtforms.validators import NumberRange

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    checked = 0
    for form in subclasses(Form):
        if not form.__module__.startswith("portal."):
            continue  # the portal's forms, not a test's own (defined by another test that ran before in this process)
        for name in dir(form):
            field = getattr(form, name)
            if not isinstance(field, UnboundField):
                continue
            validators = field.kwargs.get("validators", ())
            if issubclass(field.field_class, DecimalField):
                assert any(isinstance(v, (bounds.Money, bounds.Percent)) for v in validators), (form, name)
                checked += 1
            if issubclass(field.field_class, IntegerField):
                assert any(
                    isinstance(v, NumberRange) and v.min is not None and v.max is not None for v in validators
                ), (form, name)
    assert checked >= 8


def test_every_text_a_form_stores_has_a_maximum_length(app):
    """A text without one would pass the form and fail in a varchar column (PostgreSQL): 500. Hidden fields and
    passwords are never stored as typed."""
    from wtforms import HiddenField, PasswordField, StringField, TextAreaField
    from wtforms.fields.core import UnboundField
    from wtforms.validators import Length

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    checked = 0
    for form in subclasses(Form):
        if not form.__module__.startswith("portal."):
            continue  # the portal's forms, not a test's own (defined by another test that ran before in this process)
        for name in dir(form):
            field = getattr(form, name)
            if (
                isinstance(field, UnboundField)
                and issubclass(field.field_class, (StringField, TextAreaField))
                and not issubclass(field.field_class, (HiddenField, PasswordField))
            ):
                assert any(isinstance(v, Length) and v.max > 0 for v in field.kwargs.get("validators", ())), (
                    form,
                    name,
                )
                checked += 1
    assert checked > 50


@pytest.mark.parametrize("field", ["months", "sites"])
def test_a_choice_sent_many_times_is_refused(app, world, field):
    """Each copy would pass the choice's check: 14 copies of one month no longer fit the plan's column."""
    value = "3" if field == "months" else str(world.a_site1.id)
    data = "frequency=quarterly&phone_visits=4&" + "&".join(f"{field}={value}" for _ in range(5000))
    response = app.test_client(user=world.manager).post(
        f"/inspections/plans/{world.contract_a.id}",
        data=data,
        content_type="application/x-www-form-urlencoded",
        headers=EN,
    )
    assert response.status_code == 200 and "Choose each option at most once." in text(response)
    from portal.inspections.models import InspectionPlan

    assert count(app, InspectionPlan) == 0


def test_a_renewal_request_naming_thousands_of_units_is_refused_not_a_500(app, world):
    """Each id is a bound parameter; PostgreSQL takes at most 65,535 in a statement."""
    ids = "&".join(f"unit={n}" for n in range(1, 70_001))
    response = app.test_client(user=world.a_staff).post(
        "/renewals/request", data=ids, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200


# ---------------------------------------------------------------- spreadsheet import


def test_an_import_with_values_out_of_bounds_lists_each_and_saves_nothing(app, world):
    rows = [
        row("B-1", price="1e30"),
        row("B-2", price="NaN"),
        row("B-3", price="Infinity"),
        row("B-4", price="1000000000000"),
        row("B-5", installed_on="9999-12-31"),
        row("B-6", start="0001-01-01"),
        row("B-7", months="Infinity"),
        row("B-8\x00"),
        row("B-9", contract="HT-A-1\x1b"),
    ]
    before = count_units(app)
    response = upload(app.test_client(user=world.a_staff), as_csv(EN_HEADER, rows), "bounds.csv")
    body = text(response)
    assert response.status_code == 200
    found = set(
        re.findall(
            r'data-label="Row">(\d+)</td><td data-label="Column">([^<]+)</td>'
            r'<td data-label="Problem">([^<]+)<',
            response.get_data(as_text=True),
        )
    )
    found = {(r, c, html.unescape(p)) for r, c, p in found}
    control = "Remove the control characters (invisible codes such as NUL) from this field."
    assert {
        ("2", "Unit price (CNY)", "Not an amount: write it as 12800 or 12800.50."),
        ("3", "Unit price (CNY)", "Not an amount: write it as 12800 or 12800.50."),
        ("4", "Unit price (CNY)", "Not an amount: write it as 12800 or 12800.50."),
        ("5", "Unit price (CNY)", "The largest amount the portal accepts is CN¥999,999,999,999.99."),
        ("6", "Installed on", "Give a date from 1900-01-01 to 2200-12-31."),
        ("7", "Warranty start", "Give a date from 1900-01-01 to 2200-12-31."),
        ("8", "Warranty term (months)", "Use a number of months from 1 to 240."),
        ("9", "Serial number", control),
        ("10", "Contract number", control),
    } <= found, body[:2000]
    assert count_units(app) == before
