"""The account and sign-in events of 等保's audit list, each taken through the pages as a person would, from a known
source address: sign-in (success and failure with the reason), sign-out, session expiry, signing out everywhere,
password change and reset, second-factor enrolment and use, the security administrator's acts. Each lands in the
trail once with the user, the address and the result (the business events: tests/audit/test_hooks.py)."""

import re

import pyotp
import pytest

from portal.auth import services
from portal.extensions import db

from ..factories import PASSWORD
from .helpers import last_seq, records

ADDRESS = "10.20.30.40"
EN = {"Accept-Language": "en"}
NEW_PASSWORD = "Seven green kites, 2026!"


def browser(app):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ADDRESS
    return client


def sign_in(client, email, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password}, headers=EN)


def events(app, before):
    return [
        (r["event"], r["result"], r["address"], r["user_id"], r["data"].get("reason"))
        for r in records(app, before)
        if not r["event"].startswith("request.")
    ]


@pytest.fixture
def school(make):
    return make.client()


@pytest.fixture
def staff(make, school):
    return make.user("client_staff", client=school, email="it@school.example", password=PASSWORD)


def test_sign_in_refusals_carry_their_reason(app, staff, make, school):
    make.user("client_staff", client=school, email="gone@school.example", password=PASSWORD, active=False)
    before = last_seq(app)
    me = browser(app)
    sign_in(me, staff.email, "wrong password")
    sign_in(me, "nobody@school.example")
    sign_in(me, "gone@school.example")
    found = events(app, before)
    assert found == [
        ("auth.sign_in", "refused", ADDRESS, staff.id, "bad_password"),
        ("auth.sign_in", "refused", ADDRESS, None, "unknown_account"),
        ("auth.sign_in", "refused", ADDRESS, found[2][3], "deactivated"),
    ]
    unknown = records(app, before)[1]
    assert unknown["data"].get("email") == "nobody@school.example" or "nobody@school.example" in unknown["target_label"]


def test_a_session_from_sign_in_to_sign_out(app, staff):
    before = last_seq(app)
    me = browser(app)
    assert sign_in(me, staff.email).status_code == 302
    assert me.post("/logout").status_code == 302
    assert events(app, before) == [
        ("auth.sign_in", "ok", ADDRESS, staff.id, None),
        ("auth.sign_out", "ok", ADDRESS, staff.id, None),
    ]


def test_an_idle_session_expires_and_signing_out_everywhere(app, staff):
    me, phone = browser(app), browser(app)
    sign_in(me, staff.email)
    sign_in(phone, staff.email)
    before = last_seq(app)
    assert phone.post("/account/sessions/end", data={"scope": "others"}).status_code == 302
    with me.session_transaction() as session:
        session["seen"] -= 31 * 60
    assert me.get("/").status_code == 302
    found = events(app, before)
    assert ("auth.sessions_ended", "ok", ADDRESS, staff.id, None) in found
    expired = [r for r in records(app, before) if r["event"] == "auth.session_expired"]
    assert len(expired) == 1 and expired[0]["address"] == ADDRESS and expired[0]["user_id"] == staff.id


def test_password_change_and_reset(app, staff, make, school):
    me = browser(app)
    sign_in(me, staff.email)
    before = last_seq(app)
    response = me.post(
        "/account/password", data={"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, headers=EN
    )
    assert response.status_code == 302
    assert ("account.password_changed", "ok", ADDRESS, staff.id, None) in events(app, before)

    newcomer = make.user("client_staff", client=school, email="new@school.example")
    with app.app_context():
        token = services.invite(db.session.get(type(newcomer), newcomer.id))
        db.session.commit()
    before = last_seq(app)
    response = browser(app).post(f"/invite/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    found = events(app, before)
    assert ("account.password_reset", "ok", ADDRESS, newcomer.id, None) in found
    assert ("auth.sign_in", "ok", ADDRESS, newcomer.id, None) in found


def test_second_factor_enrolment_use_and_reset(app, staff, make):
    me = browser(app)
    sign_in(me, staff.email)
    page = me.get("/account/two-factor", headers=EN).get_data(as_text=True)
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page).group(1)
    before = last_seq(app)
    assert me.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()}).status_code == 200
    assert ("account.two_factor_enrolled", "ok", ADDRESS, staff.id, None) in events(app, before)

    me.post("/logout")
    before = last_seq(app)
    sign_in(me, staff.email)
    me.post("/login/two-factor", data={"code": "000000"})
    found = events(app, before)
    assert [e[:4] for e in found if e[0] == "auth.second_factor"] == [
        ("auth.second_factor", "refused", ADDRESS, staff.id)
    ]

    secadmin = make.user("security_admin", email="sec@vendor.example")
    admin = app.test_client(user=secadmin)
    admin.environ_base["REMOTE_ADDR"] = "10.99.0.1"
    before = last_seq(app)
    assert admin.post(f"/security/users/{staff.id}/reset-two-factor").status_code == 302
    assert admin.post(f"/security/users/{staff.id}/require-password-change").status_code == 302
    reset, required = [r for r in records(app, before) if not r["event"].startswith("request.")]
    assert (reset["event"], reset["user_id"], reset["target_id"], reset["address"]) == (
        "account.two_factor_reset",
        secadmin.id,
        str(staff.id),
        "10.99.0.1",
    )
    assert (required["event"], required["user_id"], required["target_id"]) == (
        "account.password_change_required",
        secadmin.id,
        str(staff.id),
    )


def test_a_policy_change_is_recorded_with_what_changed(app, make):
    secadmin = make.user("security_admin", email="sec@vendor.example")
    admin = app.test_client(user=secadmin)
    admin.environ_base["REMOTE_ADDR"] = ADDRESS
    page = admin.get("/security/policy").get_data(as_text=True)
    fields = dict(re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"', page))
    fields.update(min_length="14")
    before = last_seq(app)
    assert admin.post("/security/policy", data=fields).status_code == 302
    changed = [r for r in records(app, before) if r["event"] == "security.policy_changed"]
    assert len(changed) == 1 and changed[0]["address"] == ADDRESS and changed[0]["user_id"] == secadmin.id
    assert "14" in str(changed[0]["data"])
