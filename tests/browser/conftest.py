"""A live portal (demo data) on a local port, and Debian's Chromium driven by Playwright.

Where Chromium is not installed the browser tests skip, saying so; with PORTAL_REQUIRE_BROWSER=1
(as `.ci/run` sets) they fail instead, so that CI can never pass without running them.
"""

import os
import shutil
import threading
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

from portal.extensions import db

from ..conftest import DATABASE_URL, make_app, reset_database

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def htmx_settled(page):
    """Wait until htmx has finished with the page: no request in flight, nothing swapping or settling, and every
    element it swapped in processed. htmx binds a swapped-in element's own hx- attributes only when it settles
    (20 ms after the swap), so a select changed in between would send nothing."""
    page.wait_for_function(
        "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')", polling=20
    )


def chromium_path():
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        if os.environ.get("PORTAL_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required here (PORTAL_REQUIRE_BROWSER=1): apt-get install chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def browser_app(tmp_path_factory, name="live"):
    """The portal as a browser test serves it: CSRF on, a file database on SQLite (the test database otherwise)."""
    url = DATABASE_URL
    if url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path_factory.mktemp(name) / 'portal.sqlite'}"
    return make_app(
        SQLALCHEMY_DATABASE_URI=url,
        WTF_CSRF_ENABLED=True,
        TESTING=False,
        PORTAL_ENV="test",
        STORAGE_DIR=str(tmp_path_factory.mktemp("files")),
    )


def seed_demo(app):
    with app.app_context():
        from portal.demo import seed

        db.create_all()
        seed()
        db.session.commit()


@contextmanager
def served(app):
    """``app`` served by a thread on 127.0.0.1: its base URL; the database is emptied afterwards."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        reset_database(app)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The portal with the demo data, served by a thread on 127.0.0.1 (a file database on SQLite)."""
    app = browser_app(tmp_path_factory)
    seed_demo(app)
    with served(app) as base:
        yield base


@pytest.fixture
def context(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 800})
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    return page
