"""The main menu: on a 375-pixel phone a button opens every section of the role, in groups; from 992 pixels a
horizontal bar; without JavaScript the links are simply there. The vendor's name is never cut, nothing scrolls sideways.
Screenshots in /tmp/shots-ui."""

import pathlib
import re

import pytest
from flask import url_for
from playwright.sync_api import expect

from portal.nav import GROUPS, NAV
from portal.roles import Role

from ..conftest import make_app
from .test_flows import sign_in

pytestmark = pytest.mark.browser

SHOTS = pathlib.Path("/tmp/shots-ui")
ACCOUNTS = {
    Role.VENDOR_MANAGER: "manager@vendor.example.com",
    Role.VENDOR_AGENT: "agent@vendor.example.com",
    Role.CLIENT_ADMIN: "admin@edu.example.com",
    Role.CLIENT_STAFF: "it@edu.example.com",
    Role.SITE_ADMIN: "school1@edu.example.com",
}
MENU = "nav.portal-nav #portal-menu"


def paths_for(role):
    """The address of every navigation item of the role, in the order of the list."""
    with make_app().test_request_context():
        return [url_for(item.endpoint) for item in NAV if role in item.roles]


def menu_paths(page):
    return page.eval_on_selector_all(f"{MENU} a", "links => links.map(a => a.getAttribute('href'))")


def assert_fits(page, width):
    """No sideways scrolling, and the vendor's name shown whole (not clipped, not ellipsised, inside the screen)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    name = page.locator(".brand-name")
    expect(name).to_be_visible()
    assert name.evaluate("e => e.scrollWidth <= e.clientWidth")  # no part of the name beyond its box
    style = name.evaluate("e => { const s = getComputedStyle(e); return [s.overflowX, s.overflowY, s.textOverflow]; }")
    assert style[:2] == ["visible", "visible"] and style[2] != "ellipsis"  # and nothing hides what would overflow
    box = name.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width


@pytest.fixture
def phone(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 800})
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.mark.parametrize("role", list(ACCOUNTS))
def test_every_section_is_reachable_from_the_phone_menu(phone, live_server, role):
    page = phone.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live_server, ACCOUNTS[role])
    page.wait_for_url(f"{live_server}/")
    expected = paths_for(role)
    assert len(expected) >= 8
    toggler = page.locator("nav.portal-nav button.nav-toggler")
    for lang in ("zh", "en"):
        page.goto(f"{live_server}/?lang={lang}")
        assert_fits(page, 375)
        expect(toggler).to_be_visible()
        assert toggler.get_attribute("aria-controls") == "portal-menu"
        expect(toggler).to_have_attribute("aria-expanded", "false")
        expect(page.locator(MENU)).to_be_hidden()
        toggler.click()
        expect(toggler).to_have_attribute("aria-expanded", "true")
        assert menu_paths(page) == expected  # every section of the role, none twice
        for link in page.locator(f"{MENU} a").all():
            expect(link).to_be_visible()
        assert_fits(page, 375)
        page.keyboard.press("Escape")
        expect(toggler).to_have_attribute("aria-expanded", "false")
        expect(page.locator(MENU)).to_be_hidden()
        expect(toggler).to_be_focused()
    # Click through: each section opens from the menu and is then the current one.
    for path in expected:
        toggler.click()
        with page.expect_navigation():
            page.locator(f'{MENU} a[href="{path}"]').click()
        current = page.locator(f'{MENU} a[aria-current="page"]')
        expect(current).to_have_count(1)
        assert current.get_attribute("href") == path
        expect(toggler).to_contain_text(current.inner_text().strip())  # the button names the section one is in
        assert_fits(page, 375)
    page.goto(f"{live_server}/?lang=zh")
    assert errors == []


def test_the_managers_menu_is_grouped_and_pictured(phone, live_server):
    SHOTS.mkdir(exist_ok=True)
    page = phone.new_page()
    sign_in(page, live_server, ACCOUNTS[Role.VENDOR_MANAGER])
    page.wait_for_url(f"{live_server}/")
    for lang in ("zh", "en"):
        page.goto(f"{live_server}/equipment/?lang={lang}")
        page.screenshot(path=str(SHOTS / f"menu-closed-{lang}-375.png"))
        page.click("nav.portal-nav button.nav-toggler")
        groups = page.locator(f"{MENU} .nav-group-label")
        expect(groups).to_have_count(len(GROUPS))
        for label in groups.all():
            expect(label).to_be_visible()
            labelled = page.locator(f'{MENU} ul[aria-labelledby="{label.get_attribute("id")}"] a')
            assert (
                labelled.count() >= 2
            )  # (administration: clients and settings; accounts are the system administrator's)
        page.screenshot(path=str(SHOTS / f"menu-open-{lang}-375.png"))
    page.goto(f"{live_server}/?lang=zh")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_desktop_shows_the_bar_without_opening_anything(browser, live_server, lang):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        sign_in(page, live_server, ACCOUNTS[Role.VENDOR_MANAGER])
        page.wait_for_url(f"{live_server}/")
        page.goto(f"{live_server}/tickets/?lang={lang}")
        expect(page.locator("nav.portal-nav button.nav-toggler")).to_be_hidden()
        assert menu_paths(page) == paths_for(Role.VENDOR_MANAGER)
        links = page.locator(f"{MENU} a").all()
        for link in links:
            expect(link).to_be_visible()
        tops = {round(link.bounding_box()["y"]) for link in links}
        assert len(tops) <= 2  # a bar (two rows at most), not a column
        expect(page.locator(f'{MENU} a[aria-current="page"]')).to_have_attribute("href", "/tickets/")
        assert_fits(page, 1280)
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / f"menu-desktop-{lang}-1280.png"))
        page.goto(f"{live_server}/?lang=zh")
    finally:
        context.close()


def test_without_javascript_the_phone_menu_is_open(browser, live_server):
    context = browser.new_context(java_script_enabled=False, locale="zh-CN", viewport={"width": 375, "height": 800})
    try:
        page = context.new_page()
        sign_in(page, live_server, ACCOUNTS[Role.VENDOR_MANAGER])
        page.wait_for_url(f"{live_server}/")
        expect(page.locator("nav.portal-nav button.nav-toggler")).to_be_hidden()  # a button that could open nothing
        expected = paths_for(Role.VENDOR_MANAGER)
        assert menu_paths(page) == expected
        for path in expected:
            expect(page.locator(f'{MENU} a[href="{path}"]')).to_be_visible()
        assert_fits(page, 375)
        page.click(f'{MENU} a[href="{url_for_path("contracts")}"]')
        page.wait_for_url(re.compile(r"/contracts/$"))
        expect(page.locator(f'{MENU} a[aria-current="page"]')).to_have_attribute("href", "/contracts/")
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "menu-nojs-zh-375.png"))
    finally:
        context.close()


def url_for_path(section):
    return next(path for path in paths_for(Role.VENDOR_MANAGER) if path.startswith(f"/{section}/"))
