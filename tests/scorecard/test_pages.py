"""The scorecard's pages: who sees what, the figures the metrics module computes, htmx, bad filters, the evidence,
the vendor's overview and the contract's deposit terms."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from markupsafe import escape

from portal.contracts.models import Contract
from portal.extensions import db
from portal.scorecard import metrics
from portal.tickets import services as tickets
from portal.tickets.models import Ticket

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}
OCTOBER = "period=month&value=2026-10"
# 10:00 in Shanghai on working days of October 2026 (not the National Day week).
FILED = [
    datetime(2026, 10, 12, 2, 0, tzinfo=UTC),
    datetime(2026, 10, 13, 2, 0, tzinfo=UTC),
    datetime(2026, 10, 14, 2, 0, tzinfo=UTC),
]


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def clocks(app, world, make):
    """Three faults of contract A in October 2026: two at A's first school answered in 10 minutes (in time), one at
    A's second school answered after 3 hours (the 30-minute response broken). The access world's own tickets are
    filed today, outside October."""
    first = make.ticket(world.a_school, world.a_site1, world.unit_a1, now=FILED[0])
    second = make.ticket(world.a_school, world.a_site1, world.unit_a1, now=FILED[1])
    late = make.ticket(world.a_school2, world.a_site2, None, now=FILED[2])
    with app.test_request_context():
        from portal.auth.models import User

        agent = db.session.get(User, world.agent.id)
        for ticket, after in ((first, 10), (second, 10), (late, 180)):
            row = db.session.get(Ticket, ticket.id)
            row.contract_id = world.contract_a.id
            tickets.respond(row, agent, "初步处理意见", now=row.filed_at + timedelta(minutes=after))
        db.session.commit()
    return first, second, late


def computed(app, world, site=None, contract=None, key="response"):
    """The row as the metrics module computes it for A in October 2026 (what the page must show)."""
    with app.test_request_context(headers=EN):
        period = metrics.Period.parse("month", "2026-10", today=date(2026, 11, 28))
        scope = metrics.Scope(client_id=world.a.id, contract_id=contract, site_id=site)
        row = metrics.scorecard(scope, period).row(key)
        return row, str(escape(row.measured_text)), str(escape(row.promise))


# ---------------------------------------------------------------- who sees what


def test_client_it_staff_is_refused_everywhere(app, world):
    browser = app.test_client(user=world.a_staff)
    for url in ("/scorecard/", "/scorecard/evidence/response", "/scorecard/overview"):
        assert browser.get(url).status_code == 403, url


def test_the_overview_is_the_vendors(app, world):
    for user in (world.a_admin, world.a_school):
        assert app.test_client(user=user).get("/scorecard/overview").status_code == 403
    body = text(app.test_client(user=world.agent).get("/scorecard/overview", headers=EN))
    for contract in (world.contract_a, world.contract_a2, world.contract_b):
        assert contract.number in body
        assert f"/scorecard/?client={contract.client_id}&amp;contract={contract.id}" in body


@pytest.mark.parametrize(
    "query", ["contract={b_contract}", "site={b_site}", "client={b}", "contract={b_contract}&site={a_site1}"]
)
def test_another_clients_ids_answer_404(app, world, query):
    url = query.format(b_contract=world.contract_b.id, b_site=world.b_site.id, b=world.b.id, a_site1=world.a_site1.id)
    for user in (world.a_admin, world.a_school):
        browser = app.test_client(user=user)
        assert browser.get(f"/scorecard/?{url}").status_code == 404, (user.email, url)
        assert browser.get(f"/scorecard/evidence/response?{url}").status_code == 404, (user.email, url)


def test_a_school_administrator_cannot_ask_for_the_neighbouring_school(app, world):
    browser = app.test_client(user=world.a_school)
    assert browser.get(f"/scorecard/?site={world.a_site2.id}").status_code == 404
    assert browser.get(f"/scorecard/?contract={world.contract_a2.id}").status_code == 404  # units at school 2 only
    body = text(browser.get(f"/scorecard/?site={world.a_site1.id}", headers=EN))
    assert 'name="site"' not in body  # the school is fixed, not chosen
    assert "甲一中" in body or "A School 1" in body


def test_a_vendors_contract_of_another_client_is_dropped_as_in_the_lists(app, world):
    """A vendor who changes the client keeps no contract of the previous one: the client's whole card shows."""
    body = text(
        app.test_client(user=world.manager).get(
            f"/scorecard/?client={world.b.id}&contract={world.contract_a.id}&{OCTOBER}", headers=EN
        )
    )
    assert "scorecard-table" in body and "HT-A-1</option>" not in body
    assert "Centre B · all contracts" in body


