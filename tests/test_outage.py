"""The database goes away: every request gets the portal's own 503 page (in the reader's language, with Retry-After),
never a bare "Internal Server Error", signed in or not, page, form or htmx fragment; the same browser is signed in
again once the database is back. And a request whose commit succeeded needs the database no more: its answer
cannot fail afterwards.

Outages are real: an application pointed at a closed port; on PostgreSQL (TEST_DATABASE_URL), a TCP proxy in front
of the test database that is cut and restored, and a server process that ends the connection of the request that
is using it (``pg_terminate_backend``).
"""

import re
import socket
import threading
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.tickets.models import Ticket

from .conftest import DATABASE_URL, make_app, reset_database
from .factories import PASSWORD, Factory

POSTGRES = DATABASE_URL.startswith("postgresql")
TITLES = {"en": "Temporarily unavailable", "zh": "暂时无法使用"}
TAGS = {"en": "en", "zh": "zh-CN"}


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens on it once the socket is closed


def assert_outage_page(response, lang, fragment=False):
    body = response.get_data(as_text=True)
    assert response.status_code == 503, (response.status_code, body[:300])
    assert response.headers["Retry-After"].isdigit() and response.headers["Cache-Control"] == "no-store"
    assert "Internal Server Error" not in body and "Traceback" not in body
    assert TITLES[lang] in body
    if fragment:
        assert "<html" not in body and 'class="error-page"' in body
    else:
        assert re.search(rf'<html lang="{TAGS[lang]}">', body) and "<title>" in body


def signed_in(app, user):
    """A browser signed in through the sign-in form of a working portal, as a user would be."""
    from portal.auth.models import User

    with app.app_context():
        db.session.get(User, user.id).set_password(PASSWORD)
        db.session.commit()
    browser = app.test_client()
    response = browser.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302 and browser.get("/").status_code == 200
    return browser


def cookies_to(browser, other, names):
    for name in names:
        other.set_cookie(name, browser.get_cookie(name).value)
    return other


@contextmanager
def connection_attempts(app):
    attempts = []

    def attempt(*args):
        attempts.append(True)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "do_connect", attempt)
    try:
        yield attempts
    finally:
        sa.event.remove(engine, "do_connect", attempt)


# ---------------------------------------------------------------- a database that is not there


@pytest.fixture(params=[True, False], ids=["exceptions propagate", "as in production"])
def down(request):
    """The portal of a database nobody answers for (a closed port); the same secret key as the working one. Tests
    let unhandled exceptions through (PROPAGATE_EXCEPTIONS), production turns them into the 500 page: the outage
    is the 503 page either way."""
    return make_app(
        SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://portal@127.0.0.1:{closed_port()}/portal?connect_timeout=2",
        PROPAGATE_EXCEPTIONS=request.param,
    )


@pytest.fixture
def people(make):
    return {
        lang: make.user(
            "client_staff", client=make.client(), password=PASSWORD, locale="en" if lang == "en" else "zh_Hans_CN"
        )
        for lang in ("en", "zh")
    }


REQUESTS = [  # (method, path, data, htmx)
    ("GET", "/", None, False),
    ("GET", "/tickets/", None, False),
    ("GET", "/tickets/?view=all", None, True),  # the queue refreshing itself
    ("GET", "/equipment/1", None, False),
    ("POST", "/tickets/new", {"title": "屏幕不亮", "description": "x", "severity": "B"}, False),
    ("POST", "/tickets/1/reply", {"body": "x", "version": "1"}, True),
    ("POST", "/logout", {}, False),
]


def test_signed_in_users_get_the_503_page_in_their_language(app, down, people):
    for lang, user in people.items():
        browser = signed_in(app, user)
        # The session cookie: the user loader needs the database.
        names = ["portal_session", "portal_lang"]
        outage = cookies_to(browser, down.test_client(), names)
        for method, path, data, htmx in REQUESTS:
            headers = {
                "Accept-Language": "zh-CN" if lang == "en" else "en"
            }  # the user's choice wins over the browser's
            if htmx:
                headers["HX-Request"] = "true"
            with connection_attempts(down) as attempts:
                response = outage.open(path, method=method, data=data, headers=headers)
            assert_outage_page(response, lang, fragment=htmx)
            assert len(attempts) == 1  # the one that failed: the page itself is made without the database
        # Still signed in when the database is back: the outage signed nobody out.
        back = cookies_to(outage, app.test_client(), names)
        assert back.get("/?lang=en").status_code == 200


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_anonymous_requests_that_need_the_database_get_the_503_page(down, lang):
    browser = down.test_client()
    for method, path, data in (
        ("POST", "/login", {"email": "a@b.example", "password": "x" * 12}),
        ("GET", "/invite/some-token", None),
        ("GET", "/inspections/calendar/some-token.ics", None),
    ):
        assert_outage_page(browser.open(f"{path}?lang={lang}", method=method, data=data), lang)
        assert_outage_page(
            browser.open(
                path, method=method, data=data, headers={"Accept-Language": "zh-CN,zh" if lang == "zh" else "en-GB"}
            ),
            lang,
        )
    # What needs no database still works: the sign-in page, the way there, the files, and /readyz says so.
    assert browser.get(f"/login?lang={lang}").status_code == 200
    assert browser.get("/tickets/").headers["Location"].startswith("/login")
    assert browser.get("/static/css/portal.css").status_code == 200
    assert browser.get("/readyz").status_code == 503 and browser.get("/healthz").status_code == 200


