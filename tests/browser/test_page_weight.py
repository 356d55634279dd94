"""What a page costs over the network, as Chromium counts it: the bytes received for every request (headers and the
body as sent, i.e. compressed), read from the DevTools protocol (``Network.loadingFinished``'s encodedDataLength;
a file taken from the browser's cache costs nothing there).

How we count, the strict way: in a fresh browser (empty cache), the sign-in page and the first page after signing
in, together, must stay within 150 KB; then a second page (a plain navigation to another page) within 40 KB, i.e.
the styles, scripts and fonts are not downloaded again.
"""

import pytest

pytestmark = pytest.mark.browser
PASSWORD = "portal-demo-2026"
KB = 1024
FIRST_BUDGET = 150 * KB
SECOND_BUDGET = 40 * KB


class Meter:
    """Bytes received per request since the last ``take()``, from Chromium's own network events."""

    def __init__(self, page):
        self.session = page.context.new_cdp_session(page)
        self.urls = {}
        self.sizes = {}
        self.session.on("Network.requestWillBeSent", self._sent)
        self.session.on("Network.loadingFinished", self._finished)
        self.session.send("Network.enable")

    def _sent(self, event):
        self.urls[event["requestId"]] = event["request"]["url"]

    def _finished(self, event):
        url = self.urls.get(event["requestId"], event["requestId"])
        self.sizes[url] = self.sizes.get(url, 0) + event["encodedDataLength"]

    def take(self):
        sizes, self.sizes = self.sizes, {}
        return sizes


def report(sizes):
    return "\n".join(f"{size:>8} {url}" for url, size in sorted(sizes.items(), key=lambda kv: -kv[1]))


@pytest.mark.parametrize(
    "email, second",
    [
        ("admin@edu.example.com", "/equipment/"),  # the client administrator
        ("manager@vendor.example.com", "/tickets/"),  # the vendor manager
    ],
)
def test_a_signed_in_user_downloads_the_styles_scripts_and_fonts_once(page, live_server, email, second):
    meter = Meter(page)
    page.goto(f"{live_server}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    page.wait_for_load_state("networkidle")  # the icon font, htmx's requests: everything the page loads
    first = meter.take()
    assert any(url.endswith(".css") for url in first), report(first)  # the meter sees the files
    # The icon font (cut down to the icons in use) is there and loaded: the icons show.
    fonts = page.evaluate(
        "() => [...document.fonts].filter(f => f.family.includes('bootstrap-icons')).map(f => f.status)"
    )
    assert fonts == ["loaded"], fonts

    page.goto(f"{live_server}{second}")
    page.wait_for_load_state("networkidle")
    second_sizes = meter.take()
    assert f"{live_server}{second}" in second_sizes, report(second_sizes)

    print(f"\n{email}: sign-in + first page {sum(first.values())} B; second page {sum(second_sizes.values())} B")
    print(report(first), "\n--", report(second_sizes), sep="\n")
    assert sum(first.values()) <= FIRST_BUDGET, report(first)
    assert sum(second_sizes.values()) <= SECOND_BUDGET, report(second_sizes)
    # Whatever the page's own weight, nothing of /static/ is fetched again, not even to ask whether it changed.
    static = {url: size for url, size in second_sizes.items() if "/static/" in url}
    assert static and not any(static.values()), report(static)
    assert page.console_errors == []