def test_a_vendor_without_a_client_is_asked_to_choose_one(app, world):
    body = text(app.test_client(user=world.manager).get("/scorecard/", headers=EN))
    assert "Choose a client to see how its promises were kept." in body and "scorecard-table" not in body


# ---------------------------------------------------------------- the figures


def test_the_school_administrator_sees_their_schools_figures_only(app, world, clocks):
    """A's first school: 2 of 2 responses in time; the whole client: 2 of 3 (school 2's late one counts)."""
    school, school_text, promise = computed(app, world, site=world.a_site1.id)
    whole, whole_text, _ = computed(app, world)
    assert (school.measured, school.total, school.met) == (2, 2, True)
    assert (whole.measured, whole.total, whole.met) == (2, 3, False)
    assert school_text != whole_text

    mine = text(app.test_client(user=world.a_school).get(f"/scorecard/?{OCTOBER}", headers=EN))
    assert school_text in mine and whole_text not in mine
    theirs = text(app.test_client(user=world.a_admin).get(f"/scorecard/?{OCTOBER}", headers=EN))
    assert whole_text in theirs
    # The client admin can narrow to the school and sees what its administrator sees.
    narrowed = text(
        app.test_client(user=world.a_admin).get(f"/scorecard/?site={world.a_site1.id}&{OCTOBER}", headers=EN)
    )
    assert school_text in narrowed and whole_text not in narrowed


def test_the_page_shows_every_row_as_the_module_computes_it(app, world, clocks):
    theirs = text(
        app.test_client(user=world.a_admin).get(f"/scorecard/?contract={world.contract_a.id}&{OCTOBER}", headers=EN)
    )
    with app.test_request_context(headers=EN):
        period = metrics.Period.parse("month", "2026-10", today=date(2026, 11, 28))
        card = metrics.scorecard(metrics.Scope(client_id=world.a.id, contract_id=world.contract_a.id), period)
        assert str(escape(period.label())) in theirs
        for row in card.rows:
            assert str(escape(row.promise)) in theirs, row.key
            assert str(escape(row.target_text)) in theirs, row.key
            assert str(escape(row.measured_text)) in theirs, row.key
            assert f'id="row-{row.key}"' in theirs
        assert card.row("response").met is False
    # The broken response row: its badge in words, its evidence link with the same filters.
    response_row = theirs.split('id="row-response"')[1].split("</tr>")[0]
    assert "Broken" in response_row
    assert (
        f"/scorecard/evidence/response?client={world.a.id}&amp;contract={world.contract_a.id}&amp;period=month"
        f"&amp;value=2026-10"
    ) in response_row
    assert "<svg" in response_row and "the last 12 months" in response_row  # the trend and its words
    # The deposit of the single contract: 5 % of 100,000.00, due 12 months after the acceptance of 2025-01-15.
    assert "Quality deposit" in theirs and "¥5,000.00" in theirs and "January 15, 2026" in theirs


def test_the_page_in_chinese(app, world, clocks):
    body = text(
        app.test_client(user=world.a_admin).get(f"/scorecard/?contract={world.contract_a.id}&{OCTOBER}", headers=ZH)
    )
    assert "履约看板" in body and "质量保证金" in body and "未履行" in body and "证据" in body


