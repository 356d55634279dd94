"""The vendor's separated administrators in Chromium: the system administrator signs in, creates an account and is
refused a business page; each administrator's home page, 1280 and 375 pixels wide, in both languages (screenshots in
/tmp/shots-roles)."""

import pathlib
import re

import pytest
from playwright.sync_api import expect

from .test_flows import sign_in

pytestmark = pytest.mark.browser

SHOTS = pathlib.Path("/tmp/shots-roles")
ADMINS = {
    "sysadmin@vendor.example.com": ["/users/", "/clients/", "/sites/", "/settings/"],
    "security@vendor.example.com": [],  # /security/ is built separately: its links appear when it exists
    "auditor@vendor.example.com": [],  # /audit/ likewise
}


def test_system_administrator_creates_a_user_and_is_refused_a_business_page(page, live_server):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, "sysadmin@vendor.example.com")
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/?lang=en")
    main = page.inner_text("main")
    assert "Your area" in main and "Fault reports" not in main
    assert page.locator("#notify-bell").count() == 0

    page.click("main >> text=Users")
    page.wait_for_url(re.compile(r"/users/$"))
    page.click("text=New user")
    page.fill("#name", "Qian Hui")
    page.fill("#email", "qian.hui@vendor.example.com")
    page.select_option("#role", "security_admin")
    page.select_option("#client", label="Demo District Education Bureau")  # an administrator has no client
    page.click("button:has-text('Create and get the invitation link')")
    assert "An administrator belongs to no client: leave the client empty." in page.inner_text("main")
    page.select_option("#client", value="")
    page.click("button:has-text('Create and get the invitation link')")
    assert "/invite/" in page.input_value("#invite-url")
    assert "Security administrator" in page.inner_text("main")
    assert page.console_errors == []

    for business in ("/tickets/", "/equipment/", "/contracts/", "/scorecard/overview", "/notifications/"):
        response = page.goto(f"{live_server}{business}")
        assert response.status == 403, business


@pytest.mark.parametrize("width", [1280, 375])
@pytest.mark.parametrize("email", list(ADMINS))
def test_each_administrators_home_page_in_both_languages(browser, live_server, email, width):
    SHOTS.mkdir(exist_ok=True)
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        sign_in(page, live_server, email)
        page.wait_for_url(f"{live_server}/")
        for lang, area in (("zh", "您的职责范围"), ("en", "Your area")):
            page.goto(f"{live_server}/?lang={lang}")
            expect(page.locator("h2#area-title")).to_have_text(area)
            assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing scrolls sideways
            hrefs = page.eval_on_selector_all("main a[href]", "links => links.map(a => a.getAttribute('href'))")
            assert set(ADMINS[email]) <= set(hrefs)
            assert not [h for h in hrefs if h.startswith(("/tickets", "/equipment", "/contracts", "/warranty"))]
            menu = page.eval_on_selector_all("nav.portal-nav a", "links => links.map(a => a.getAttribute('href'))")
            assert not [h for h in menu if h.startswith(("/tickets", "/equipment", "/contracts", "/warranty"))]
            name = email.split("@")[0]
            page.screenshot(path=str(SHOTS / f"home-{name}-{lang}-{width}.png"), full_page=True)
    finally:
        context.close()
