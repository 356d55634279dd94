"""Signing in and out, the throttle, sessions that really end, invitations, passwords, redirects, CSRF."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.auth import services
from portal.auth.models import Invitation, SignInThrottle, User
from portal.extensions import db
from portal.types import utcnow

from .factories import PASSWORD

WRONG = "The e-mail address or the password is not correct."
LOCKED = "Too many failed sign-ins. For your security, try again in"


def sign_in(client, email, password=PASSWORD, **extra):
    return client.post(
        "/login", data={"email": email, "password": password, **extra}, headers={"Accept-Language": "en"}
    )


@pytest.fixture
def staff(make):
    client = make.client()
    return make.user("client_staff", client=client, email="it@school.example", password=PASSWORD, name="孙磊")


def test_sign_in_with_the_real_form_and_csrf(app, staff):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    refused = client.post("/login", data={"email": staff.email, "password": PASSWORD})
    assert refused.status_code == 400  # no CSRF token
    response = client.post("/login", data={"email": " IT@School.example ", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_answer(app, staff):
    client = app.test_client()
    wrong = sign_in(client, staff.email, "not the password")
    unknown = sign_in(client, "nobody@school.example", "not the password")
    assert wrong.status_code == unknown.status_code == 200
    assert WRONG in wrong.get_data(as_text=True) and WRONG in unknown.get_data(as_text=True)
    assert 'value="not the password"' not in wrong.get_data(as_text=True)
    assert staff.email in wrong.get_data(as_text=True)  # what the user typed is kept


def test_deactivated_user_cannot_sign_in(app, make):
    user = make.user("vendor_agent", password=PASSWORD, active=False)
    response = sign_in(app.test_client(), user.email)
    assert WRONG in response.get_data(as_text=True)


def test_five_failures_slow_the_next_attempt_down_from_any_browser(app, staff):
    client = app.test_client()
    for _ in range(5):
        assert WRONG in sign_in(client, staff.email, "bad").get_data(as_text=True)
    sixth = sign_in(client, staff.email, "bad").get_data(as_text=True)
    assert LOCKED in sixth and "1 second." in sixth
    # Even the right password is refused while waiting, from any browser (the count is in the database).
    other_browser = app.test_client()
    assert LOCKED in sign_in(other_browser, staff.email).get_data(as_text=True)
    with app.app_context():
        # A moment later the wait is over.
        for row in db.session.scalars(sa.select(SignInThrottle)):
            row.last_at -= timedelta(seconds=2)
        db.session.commit()
    response = sign_in(other_browser, staff.email)
    assert response.status_code == 302
    with app.app_context():  # a successful sign-in clears the account's count, not the address's
        rows = {row.kind: row.failures for row in db.session.scalars(sa.select(SignInThrottle))}
        assert rows == {"address": 5}


def test_unknown_addresses_are_throttled_like_real_ones(app):
    client = app.test_client()
    for _ in range(5):
        sign_in(client, "ghost@school.example", "bad")
    assert LOCKED in sign_in(client, "ghost@school.example", "bad").get_data(as_text=True)


def test_a_cookie_replayed_after_sign_out_does_not_work(app, staff):
    browser = app.test_client()
    assert sign_in(browser, staff.email).status_code == 302
    stolen = {c.key: c.value for c in browser._cookies.values()}
    assert "portal_session" in stolen
    assert browser.post("/logout").status_code == 302
    thief = app.test_client()
    for key, value in stolen.items():
        thief.set_cookie(key, value)
    response = thief.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_no_remember_me_a_session_ends_with_the_browser(app, staff):
    """ "Keep me signed in" (a 14-day cookie) is gone: it would outlive the idle sign-out."""
    assert 'name="remember"' not in app.test_client().get("/login").get_data(as_text=True)
    browser = app.test_client()
    assert sign_in(browser, staff.email, remember="y").status_code == 302
    assert browser.get_cookie("portal_remember") is None
    cookie = browser.get_cookie("portal_session")
    assert cookie.expires is None  # a browser-session cookie
    assert not any(key.startswith("REMEMBER_") for key in app.config)


def test_session_cookie_flags(app, staff):
    browser = app.test_client()
    sign_in(browser, staff.email)
    cookie = browser.get_cookie("portal_session")
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure
    app.config.update(SESSION_COOKIE_SECURE=True)  # as production sets it
    https = app.test_client()
    sign_in(https, staff.email)
    assert https.get_cookie("portal_session").secure


def test_sign_in_starts_a_new_session(app, staff):
    browser = app.test_client()
    with browser.session_transaction() as session:
        session["planted"] = "by an attacker"
    sign_in(browser, staff.email)
    with browser.session_transaction() as session:
        assert "planted" not in session


@pytest.mark.parametrize("change", ["password", "role", "deactivate"])
def test_changes_that_end_every_session(app, make, staff, change):
    other_device = app.test_client()
    sign_in(other_device, staff.email)
    assert other_device.get("/").status_code == 200
    if change == "password":
        me = app.test_client()
        sign_in(me, staff.email)
        response = me.post(
            "/account/password",
            data={
                "current": PASSWORD,
                "password": "A brand new secret 密码 42",
                "confirm": "A brand new secret 密码 42",
            },
        )
        assert response.status_code == 302
        assert me.get("/").status_code == 200  # the device that changed it stays signed in
    else:
        sysadmin = make.user("system_admin")
        admin = app.test_client(user=sysadmin)
        with app.app_context():
            user = db.session.get(User, staff.id)
            data = {"email": user.email, "name": user.name, "role": "client_admin", "client": user.client_id}
        if change == "role":
            assert admin.post(f"/users/{staff.id}/edit", data=data).status_code == 302
        else:
            assert admin.post(f"/users/{staff.id}/deactivate").status_code == 302
    response = other_device.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_editing_without_a_change_of_role_keeps_sessions(app, make, staff):
    device = app.test_client()
    sign_in(device, staff.email)
    sysadmin = make.user("system_admin")
    data = {"email": staff.email, "name": "新名字", "role": "client_staff", "client": staff.client_id, "phone": "123"}
    assert app.test_client(user=sysadmin).post(f"/users/{staff.id}/edit", data=data).status_code == 302
    assert device.get("/").status_code == 200


def test_password_change_checks_the_current_password_and_the_policy(app, staff):
    me = app.test_client()
    sign_in(me, staff.email)
    body = me.post(
        "/account/password",
        data={"current": "wrong", "password": "Long enough pass 42", "confirm": "Long enough pass 42"},
        headers={"Accept-Language": "en"},
    ).get_data(as_text=True)
    assert "This is not your current password." in body
    body = me.post(
        "/account/password",
        data={"current": PASSWORD, "password": "short", "confirm": "short"},
        headers={"Accept-Language": "en"},
    ).get_data(as_text=True)
    assert "Use at least 12 characters." in body
    body = me.post(
        "/account/password",
        data={"current": PASSWORD, "password": "Long enough pass 42", "confirm": "other"},
        headers={"Accept-Language": "en"},
    ).get_data(as_text=True)
    assert "The two passwords are not the same." in body


def test_long_unicode_passwords_work(app, staff):
    password = (
        "黄河之水天上来，奔流到海不复回。君不见高堂明镜悲白发，朝如青丝暮成雪。人生得意须尽欢，莫使金樽空对月。"
        + " 🙂 Ünïcødé 9" * 3
    )  # well over 64 characters
    assert len(password) > 64
    me = app.test_client()
    sign_in(me, staff.email)
    response = me.post("/account/password", data={"current": PASSWORD, "password": password, "confirm": password})
    assert response.status_code == 302
    assert sign_in(app.test_client(), staff.email, password).status_code == 302
    with app.app_context():
        assert db.session.get(User, staff.id).password_hash.startswith("scrypt:")


@pytest.mark.parametrize(
    ("target", "lands"),
    [
        ("/users/", "/users/"),
        ("/sites/?q=一中", "/sites/?q=%E4%B8%80%E4%B8%AD"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
    ],
)
def test_back_to_where_they_were_going_but_only_on_this_site(app, make, target, lands):
    manager = make.user("vendor_manager", password=PASSWORD)
    response = app.test_client().post(
        "/login", query_string={"next": target}, data={"email": manager.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == lands


def test_anonymous_is_sent_to_sign_in_with_the_page_to_return_to(app):
    response = app.test_client().get("/users/?role=client_admin")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/users/?role%3Dclient_admin"


def test_logout_needs_post_and_csrf(app, staff):
    app.config["WTF_CSRF_ENABLED"] = True
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    browser.post("/login", data={"email": staff.email, "password": PASSWORD, "csrf_token": token})
    assert browser.get("/logout").status_code == 405
    home = browser.get("/").get_data(as_text=True)
    assert browser.post("/logout").status_code == 400  # a cross-site form has no token
    assert browser.get("/").status_code == 200  # ...and did not sign the user out
    header_token = re.search(r'"X-CSRFToken": "([^"]+)"', home).group(1)
    # htmx sends the token in a header (hx-headers on <body>).
    response = browser.post("/logout", headers={"X-CSRFToken": header_token, "HX-Request": "true"})
    assert response.status_code == 302
    assert browser.get("/").status_code == 302


LINK = re.compile(r'value="http://localhost(/invite/[^"]+)"')


class TestInvitations:
    def create(self, admin_client, **data):
        """Create a user as this admin; return the invitation path shown on the next page."""
        form = {"email": "new.teacher@school.example", "name": "新老师", "role": "client_staff", **data}
        response = admin_client.post("/users/new", data=form)
        assert response.status_code == 302, response.get_data(as_text=True)
        page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
        return LINK.search(page).group(1), response.headers["Location"]

    def test_admin_creates_user_and_sees_the_link_once(self, app, world):
        admin = app.test_client(user=world.a_admin)
        link, location = self.create(admin)
        second = admin.get(location).get_data(as_text=True)
        assert LINK.search(second) is None  # shown once
        with app.app_context():
            user = db.session.scalar(sa.select(User).where(User.email == "new.teacher@school.example"))
            assert user.client_id == world.a.id and user.password_hash is None
            # Only the digest is stored.
            stored = db.session.scalar(sa.select(Invitation.token_hash).where(Invitation.user_id == user.id))
            assert stored != link.split("/invite/")[1] and len(stored) == 64

    def test_the_link_sets_the_password_and_signs_in(self, app, world):
        path, _ = self.create(app.test_client(user=world.a_admin))
        newcomer = app.test_client()
        assert newcomer.get(path).status_code == 200
        response = newcomer.post(path, data={"password": "My own good password 9", "confirm": "My own good password 9"})
        assert response.status_code == 302 and response.headers["Location"] == "/"
        assert newcomer.get("/").status_code == 200
        assert newcomer.get(path).status_code == 404  # used
        assert sign_in(app.test_client(), "new.teacher@school.example", "My own good password 9").status_code == 302

    def test_expired_after_72_hours(self, app, world):
        with app.app_context():
            user = db.session.get(User, world.a_staff.id)
            token = services.invite(user, now=utcnow() - timedelta(hours=72, minutes=1))
            fresh_user = db.session.get(User, world.a_school.id)
            fresh = services.invite(fresh_user, now=utcnow() - timedelta(hours=71, minutes=59))
            db.session.commit()
        assert app.test_client().get(f"/invite/{token}").status_code == 404
        assert app.test_client().get(f"/invite/{fresh}").status_code == 200

    def test_a_new_link_replaces_the_old_one(self, app, world):
        with app.app_context():
            user = db.session.get(User, world.a_staff.id)
            old = services.invite(user)
            new = services.invite(user)
            db.session.commit()
        assert app.test_client().get(f"/invite/{old}").status_code == 404
        assert app.test_client().get(f"/invite/{new}").status_code == 200

    def test_deactivated_user_cannot_use_a_link(self, app, world):
        with app.app_context():
            user = db.session.get(User, world.a_staff.id)
            token = services.invite(user)
            user.active = False
            db.session.commit()
        assert app.test_client().get(f"/invite/{token}").status_code == 404

    def test_password_rules_apply_and_input_is_kept(self, app, world):
        with app.app_context():
            token = services.invite(db.session.get(User, world.a_staff.id))
            db.session.commit()
        body = (
            app.test_client()
            .post(
                f"/invite/{token}", data={"password": "short", "confirm": "short"}, headers={"Accept-Language": "zh-CN"}
            )
            .get_data(as_text=True)
        )
        assert "至少使用 12 个字符" in body
