"""Issue 17's walk, as its users take it, on the demo data: the client administrator opens the scorecard for last
year, drills into a broken response clock down to the ticket, and downloads the evidence pack of the year; a
teacher answers a survey link on a 375-pixel phone, and the answer shows on the scorecard."""

import io
import re

import pytest
import sqlalchemy as sa

from portal.extensions import db

from ..reports.test_pdf import render_pending
from .conftest import browser_app, seed_demo, served
from .test_flows import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """The demo portal served on a local port, with its app (to run the PDF worker's job and to read a survey's
    link, as the notification e-mail would carry it)."""
    app = browser_app(tmp_path_factory, "scorecard")
    seed_demo(app)
    with served(app) as base:
        yield base, app


def show(page, period, value, contract=None):
    """Fill the scorecard's filters and send them (the plain GET form; htmx swaps the card in place)."""
    if contract:
        page.select_option("#contract", label=contract)
    page.select_option("#period", period)
    page.fill("#value", value)
    page.click(".scorecard-filters button[type=submit]")
    page.wait_for_selector(f"#scorecard h2:has-text('{value}')")


def test_client_admin_proves_last_year_with_the_evidence_pack(browser, demo_server):
    base, app = demo_server
    from portal.i18n import local_today

    with app.test_request_context():
        last_year = str(local_today().year - 1)
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, base, "admin@edu.example.com")
        page.click("nav >> text=履约看板")
        page.wait_for_url(re.compile(r"/scorecard/"))
        show(page, "year", last_year)
        response = page.locator("#row-response")
        # The demo's schools contract had response clocks met late last year: the row says so in words.
        assert "未履行" in response.inner_text()
        response.locator("a[href*='/scorecard/evidence/response']").click()
        page.wait_for_url(re.compile(r"/scorecard/evidence/response"))
        page.click("text=仅看未履行的")
        page.wait_for_url(re.compile(r"only=broken"))
        ticket_link = page.locator("#scorecard a[href*='/tickets/']").first
        number = ticket_link.inner_text().strip()
        assert re.fullmatch(r"GZ-\d{4}-\d{5}", number), number
        ticket_link.click()
        page.wait_for_url(re.compile(r"/tickets/\d+$"))
        assert number in page.content() and "响应" in page.content()

        # The year's evidence pack for one contract, from the scorecard.
        page.goto(f"{base}/scorecard/")
        show(page, "year", last_year, contract="HT-2023-017")
        assert "质量保证金" in page.content()
        page.click("text=本期履约证据包（PDF）")
        page.wait_for_url(re.compile(r"/reports/contracts/\d+/evidence"))
        assert page.input_value("#start") == f"{last_year}-01-01" and page.input_value("#end") == f"{last_year}-12-31"
        page.click("main button[type=submit]")
        page.wait_for_url(re.compile(r"/reports/\d+$"))
        assert "正在生成" in page.content()
        assert render_pending(app)  # what the job worker does
        page.reload()
        with page.expect_download() as download:
            page.click("text=下载 PDF")
        data = open(download.value.path(), "rb").read()
    finally:
        context.close()
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    text = "".join(p.extract_text() for p in reader.pages)
    assert data.startswith(b"%PDF-") and len(reader.pages) > 1
    for heading in ("履约证据包", "履约看板", "HT-2023-017", f"{last_year}年1月1日至{last_year}年12月31日"):
        assert heading in text, heading


def test_a_survey_answered_on_a_phone_shows_on_the_scorecard(browser, demo_server):
    base, app = demo_server
    from portal.i18n import local_today
    from portal.orgs.models import Client
    from portal.surveys import services
    from portal.surveys.models import Survey
    from portal.types import utcnow

    with app.test_request_context():
        edu = db.session.scalar(sa.select(Client).where(Client.name_zh == "示范区教育局"))
        survey = db.session.scalar(
            sa.select(Survey)
            .where(Survey.client_id == edu.id, Survey.answered_at.is_(None), Survey.expires_at > utcnow())
            .order_by(Survey.id)
            .limit(1)
        )
        assert survey is not None, "the demo keeps a survey waiting for its answer"
        token, this_year = services.token_of(survey), str(local_today().year)

    admin = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    phone = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 800})
    try:
        page = admin.new_page()
        sign_in(page, base, "admin@edu.example.com")
        page.goto(f"{base}/scorecard/")
        show(page, "year", this_year)
        before = page.locator("#row-satisfaction").inner_text()

        teacher = phone.new_page()
        teacher.goto(f"{base}/survey/{token}")
        assert teacher.evaluate("document.documentElement.scrollWidth") <= 375
        teacher.click("text=1 · 非常不满意")
        teacher.fill("textarea", "到场太慢")
        teacher.click("button.survey-send")
        assert "谢谢" in teacher.content()

        page.reload()
        after = page.locator("#row-satisfaction").inner_text()
    finally:
        admin.close()
        phone.close()
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("zh_Hans_CN"):
        from portal.scorecard import metrics

        year = metrics.Period.parse("year", this_year, today=local_today())
        row = metrics.scorecard(metrics.Scope(edu.id), year).row("satisfaction")
        shown = str(row.measured_text)
        assert row.detail["surveys"] >= 1
    # The page shows the module's figures, which now count the phone's answer (a 1: not satisfied).
    assert before != after and shown in after, (before, after, shown)