def test_htmx_gets_the_card_alone(app, world, clocks):
    browser = app.test_client(user=world.a_admin)
    full = browser.get(f"/scorecard/?{OCTOBER}", headers=EN)
    part = browser.get(f"/scorecard/?{OCTOBER}", headers={**EN, "HX-Request": "true"})
    assert part.status_code == 200 and "HX-Request" in part.headers["Vary"]
    assert "<html" in text(full) and "<html" not in text(part)
    assert 'class="filters' not in text(part) and "scorecard-table" in text(part)
    _row, measured, _promise = computed(app, world)
    assert measured in text(part)


def test_a_vendor_changing_the_client_gets_its_contracts_in_the_fragment(app, world):
    part = text(
        app.test_client(user=world.manager).get(
            f"/scorecard/?client={world.b.id}", headers={**EN, "HX-Request": "true"}
        )
    )
    assert 'id="contract" name="contract" hx-swap-oob="true"' in part
    assert "HT-B-1" in part and "HT-A-1" not in part


# ---------------------------------------------------------------- bad filters


@pytest.mark.parametrize(
    "query, english, chinese",
    [
        ("contract=abc", "Choose a contract from the list.", "请从列表中选择合同。"),
        ("contract=99999999999", "Choose a contract from the list.", "请从列表中选择合同。"),
        ("site=-1", "Choose a site from the list.", "请从列表中选择使用单位。"),
        ("client=1.5", "Choose a client from the list.", "请从列表中选择客户。"),
        ("period=weekly", "Choose a period from the list.", "请从列表中选择统计周期。"),
        (
            "period=custom&start=2026-02-30&end=2026-03-01",
            "Give a date like 2026-10-31.",
            "请按 2026-10-31 的格式填写日期。",
        ),
        (
            "period=custom&start=1500-01-01&end=2026-03-01",
            "Give a date from 2000 to 2100.",
            "请填写 2000 年至 2100 年之间的日期。",
        ),
        (
            "period=month&value=" + "9" * 40,
            "Give the period like the example beside the field.",
            "请按输入框旁的示例填写周期。",
        ),
        (
            "period=quarter&value=" + "Q" * 21,
            "Give the period like the example beside the field.",
            "请按输入框旁的示例填写周期。",
        ),
        (
            "period=month&value=2026-10%00",
            "The address holds control characters",
            "网址中含有控制字符",
        ),  # the app's own 400
    ],
)
def test_bad_filters_are_refused_with_a_message_per_field(app, world, query, english, chinese):
    browser = app.test_client(user=world.a_admin)
    for headers, message in ((EN, english), (ZH, chinese)):
        for url in (f"/scorecard/?{query}", f"/scorecard/evidence/response?{query}"):
            response = browser.get(url, headers=headers)
            assert response.status_code == 400, url
            assert message in text(response), (url, text(response)[-3000:])
            assert "scorecard-table" not in text(response)


@pytest.mark.parametrize(
    "query",
    [
        "period=month&value=2026-13",
        "period=quarter&value=2026-Q5",
        "period=year&value=1850",
        "period=custom&start=2026-10-10&end=2026-10-01",
        "period=custom&start=2026-10-10",
        "period=custom&start=2000-01-01&end=2099-01-01",
        "period=service_year&value=x",
        "period=service_year&value=999999",
    ],
)
def test_periods_the_module_refuses_are_messages_not_errors(app, world, query):
    for user in (world.a_admin, world.manager):
        response = app.test_client(user=user).get(
            f"/scorecard/?client={world.a.id}&contract={world.contract_a.id}&{query}", headers=EN
        )
        assert response.status_code == 400, query
        assert "The scorecard cannot be shown for these filters" in text(response)


def test_an_unknown_row_is_404(app, world):
    browser = app.test_client(user=world.a_admin)
    assert browser.get("/scorecard/evidence/not-a-row").status_code == 404
    assert browser.get("/scorecard/evidence/%00").status_code in (400, 404)  # control characters: the app's 400


# ---------------------------------------------------------------- the evidence