def test_the_503_page_names_the_vendor_and_hotline_last_read(down):
    """The page is the portal's own: the vendor's name and hotline as this process last read them."""
    down.extensions["portal.vendor"] = {
        "name_zh": "测试供应商",
        "name_en": "Test Vendor",
        "hotline": "400-000-0000",
        "email": "",
    }
    browser = down.test_client()
    with browser.session_transaction() as session:
        session["_user_id"] = "1:token"
    body = browser.get("/?lang=en").get_data(as_text=True)
    assert "Test Vendor" in body and "400-000-0000" in body


def test_static_files_do_not_load_the_user(down):
    browser = down.test_client()
    with browser.session_transaction() as session:
        session["_user_id"] = "1:token"
    response = browser.get("/static/css/portal.css")
    assert response.status_code == 200 and response.headers.get("Cache-Control") != "no-store"


# ---------------------------------------------------------------- a PostgreSQL database cut and restored


class Proxy:
    """A TCP proxy in front of the database: ``cut()`` drops every connection and refuses new ones (as a database
    host that goes away), ``restore()`` listens again on the same port."""

    def __init__(self, host, port):
        self.target, self.sockets, self.lock = (host, port), set(), threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._serve()

    def _serve(self):
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
                upstream = socket.create_connection(self.target)
            except OSError:
                return
            with self.lock:
                self.sockets |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.sockets.clear()

    def restore(self):
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self._serve()


def proxy_ports(proxy):
    """The local ports of the proxy's connections to the server: how the server sees the portal's connections."""
    ports = []
    with proxy.lock:
        for s in proxy.sockets:
            try:
                if s.getpeername()[1] == proxy.target[1]:
                    ports.append(s.getsockname()[1])
            except OSError:  # closed since
                pass
    return ports


needs_postgres = pytest.mark.skipif(not POSTGRES, reason="a PostgreSQL server to cut off (TEST_DATABASE_URL)")


@pytest.fixture
def proxied():
    """A portal whose database connections go through a proxy we can cut, configured as in production
    (connections checked before use)."""
    url = sa.engine.make_url(DATABASE_URL)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    app = make_app(
        SQLALCHEMY_DATABASE_URI=url.set(host="127.0.0.1", port=proxy.port).render_as_string(False),
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "connect_args": {"connect_timeout": 3}},
    )
    yield app, proxy
    proxy.restore() if proxy.listener.fileno() == -1 else None
    reset_database(app)


@needs_postgres
def test_a_postgresql_outage_and_its_end(proxied):
    from .factories import World

    app, proxy = proxied
    world = World(Factory(app))
    browsers = {"en": signed_in(app, world.a_staff), "zh": signed_in(app, world.a_admin)}
    for lang, browser in browsers.items():
        assert browser.get(f"/?lang={lang}").status_code == 200  # the user's language, kept in a cookie too
    proxy.cut()
    for lang, browser in browsers.items():
        for method, path, data, htmx in [
            ("GET", f"/tickets/{world.ticket_a.id}", None, False),
            ("GET", "/tickets/?view=all", None, True),
            ("POST", f"/tickets/{world.ticket_a.id}/reply", {"body": "还在吗", "version": "1"}, False),
            ("POST", "/complaints/new", {"category": "other", "description": "x"}, True),
        ]:
            response = browser.open(path, method=method, data=data, headers={"HX-Request": "true"} if htmx else {})
            assert_outage_page(response, lang, fragment=htmx)
    proxy.restore()
    for browser in browsers.values():  # the pool's dead connections are noticed and replaced; still signed in
        assert browser.get(f"/tickets/{world.ticket_a.id}").status_code == 200


@needs_postgres
def test_a_connection_ended_by_the_server_during_a_request(proxied):
    """PostgreSQL ends the request's own connection (an administrator, a restart): 503, and the next request is
    served on a new connection."""
    app, proxy = proxied

    @app.get("/terminate-me")
    def terminate_me():
        db.session.execute(sa.text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return "not reached"

    from .factories import World

    world = World(Factory(app))
    browser = app.test_client(user=world.a_staff)
    assert_outage_page(browser.get("/terminate-me?lang=en"), "en")
    assert browser.get("/?lang=en").status_code == 200
    # The server ends every connection the portal keeps in its pool (a restart): the next request does not notice.
    url = sa.engine.make_url(DATABASE_URL)
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        ended = conn.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :db AND pid <> pg_backend_pid() AND client_port = ANY(:ports)"
            ),
            {"db": url.database, "ports": proxy_ports(proxy)},
        ).scalar()
    admin.dispose()
    assert ended >= 1
    assert browser.get("/?lang=en").status_code == 200


