"""A vendor narrows a list to a client, then to one of its sites: htmx fills the site select in place; without
JavaScript the form's button does it in two steps."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import htmx_settled
from .test_flows import sign_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    "path, table", [("/equipment/", "#equipment-table"), ("/inspections/?state=all", "#visit-table")]
)
def test_vendor_chooses_a_client_then_one_of_its_sites(page, live_server, path, table):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, "agent@vendor.example.com")
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}{path}")
    sites = page.locator("select#site option")
    expect(sites).to_have_count(1)  # "all sites" alone until a client is chosen
    centre = page.select_option("select#client", label="示范市信息中心")[0]
    page.wait_for_url(re.compile(rf"client={centre}(&|$)"))
    expect(sites).to_have_count(4)  # the centre's three departments, filled out of band with the table
    htmx_settled(page)
    assert "示范区第一中学" not in page.inner_text("select#site")
    page.select_option("select#site", label="数据中心机房")
    page.wait_for_url(re.compile(r"client=\d+.*site=\d+"))
    expect(page.locator(f"{table} tbody")).not_to_contain_text("网络运维部")
    assert "数据中心机房" in page.inner_text(f"{table} tbody") and "示范区" not in page.inner_text(f"{table} tbody")
    expect(page.locator("select#site")).to_have_value(re.compile(r"\d+"))
    assert page.locator("select#site option:checked").inner_text() == "数据中心机房"
    htmx_settled(page)
    # Another client: the site chosen before is not the new client's and is dropped.
    page.select_option("select#client", label="示范区教育局")
    expect(sites).to_have_count(6)
    expect(page.locator("select#site")).to_have_value("")
    htmx_settled(page)
    expect(page.locator(f"{table} tbody")).not_to_contain_text("数据中心机房")
    # The new site select sends its own change: one school of the bureau.
    school = page.select_option("select#site", label="示范区实验小学")[0]
    page.wait_for_url(re.compile(rf"site={school}(&|$)"))
    expect(page.locator(f"{table} tbody")).not_to_contain_text("示范区第一中学")
    assert "示范区实验小学" in page.inner_text(f"{table} tbody")
    assert page.console_errors == [], "htmx must run under the Content-Security-Policy"


def test_without_javascript_the_button_brings_the_clients_sites(browser, live_server):
    page = browser.new_page(java_script_enabled=False, locale="zh-CN")  # in a context of its own, closed below
    try:
        sign_in(page, live_server, "agent@vendor.example.com")
        page.wait_for_url(f"{live_server}/")
        page.goto(f"{live_server}/equipment/")
        page.select_option("select#client", label="示范市信息中心")
        page.click("form[role=search] button[type=submit]")
        page.wait_for_url(re.compile(r"client=\d+"))
        assert page.locator("select#site option").count() == 4
        page.select_option("select#site", label="网络运维部")
        page.click("form[role=search] button[type=submit]")
        page.wait_for_url(re.compile(r"site=\d+"))
        rows = page.inner_text("#equipment-table tbody")
        assert "网络运维部" in rows and "数据中心机房" not in rows
    finally:
        page.context.close()