def test_the_evidence_of_a_clock_row(app, world, clocks):
    first, second, late = clocks
    browser = app.test_client(user=world.a_admin)
    everything = text(browser.get(f"/scorecard/evidence/response?contract={world.contract_a.id}&{OCTOBER}", headers=EN))
    for ticket in clocks:
        assert f'href="/tickets/{ticket.id}"' in everything
    assert "Met in time" in everything and "2 hours, 30 minutes" in everything  # answered 150 minutes after due
    broken = text(
        browser.get(f"/scorecard/evidence/response?contract={world.contract_a.id}&{OCTOBER}&only=broken", headers=EN)
    )
    assert f'href="/tickets/{late.id}"' in broken
    assert f'href="/tickets/{first.id}"' not in broken and f'href="/tickets/{second.id}"' not in broken
    # A school administrator's evidence holds their school's tickets only.
    mine = text(app.test_client(user=world.a_school).get(f"/scorecard/evidence/response?{OCTOBER}", headers=EN))
    assert f'href="/tickets/{first.id}"' in mine and f'href="/tickets/{late.id}"' not in mine


def test_every_row_has_an_evidence_page(app, world, clocks):
    browser = app.test_client(user=world.a_admin)
    for key in metrics.ROW_KEYS:
        for extra in ("", "&only=broken"):
            response = browser.get(f"/scorecard/evidence/{key}?contract={world.contract_a.id}&{OCTOBER}{extra}")
            assert response.status_code == 200, key


def test_the_evidence_pages(app, world, make):
    """Thirty faults in October: a page of them, and the next page from its link."""
    filings = [(world.a_school, world.a_site1, world.unit_a1)] * 30
    made = make.tickets(filings, now=FILED[0])
    browser = app.test_client(user=world.a_admin)
    first = text(browser.get(f"/scorecard/evidence/response?{OCTOBER}", headers=EN))
    shown = [t for t in made if f'href="/tickets/{t.id}"' in first]
    assert 0 < len(shown) < 30 and 'rel="next"' in first
    link = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert "tickets-after=" in link
    second = text(browser.get(link, headers=EN))
    assert not any(f'href="/tickets/{t.id}"' in second for t in shown)


# ---------------------------------------------------------------- bounded queries


def test_queries_do_not_grow_with_the_data(app, world, make, count_queries):
    urls = [
        f"/scorecard/?{OCTOBER}",
        f"/scorecard/?contract={world.contract_a.id}&{OCTOBER}",
        f"/scorecard/evidence/response?{OCTOBER}",
        f"/scorecard/evidence/satisfaction?{OCTOBER}",
    ]
    browser = app.test_client(user=world.a_admin)
    vendor = app.test_client(user=world.manager)
    few = {}
    for url in urls:
        with count_queries() as counter:
            assert browser.get(url).status_code == 200
        few[url] = counter.count
    with count_queries() as counter:
        assert vendor.get("/scorecard/overview").status_code == 200
    few_overview = counter.count
    for n in range(12):
        make.ticket(world.a_school, world.a_site1, world.unit_a1, now=FILED[n % 3] + timedelta(hours=n))
        make.complaint(world.a_school, world.a_site1, now=FILED[n % 3])
        make.visit(world.contract_a, world.a_site1, due_on=date(2026, 10, 20))
        make.contract(make.client())
    for url in urls:
        with count_queries() as counter:
            assert browser.get(url).status_code == 200
        assert counter.count == few[url], (url, few[url], counter.count, counter.statements[few[url] :])
    with count_queries() as counter:
        assert vendor.get("/scorecard/overview").status_code == 200
    assert counter.count == few_overview, counter.statements


# ---------------------------------------------------------------- the contract's deposit terms


CONTRACT = {
    "number": "HT-A-1",
    "title": "项目",
    "accepted_on": "2025-01-15",
    "signed_on": "2024-12-01",
    "price": "100000",
    "warranty_months": "36",
    "renewal_percent": "8",
}