@needs_postgres
def test_a_filing_whose_commit_succeeded_is_answered_even_if_the_database_goes_at_once(proxied):
    """The database is cut right after the commit: the answer (a redirect to the new ticket, its number in the
    flash) is made from what the request already holds."""
    from .factories import World

    app, proxy = proxied
    world = World(Factory(app))
    browser = app.test_client(user=world.a_school)

    def cut(session):
        if not session.in_nested_transaction():  # the transaction itself, not a savepoint inside it
            proxy.cut()

    sa.event.listen(sa.orm.Session, "after_commit", cut)
    try:
        response = browser.post(
            "/tickets/new",
            data={
                "unit": world.unit_a1.id,
                "severity": "B",
                "kind": "hardware",
                "title": "屏幕不亮",
                "description": "x",
                "contact_name": "张老师",
                "contact_phone": "13800000000",
                "channel": "portal",
            },
        )
    finally:
        sa.event.remove(sa.orm.Session, "after_commit", cut)
    assert response.status_code == 302 and "/tickets/" in response.headers["Location"]
    proxy.restore()
    ticket_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        assert db.session.get(Ticket, ticket_id) is not None


# ---------------------------------------------------------------- nothing read after a successful commit


def version(app, url):
    """The version a ticket's page would show now (its step forms send it back)."""
    with app.app_context():
        return db.session.get(Ticket, int(url.split("/")[2])).version


def post_steps(world):
    """Form posts that save something and answer from it (a redirect, a flash naming what was made)."""
    ticket = {
        "severity": "B",
        "kind": "hardware",
        "title": "t",
        "description": "d",
        "contact_name": "c",
        "contact_phone": "13800000000",
        "channel": "portal",
    }
    return [
        (world.a_school, "/tickets/new", {**ticket, "unit": world.unit_a1.id}),
        (
            world.agent,
            "/tickets/new",
            {**ticket, "site": world.b_site.id, "equipment_text": "投影仪", "channel": "phone"},
        ),
        (world.a_school, f"/tickets/{world.ticket_a.id}/reply", {"body": "x", "version": version}),
        (world.agent, f"/tickets/{world.ticket_a.id}/respond", {"body": "x", "version": version}),
        (world.a_admin, "/complaints/new", {"category": "other", "description": "x"}),
        (world.manager, f"/complaints/{world.complaint_a.id}/assign", {"handler": world.agent.id}),
        (world.a_staff, f"/renewals/request?unit={world.unit_a1.id}", {"years": "1", "note": "x"}),
        (
            world.agent,
            "/inspections/log/new",
            {
                "contract": world.contract_a.id,
                "site": world.a_site1.id,
                "work_date": "2026-03-03",
                "engineers": "x",
                "headcount": "1",
                "time_in": "08:30",
                "time_out": "17:00",
                "place": "x",
                "work_done": "x",
                "result": "x",
            },
        ),
        (
            world.agent,
            f"/inspections/{world.visit_row_a.visit_id}/units/{world.visit_row_a.id}/ticket",
            {"severity": "B"},
        ),
        (world.a_admin, f"/inspections/log/{world.log_a.id}/sign", {"name": "x"}),
        (
            world.agent,
            "/equipment/new",
            {
                "contract": world.contract_a.id,
                "site": world.a_site1.id,
                "model": world.model.id,
                "serial": "NEW-1",
                "status": "in_service",
            },
        ),
        (world.a_staff, "/account/", {"name": "x", "locale": "en"}),
    ]


def test_a_saved_step_answers_without_reading_the_database_again(app, world):
    statements, committed = [], []

    def on_commit(session):
        if not session.in_nested_transaction():  # the transaction itself, not a savepoint inside it
            committed.append(True)

    def on_statement(conn, cursor, statement, *args):
        if committed:
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(sa.orm.Session, "after_commit", on_commit)
    sa.event.listen(engine, "before_cursor_execute", on_statement)
    try:
        for user, url, data in post_steps(world):
            browser = app.test_client(user=user)  # its sign-in session is saved (committed) before the request
            committed.clear()
            statements.clear()
            data = {name: value(app, url) if callable(value) else value for name, value in data.items()}
            response = browser.post(url, data=data)
            assert response.status_code == 302 and committed, (url, response.status_code)
            assert statements == [], (url, statements)
    finally:
        sa.event.remove(sa.orm.Session, "after_commit", on_commit)
        sa.event.remove(engine, "before_cursor_execute", on_statement)
