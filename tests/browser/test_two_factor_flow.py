"""Two-step sign-in as people walk it in Chromium: the banner of the grace period, enrolment by the key shown on the
page (the code computed by pyotp, as an authenticator app would), the recovery codes, then signing in with a code;
and the security administrator's pages. Screenshots at 1280 and 375 pixels, in Chinese and English, in
/tmp/shots-2fa."""

import pathlib
import re
import time

import pyotp
import pytest
from playwright.sync_api import expect

from .conftest import browser_app, seed_demo, served

pytestmark = pytest.mark.browser
PASSWORD = "portal-demo-2026"
SHOTS = pathlib.Path("/tmp/shots-2fa")
SECURITY_ADMIN = "security@vendor.example.com"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The demo portal (its policy gives a month to enrol), whose security administrator is a demo account."""
    app = browser_app(tmp_path_factory, "two-factor")
    seed_demo(app)
    with served(app) as base:
        yield base


def sign_in(page, base, email):
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]")


def shoot(page, name, lang):
    """The page at both widths, full length."""
    SHOTS.mkdir(exist_ok=True)
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{lang}-{width}.png"), full_page=True)


@pytest.mark.parametrize(
    ("lang", "email", "texts"),
    [
        (
            "zh",
            "agent@vendor.example.com",
            {
                "banner": "您的账户必须使用双因素认证",
                "setup": "设置双因素认证",
                "confirm": "确认并启用",
                "kept": "我已妥善保存",
                "out": "退出",
                "step": "双因素认证",
                "continue": "继续",
                "welcome": "欢迎",
            },
        ),
        (
            "en",
            "manager@vendor.example.com",
            {
                "banner": "Your account must use two-step sign-in",
                "setup": "Set up two-step sign-in",
                "confirm": "Confirm and turn on",
                "kept": "I have kept them",
                "out": "Sign out",
                "step": "Two-step sign-in",
                "continue": "Continue",
                "welcome": "Welcome",
            },
        ),
    ],
)
def test_enrol_then_sign_in_with_a_code(browser, server, lang, email, texts):
    context = browser.new_context(locale="zh-CN" if lang == "zh" else "en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    errors = []
    try:
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server}/login?lang={lang}")
        sign_in(page, server, email)
        page.wait_for_url(f"{server}/")
        banner = page.locator(".enrol-banner")
        expect(banner).to_contain_text(texts["banner"])  # the grace period: a banner, not a wall
        shoot(page, "banner", lang)
        banner.locator("a").click()
        page.wait_for_url(f"{server}/account/two-factor")
        qr = page.locator(".qr img")
        expect(qr).to_be_visible()
        assert qr.get_attribute("src").startswith("data:image/svg+xml")
        assert page.evaluate("document.querySelector('.qr img').naturalWidth") > 0  # the CSP lets it show
        shoot(page, "enrol", lang)
        # The key as shown, in groups of four, typed into "the app".
        secret = page.inner_text("#two-factor-secret").replace(" ", "")
        assert re.fullmatch(r"[A-Z2-7]{32}", secret)
        page.fill("#code", "000000")
        page.click(f"button:has-text('{texts['confirm']}')")
        expect(page.locator("#code-error")).to_be_visible()
        page.fill("#code", pyotp.TOTP(secret).now())
        page.click(f"button:has-text('{texts['confirm']}')")
        codes = page.locator("#recovery-codes code")
        expect(codes).to_have_count(10)
        recovery = codes.first.inner_text()
        shoot(page, "recovery-codes", lang)
        page.click(f"text={texts['kept']}")
        page.wait_for_url(f"{server}/")
        expect(page.locator(".enrol-banner")).to_have_count(0)

        page.click(f"button:has-text('{texts['out']}')")
        page.wait_for_url(re.compile(r"/login"))
        sign_in(page, server, email)
        page.wait_for_url(f"{server}/login/two-factor")
        expect(page.locator("h1")).to_contain_text(texts["step"])
        shoot(page, "second-step", lang)
        page.fill("#code", "111111")
        page.click(f"button:has-text('{texts['continue']}')")
        expect(page.locator("#code-error")).to_be_visible()
        shoot(page, "second-step-wrong", lang)
        page.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))  # the next code: the enrolment's is spent
        page.click(f"button:has-text('{texts['continue']}')")
        page.wait_for_url(f"{server}/")
        expect(page.locator("main")).to_contain_text(texts["welcome"])

        # A recovery code, once.
        page.click(f"button:has-text('{texts['out']}')")
        sign_in(page, server, email)
        page.wait_for_url(f"{server}/login/two-factor")
        page.fill("#code", recovery)
        page.click(f"button:has-text('{texts['continue']}')")
        page.wait_for_url(f"{server}/")
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_security_administrators_pages(browser, server, lang):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        sign_in(page, server, SECURITY_ADMIN)
        page.wait_for_url(f"{server}/")
        page.goto(f"{server}/security/policy?lang={lang}")
        expect(page.locator("#min_length")).to_have_value("12")
        shoot(page, "policy", lang)
        page.goto(f"{server}/security/users?lang={lang}")
        expect(page.locator("#security-users tbody tr").first).to_be_visible()
        shoot(page, "security-users", lang)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{server}/security/policy?lang={lang}")
        page.fill("#min_length", "7")
        page.click("main form button[type=submit]")
        expect(page.locator("#min_length-error")).to_be_visible()
        shoot(page, "policy-refused", lang)
    finally:
        context.close()