@pytest.mark.parametrize(
    "field, value, english",
    [
        ("deposit_percent", "150", "Use a percentage from 0 to 100."),
        ("deposit_percent", "5.555", "Use at most 2 decimals in a percentage."),
        ("deposit_months", "-1", "Use a number of months from 0 to 120."),
        ("deposit_months", "500", "Use a number of months from 0 to 120."),
        ("renewal_ceiling", "-5", "The ceiling cannot be negative."),
        ("deposit_returned_on", "2024-11-30", "The deposit cannot be returned before the contract is signed."),
        ("deposit_returned_on", "2026-02-30", "Not a valid date value."),
    ],
)
def test_the_contract_form_refuses_bad_deposit_terms(app, world, field, value, english):
    browser = app.test_client(user=world.manager)
    response = browser.post(
        f"/contracts/{world.contract_a.id}/edit", headers=EN, data={**CONTRACT, "client": world.a.id, field: value}
    )
    assert response.status_code == 200 and english in text(response)
    with app.app_context():
        contract = db.session.get(Contract, world.contract_a.id)
        assert (contract.deposit_rate, contract.deposit_months, contract.renewal_ceiling) == (Decimal("0.05"), 12, None)


def test_the_contract_form_keeps_the_deposit_terms(app, world):
    browser = app.test_client(user=world.manager)
    data = {
        **CONTRACT,
        "client": world.a.id,
        "renewal_ceiling": "6000.50",
        "deposit_percent": "3.5",
        "deposit_months": "24",
        "deposit_returned_on": "2027-02-01",
    }
    assert browser.post(f"/contracts/{world.contract_a.id}/edit", data=data).status_code == 302
    with app.app_context():
        contract = db.session.get(Contract, world.contract_a.id)
        assert (
            contract.renewal_ceiling,
            contract.deposit_rate,
            contract.deposit_months,
            contract.deposit_returned_on,
        ) == (Decimal("6000.50"), Decimal("0.035"), 24, date(2027, 2, 1))
    form = text(browser.get(f"/contracts/{world.contract_a.id}/edit", headers=EN))
    assert 'value="3.50"' in form and 'value="24"' in form and 'value="6000.50"' in form
    page = text(app.test_client(user=world.a_admin).get(f"/contracts/{world.contract_a.id}", headers=EN))
    # 3.5 % of 100,000 = 3,500; 24 months after 2025-01-15.
    assert "¥3,500.00" in page and "3.5% of the price" in page and "January 15, 2027" in page
    assert "February 1, 2027" in page and "¥6,000.50 a year at most" in page
    assert f'href="/scorecard/?contract={world.contract_a.id}"' in page
    # Emptied, the deposit fields are the bids' figures again.
    data.update(deposit_percent="", deposit_months="", renewal_ceiling="", deposit_returned_on="")
    assert browser.post(f"/contracts/{world.contract_a.id}/edit", data=data).status_code == 302
    with app.app_context():
        contract = db.session.get(Contract, world.contract_a.id)
        assert (
            contract.renewal_ceiling,
            contract.deposit_rate,
            contract.deposit_months,
            contract.deposit_returned_on,
        ) == (None, Decimal("0.05"), 12, None)


def test_planted_markup_shows_as_text_in_the_evidence(app, world, make):
    from portal.surveys.models import Survey
    from portal.types import utcnow

    planted = '<script>alert("x")</script>'
    ticket = make.ticket(world.a_school, world.a_site1, world.unit_a1, now=FILED[0], title=planted)
    make.save(
        Survey(
            token_hash="1" * 64,
            client_id=world.a.id,
            site_id=world.a_site1.id,
            ticket_id=ticket.id,
            recipient_name=planted,
            comment=planted,
            expires_at=utcnow() + timedelta(days=7),
            answered_at=utcnow(),
            rating=2,
        )
    )
    browser = app.test_client(user=world.a_admin)
    for url in (f"/scorecard/evidence/response?{OCTOBER}", "/scorecard/evidence/satisfaction?period=year"):
        body = text(browser.get(url, headers=EN))
        assert planted not in body and "&lt;script&gt;" in body, url
