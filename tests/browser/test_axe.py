"""Accessibility: axe-core (the npm package, a devDependency) on the main pages of every demo role, in Chinese and
English, on a desktop and a phone. No serious or critical finding is the bar, on every page."""

import json
import os
import pathlib
import re

import pytest

from .test_flows import PASSWORD

pytestmark = pytest.mark.browser

AXE = pathlib.Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

# Pages every signed-in role has; ``None`` entries are found on the page before (the first link to an object).
COMMON = [
    "/",
    "/equipment/",
    ("unit", "/equipment/", r"/equipment/\d+$"),
    "/tickets/",
    ("ticket", "/tickets/", r"/tickets/\d+$"),
    "/tickets/new",
    "/warranty/",
    "/complaints/",
    ("complaint", "/complaints/", r"/complaints/\d+$"),
    "/inspections/",
    ("inspection", "/inspections/", r"/inspections/\d+$"),
    "/inspections/log",
    "/documents/",
    ("document", "/documents/", r"/documents/\d+$"),
    "/contracts/",
    "/parts/",
    "/surveys/",
    "/reports/",
    "/verify/",
    "/notifications/",
    "/notifications/preferences",
    "/account/",
]
ROLES = {
    "manager@vendor.example.com": COMMON
    + [
        "/renewals/",
        ("quote", "/renewals/", r"/renewals/\d+$"),
        "/complaints/ledger",
        "/clients/",
        "/models/",
        "/settings/",
        "/settings/calendar",
        "/inspections/calendar",
        "/notifications/deliveries",
        ("contract", "/contracts/", r"/contracts/\d+$"),
        ("client", "/clients/", r"/clients/\d+$"),
        "/equipment/new",
        "/equipment/import",
        "/contracts/new",
        "/documents/new",
        "/inspections/new",
        "/inspections/log/new",
        "/notifications/robots",
        ("surveyed ticket", "/surveys/", r"/tickets/\d+$"),  # a closed fault with its survey: the link and QR code
        "/scorecard/overview",
    ],
    "agent@vendor.example.com": COMMON + ["/renewals/", "/clients/", "/models/", "/scorecard/overview"],
    "admin@edu.example.com": COMMON
    + [
        "/renewals/",
        ("quote", "/renewals/", r"/renewals/\d+$"),
        "/renewals/request",
        "/complaints/new",
        "/sites/",
        "/users/",
        "/inspections/calendar",
        ("surveyed ticket", "/surveys/", r"/tickets/\d+$"),
        "/scorecard/?period=year",
        "/scorecard/evidence/response?period=year",
    ],
    "school1@edu.example.com": COMMON
    + ["/sites/mine", "/complaints/new", ("site", "/", r"/sites/\d+$"), "/scorecard/?period=year"],
    # The separated administrators: their home page and area only (三权分立).
    "sysadmin@vendor.example.com": [
        "/",
        "/account/",
        "/users/",
        "/users/new",
        ("user", "/users/", r"/users/\d+$"),
        "/clients/",
        ("client", "/clients/", r"/clients/\d+$"),
        "/sites/",
        ("site", "/sites/", r"/sites/\d+$"),
        "/settings/",
        "/settings/calendar",
        "/notifications/robots",
    ],
    "security@vendor.example.com": ["/", "/account/"],
    "auditor@vendor.example.com": ["/", "/account/"],
}
ERRORS = {404: "/equipment/999999", 403: "/settings/calendar"}  # the manager's page, refused to the others
ALLOWED_403 = {"manager@vendor.example.com", "sysadmin@vendor.example.com"}  # /settings/calendar is theirs
ADMINS = {"sysadmin@vendor.example.com", "security@vendor.example.com", "auditor@vendor.example.com"}
BUSINESS_EMAILS = set(ROLES) - ADMINS  # a unit's page is 404 to them; 403 to the administrators, before any lookup


def run_axe(page):
    """The serious and critical findings of axe on the page, as lines to print."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => JSON.stringify((await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}))"
        ".violations.filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))})))"
    )
    lines = []
    for violation in json.loads(result):
        for node in violation["nodes"]:
            summary = " ".join(node["summary"].split())
            lines.append(f"{violation['id']} ({violation['impact']}): {node['target']} — {summary}")
    return lines


def check(page, url, findings, status=200):
    response = page.goto(url)
    assert response.status == status, f"{url}: {response.status}, not {status}"
    page.wait_for_load_state()
    toggler = page.locator("nav.portal-nav button.nav-toggler")
    if toggler.count() and toggler.is_visible():  # on a phone, the menu open: its groups and links are checked too
        toggler.click()
    findings.extend(f"{page.url} [{page.viewport_size['width']}px]: {line}" for line in run_axe(page))


def resolve(page, base, entry):
    if isinstance(entry, str):
        return base + entry
    _name, listing, pattern = entry
    page.goto(base + listing)
    for href in page.eval_on_selector_all("main a[href]", "links => links.map(a => a.getAttribute('href'))"):
        path = href.split("?")[0]
        if re.search(pattern, path):
            return base + path
    raise AssertionError(f"no link matching {pattern} on {listing}")


@pytest.fixture(scope="module", autouse=True)
def axe_installed():
    if not AXE.exists():
        if os.environ.get("PORTAL_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{AXE} is missing: npm ci (make assets) installs axe-core, a devDependency")
        pytest.skip("axe-core is not installed (npm ci)")


@pytest.mark.parametrize("width", [1280, 375])
@pytest.mark.parametrize("email", list(ROLES))
def test_no_serious_accessibility_finding_on_any_page(browser, live_server, email, width):
    # The Content-Security-Policy forbids inline scripts; axe is injected as one, so the test bypasses it.
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900}, bypass_csp=True)
    findings = []
    try:
        page = context.new_page()
        page.goto(f"{live_server}/login?lang=zh")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(f"{live_server}/")
        for lang in ("zh", "en"):
            page.goto(f"{live_server}/?lang={lang}")  # the choice sticks to the user
            for entry in ROLES[email]:
                check(page, resolve(page, live_server, entry), findings)
            check(
                page, live_server + (ERRORS[404] if email in BUSINESS_EMAILS else "/nothing-here"), findings, status=404
            )
            if email not in ALLOWED_403:
                check(page, live_server + ERRORS[403], findings, status=403)
        page.goto(f"{live_server}/?lang=zh")
    finally:
        context.close()
    assert not findings, f"{len(findings)} serious or critical axe findings:\n" + "\n".join(findings)


@pytest.mark.parametrize("width", [1280, 375])
def test_no_serious_accessibility_finding_signed_out(browser, live_server, width):
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900}, bypass_csp=True)
    findings = []
    try:
        page = context.new_page()
        for lang in ("zh", "en"):
            check(page, f"{live_server}/login?lang={lang}", findings)
            page.fill("#email", "nobody@example.com")
            page.fill("#password", "wrong password")
            page.click("form button[type=submit]")  # the page with its error message
            page.wait_for_load_state()
            findings.extend(f"{page.url} [{width}px] after a failed sign-in: {line}" for line in run_axe(page))
    finally:
        context.close()
    assert not findings, f"{len(findings)} serious or critical axe findings:\n" + "\n".join(findings)
