"""Sign-in sessions: idle sign-out and an absolute lifetime, the list of one's own sessions, ending one or all."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.auth import services
from portal.auth.models import SignInSession, User
from portal.extensions import db
from portal.types import utcnow

from .factories import PASSWORD

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def sign_in(app, user, address="192.0.2.30", agent=CHROME):
    browser = app.test_client()
    response = browser.post(
        "/login",
        data={"email": user.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": address, "HTTP_USER_AGENT": agent},
    )
    assert response.status_code == 302
    return browser


def idle_for(browser, seconds):
    with browser.session_transaction() as session:
        session["seen"] -= seconds


def signed_out(response):
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def flashes(browser):
    with browser.session_transaction() as session:
        return [text for _, text in session.get("_flashes", [])]


@pytest.fixture
def staff(make):
    return make.user("client_staff", client=make.client(), email="it@school.example", password=PASSWORD)


def test_a_session_row_is_kept_with_only_the_digest_of_its_id(app, staff):
    browser = sign_in(app, staff)
    with browser.session_transaction() as session:
        sid = session["sid"]
    with app.app_context():
        row = db.session.scalar(sa.select(SignInSession))
        assert row.user_id == staff.id and row.token_hash != sid and len(row.token_hash) == 64
        assert row.address == "192.0.2.30" and row.user_agent == "Chrome 120 / Windows" and row.ended_at is None


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_idle_sign_out_after_the_timeout(app, staff, lang):
    browser = sign_in(app, staff)
    idle_for(browser, 29 * 60)
    assert browser.get("/").status_code == 200  # 29 minutes idle: still signed in, and the activity refreshed
    idle_for(browser, 29 * 60)
    assert browser.get("/").status_code == 200
    idle_for(browser, 30 * 60 + 5)
    response = browser.get(f"/?lang={lang}")
    assert signed_out(response)
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert {"en": "You were signed out after 30 minutes without activity.", "zh": "30 分钟无操作"}[lang] in page
    assert "Please sign in to see this page." not in page and "请登录后查看此页面" not in page
    assert signed_out(browser.get("/"))  # for good: the cookie no longer names a session


def test_the_idle_timeout_is_configurable(app, staff):
    app.config["SESSION_IDLE"] = timedelta(minutes=5)
    browser = sign_in(app, staff)
    idle_for(browser, 5 * 60 + 5)
    assert signed_out(browser.get("/"))


def test_background_polling_does_not_keep_an_idle_session_alive(app, staff):
    poll = {"HX-Request": "true", "X-Portal-Background": "1"}
    browser = sign_in(app, staff)
    idle_for(browser, 20 * 60)
    assert browser.get("/notifications/bell", headers=poll).status_code == 200
    idle_for(browser, 15 * 60)  # 35 minutes since the person did anything
    response = browser.get("/notifications/bell", headers=poll)
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")
    # A request the person makes (htmx or not) is activity.
    active = sign_in(app, staff)
    idle_for(active, 20 * 60)
    assert active.get("/notifications/bell", headers={"HX-Request": "true"}).status_code == 200
    idle_for(active, 15 * 60)
    assert active.get("/notifications/bell", headers=poll).status_code == 200


def test_the_absolute_lifetime_ends_a_busy_session(app, staff):
    browser = sign_in(app, staff)
    with app.app_context():
        row = db.session.scalar(sa.select(SignInSession))
        row.started_at -= timedelta(hours=12, minutes=1)
        db.session.commit()
    response = browser.get("/", headers={"Accept-Language": "en"})
    assert signed_out(response)
    assert any("a session lasts at most 12 hours" in text for text in flashes(browser))


def test_no_get_writes_even_when_a_session_expires(app, staff, count_queries):
    browser = sign_in(app, staff)
    idle_for(browser, 31 * 60)
    with count_queries() as counter:
        assert signed_out(browser.get("/"))
    writes = [s for s in counter.statements if s.split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]
    # Only the expiry's audit record, on a connection of its own (portal.audit): nothing of the request's own.
    assert len(writes) == 1 and writes[0].startswith("INSERT INTO audit_event"), writes


def test_sign_out_ends_this_session_only(app, staff):
    laptop, phone = sign_in(app, staff), sign_in(app, staff, address="192.0.2.31")
    assert laptop.post("/logout").status_code == 302
    assert signed_out(laptop.get("/"))
    assert phone.get("/").status_code == 200
    with app.app_context():
        reasons = sorted(str(r) for r in db.session.scalars(sa.select(SignInSession.end_reason)))
        assert reasons == ["None", "signed_out"]


def test_the_list_shows_ones_own_open_sessions(app, staff, make):
    laptop = sign_in(app, staff)
    sign_in(
        app,
        staff,
        address="198.51.100.40",
        agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) "
        "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/604.1",
    )
    other = make.user("client_staff", client=make.client(), password=PASSWORD)
    sign_in(app, other, address="203.0.113.77")
    page = laptop.get("/account/sessions", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "192.0.2.30" in page and "198.51.100.40" in page and "203.0.113.77" not in page
    assert "Chrome 120 / Windows" in page and "Safari 17 / iOS" in page
    assert page.count("This device") == 1


def test_ending_another_session_signs_that_device_out(app, staff, make):
    laptop, phone = sign_in(app, staff), sign_in(app, staff, address="192.0.2.31")
    with app.app_context():
        phone_row = db.session.scalar(sa.select(SignInSession).where(SignInSession.address == "192.0.2.31"))
    assert laptop.post(f"/account/sessions/{phone_row.id}/end").status_code == 302
    assert laptop.post(f"/account/sessions/{phone_row.id}/end").status_code == 302  # a double post: no harm
    assert signed_out(phone.get("/"))
    assert laptop.get("/").status_code == 200
    # Another user's session, or one that does not exist: 404.
    intruder = make.user("client_staff", client=make.client(), password=PASSWORD)
    theirs = sign_in(app, intruder, address="192.0.2.32")
    assert theirs.post(f"/account/sessions/{phone_row.id}/end").status_code == 404
    assert theirs.post("/account/sessions/999999/end").status_code == 404


def test_sign_out_on_every_other_device(app, staff):
    laptop, phone, tablet = (sign_in(app, staff, address=f"192.0.2.{n}") for n in (40, 41, 42))
    response = laptop.post("/account/sessions/end", data={"scope": "others"}, headers={"Accept-Language": "en"})
    assert response.status_code == 302
    assert "2 other sessions ended." in flashes(laptop)
    assert signed_out(phone.get("/")) and signed_out(tablet.get("/"))
    assert laptop.get("/").status_code == 200


def test_sign_out_everywhere(app, staff):
    laptop, phone = sign_in(app, staff), sign_in(app, staff, address="192.0.2.31")
    assert signed_out(laptop.post("/account/sessions/end", data={"scope": "all"}))
    assert signed_out(laptop.get("/")) and signed_out(phone.get("/"))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(SignInSession.ended_at.is_(None))) == 0
    assert laptop.post("/account/sessions/end", data={"scope": "nonsense"}).status_code == 302  # signed out now
    fresh = sign_in(app, staff)
    assert fresh.post("/account/sessions/end", data={"scope": "nonsense"}).status_code == 400


def test_ending_every_session_of_a_user_ends_the_rows_too(app, staff):
    sign_in(app, staff)
    sign_in(app, staff, address="192.0.2.31")
    with app.app_context():
        services.sign_out(db.session.get(User, staff.id))
        db.session.commit()
        assert services.open_sessions(db.session.get(User, staff.id)) == []


def test_session_rows_of_the_test_client_work_like_real_ones(app, staff):
    browser = app.test_client(user=staff)
    assert browser.get("/account/sessions").status_code == 200
    idle_for(browser, 31 * 60)
    assert signed_out(browser.get("/"))


def test_a_session_that_started_long_ago_is_not_listed(app, staff):
    browser = sign_in(app, staff)
    sign_in(app, staff, address="192.0.2.31")
    with app.app_context():
        old = db.session.scalar(sa.select(SignInSession).where(SignInSession.address == "192.0.2.31"))
        old.started_at = utcnow() - timedelta(hours=13)
        db.session.commit()
    assert "192.0.2.31" not in browser.get("/account/sessions").get_data(as_text=True)


def test_each_expiry_is_recorded_with_its_reason(app, staff, monkeypatch):
    from portal.auth import gate

    recorded = []
    monkeypatch.setattr(gate, "record", lambda event, **kw: recorded.append((event, kw["reason"], kw["user"].id)))
    idle = sign_in(app, staff)
    idle_for(idle, 31 * 60)
    idle.get("/")
    ended = sign_in(app, staff)
    with app.app_context():
        services.end_other_sessions(db.session.get(User, staff.id))
        db.session.commit()
    ended.get("/")
    old = sign_in(app, staff)
    with app.app_context():
        db.session.execute(sa.update(SignInSession).values(started_at=utcnow() - timedelta(hours=13)))
        db.session.commit()
    old.get("/")
    assert recorded == [("auth.session_expired", reason, staff.id) for reason in ("idle", "ended", "absolute")]
