"""The password policy: each rule refused with its own reason in both languages, on every form that sets a password;
the history; expiry and a required change force a change before anything else; the security administrator's page."""

import re
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from portal.auth import passwords, services
from portal.auth.models import User
from portal.auth.passwords import PasswordHistory, SecurityPolicy
from portal.extensions import db
from portal.types import utcnow

from .factories import PASSWORD

GOOD = "Blue river 7 moon"
EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


def sign_in(client, email, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password}, headers=EN)


@pytest.fixture
def staff(make):
    client = make.client()
    return make.user("client_staff", client=client, email="sun.lei@school.example", password=PASSWORD, name="Sun Lei")


def change(client, new, headers=EN, current=PASSWORD):
    response = client.post(
        "/account/password", data={"current": current, "password": new, "confirm": new}, headers=headers
    )
    return response, unescape(response.get_data(as_text=True))


# Each weak password, with the reason it gets in English and in Chinese (and no other reason where that is certain).
CASES = [
    ("Ab1!xyz", "Use at least 12 characters.", "请至少使用 12 个字符。"),
    (
        "onlylowercaseletters and spaces",
        "Use at least 3 of: lower-case letters, upper-case letters, digits, symbols.",
        "须至少包含以下 3 类：小写字母、大写字母、数字、符号。",
    ),
    (
        "Sun.Lei@school.example 9",
        "It must not contain your e-mail address or name.",
        "密码不得包含您的电子邮箱或姓名。",
    ),
    ("Mr sun.lei 42 RULES", "It must not contain your e-mail address or name.", "密码不得包含您的电子邮箱或姓名。"),
    ("Mr Sun Lei! 4242", "It must not contain your e-mail address or name.", "密码不得包含您的电子邮箱或姓名。"),
    ("password123", "It is among the most common passwords", "该密码属于最常见的密码"),
    ("1234567890", "It is among the most common passwords", "该密码属于最常见的密码"),
    ("Password123!", "It is among the most common passwords", "该密码属于最常见的密码"),
    ("qwertyuiop", "It is among the most common passwords", "该密码属于最常见的密码"),
    ("woaini1314", "It is among the most common passwords", "该密码属于最常见的密码"),
    ("P@ssw0rd2024!", "It is among the most common passwords", "该密码属于最常见的密码"),
    ("Qwerty123456!", "It is among the most common passwords", "该密码属于最常见的密码"),
]


@pytest.mark.parametrize(("weak", "en", "zh"), CASES)
def test_each_rule_is_refused_with_its_reason_in_both_languages(app, staff, weak, en, zh):
    me = app.test_client()
    sign_in(me, staff.email)
    response, body = change(me, weak, EN)
    assert response.status_code == 200 and en in body
    response, body = change(me, weak, ZH)
    assert response.status_code == 200 and zh in body
    with app.app_context():
        assert db.session.get(User, staff.id).check_password(PASSWORD)  # unchanged


def test_a_password_breaking_several_rules_gets_every_reason(app, staff):
    me = app.test_client()
    sign_in(me, staff.email)
    _, body = change(me, "sunlei1")
    for reason in (
        "Use at least 12 characters.",
        "Use at least 3 of:",
        "must not contain your e-mail",
        "among the most common",
    ):
        assert reason in body


def test_the_users_own_email_is_refused(app, staff):
    me = app.test_client()
    sign_in(me, staff.email)
    _, body = change(me, staff.email)
    assert "It must not contain your e-mail address or name." in body


def test_a_chinese_name_inside_a_password_is_refused(app, make):
    user = make.user("client_staff", client=make.client(), email="x9@school.example", password=PASSWORD, name="孙磊")
    me = app.test_client()
    sign_in(me, user.email)
    _, body = change(me, "我是孙磊 Good 2025 day", ZH)
    assert "密码不得包含您的电子邮箱或姓名。" in body


@pytest.mark.parametrize(
    "good", [GOOD, "长城长又长 Great Wall 9", "My dog Bao is 7 years old", "黄河之水天上来！奔流到海 OK"]
)
def test_good_passwords_pass_every_rule(app, staff, good):
    with app.app_context():
        assert passwords.problems(good, user=db.session.get(User, staff.id)) == []


def test_chinese_letters_count_as_letters():
    assert passwords.char_classes("密码") == {"lower"}
    assert passwords.char_classes("密码A1!") == {"lower", "upper", "digit", "symbol"}
    assert passwords.char_classes("  ") == set()


def test_history_refuses_the_last_passwords_and_allows_older_ones(app, staff):
    with app.app_context():
        db.session.add(SecurityPolicy(id=1, history_count=3))
        db.session.commit()
    chosen = [PASSWORD]
    me = app.test_client()
    sign_in(me, staff.email)
    for new in (GOOD, "Green field 8 hill", "Yellow house 5 rain", "Purple cloud 3 snow"):
        response, _ = change(me, new, current=chosen[-1])
        assert response.status_code == 302, new
        chosen.append(new)
    # The current one and the two before it (3 in all) are refused; the one before those is allowed again.
    for again in chosen[-3:]:
        _, body = change(me, again, current=chosen[-1])
        assert "It was one of your last 3 passwords: choose a new one." in body, again
    _, body = change(me, again, ZH, current=chosen[-1])
    assert "该密码是您最近 3 个密码之一：请选择新密码。" in body
    response, _ = change(me, chosen[-4], current=chosen[-1])
    assert response.status_code == 302
    with app.app_context():
        kept = db.session.scalar(
            sa.select(sa.func.count()).select_from(PasswordHistory).where(PasswordHistory.user_id == staff.id)
        )
        assert kept == 3  # trimmed to the policy's length
        assert all(h.startswith("scrypt:") for h in db.session.scalars(sa.select(PasswordHistory.password_hash)))


def test_the_invitation_applies_the_policy_to_the_invited_account(app, world):
    with app.app_context():
        token = services.invite(db.session.get(User, world.a_staff.id))
        db.session.commit()
    body = unescape(
        app.test_client()
        .post(f"/invite/{token}", data={"password": "staff@a.example 9X", "confirm": "staff@a.example 9X"}, headers=EN)
        .get_data(as_text=True)
    )
    assert "It must not contain your e-mail address or name." in body
    response = app.test_client().post(f"/invite/{token}", data={"password": GOOD, "confirm": GOOD})
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, world.a_staff.id)
        assert user.password_changed_at is not None and user.check_password(GOOD)


def test_a_password_change_is_dated(app, staff):
    me = app.test_client()
    sign_in(me, staff.email)
    before = utcnow()
    assert change(me, GOOD)[0].status_code == 302
    with app.app_context():
        assert db.session.get(User, staff.id).password_changed_at >= before - timedelta(seconds=1)


# ---------------------------------------------------------------- expiry and a required change


def age_password(app, user, days):
    with app.app_context():
        db.session.get(User, user.id).password_changed_at = utcnow() - timedelta(days=days)
        db.session.commit()


def test_an_expired_password_must_be_changed_before_anything_else(app, staff):
    age_password(app, staff, 91)
    me = app.test_client()
    assert sign_in(me, staff.email).status_code == 302
    for path in ("/", "/equipment/", "/account/"):
        response = me.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/account/password", path
    assert me.get("/account/password").status_code == 200
    assert me.post("/logout").status_code == 302  # signing out is always possible
    sign_in(me, staff.email)
    response, _ = change(me, GOOD)
    assert response.status_code == 302
    assert me.get("/").status_code == 200
    assert sign_in(app.test_client(), staff.email, GOOD).status_code == 302


def test_a_young_password_or_no_expiry_lets_the_user_in(app, staff):
    age_password(app, staff, 89)
    me = app.test_client()
    sign_in(me, staff.email)
    assert me.get("/").status_code == 200
    age_password(app, staff, 1000)
    with app.app_context():
        db.session.add(SecurityPolicy(id=1, expiry_days=0))
        db.session.commit()
    me = app.test_client()
    sign_in(me, staff.email)
    assert me.get("/").status_code == 200


def test_htmx_requests_are_sent_to_the_password_page_too(app, staff):
    age_password(app, staff, 400)
    me = app.test_client()
    sign_in(me, staff.email)
    response = me.get("/equipment/", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == "/account/password"


def test_the_security_administrator_can_require_a_change(app, world, staff):
    me = app.test_client()
    sign_in(me, staff.email)
    assert me.get("/").status_code == 200
    response = app.test_client(user=world.secadmin).post(f"/security/users/{staff.id}/require-password-change")
    assert response.status_code == 302
    # The flag is on the user row: the session already open is stopped at its next request.
    assert me.get("/").headers["Location"] == "/account/password"
    change(me, GOOD)
    assert me.get("/").status_code == 200
    with app.app_context():
        assert db.session.get(User, staff.id).password_change_required is False


def test_no_page_view_writes_while_a_change_is_pending(app, staff, count_queries):
    age_password(app, staff, 400)
    me = app.test_client()
    sign_in(me, staff.email)
    with count_queries() as counter:
        me.get("/")
        me.get("/account/password")
    assert not [s for s in counter.statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


# ---------------------------------------------------------------- the policy page


def policy_form(**changes):
    data = {
        "min_length": 12,
        "classes_required": 3,
        "history_count": 5,
        "expiry_days": 90,
        "grace_days": 0,
        "version": 1,
    }  # the version shown before anyone saved a policy
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_security_administrator_sets_the_policy_and_it_applies(app, world, staff):
    sec = app.test_client(user=world.secadmin)
    assert sec.get("/security/policy").status_code == 200
    response = sec.post(
        "/security/policy", data=policy_form(min_length=16, second_factor_for_everyone="y", grace_days=7)
    )
    assert response.status_code == 302
    assert response.status_code == 302
    with app.app_context():
        row = db.session.get(SecurityPolicy, 1)
        assert (row.min_length, row.second_factor_for_everyone, row.grace_days) == (16, True, 7)
        assert row.second_factor_since is not None and row.updated_by_id == world.secadmin.id
    me = app.test_client()
    sign_in(me, staff.email)
    _, body = change(me, "Blue river 7m")  # 13 characters
    assert "Use at least 16 characters." in body


@pytest.mark.parametrize(
    ("field", "value", "en", "zh"),
    [
        ("min_length", 7, "Enter a whole number from 8 to 64.", "请输入 8 到 64 之间的整数。"),
        ("classes_required", 5, "Enter a whole number from 1 to 4.", "请输入 1 到 4 之间的整数。"),
        ("expiry_days", -1, "Enter a whole number from 0 to 3650.", "请输入 0 到 3650 之间的整数。"),
        ("history_count", "", "This field is required.", None),
    ],
)
def test_the_policy_form_refuses_bad_values_with_a_message_per_field(app, world, field, value, en, zh):
    sec = app.test_client(user=world.secadmin)
    response = sec.post("/security/policy", data=policy_form(**{field: value}), headers=EN)
    assert response.status_code == 200 and en in unescape(response.get_data(as_text=True))
    if zh:
        response = sec.post("/security/policy", data=policy_form(**{field: value}), headers=ZH)
        assert zh in unescape(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.get(SecurityPolicy, 1) is None


def test_two_administrators_saving_from_the_same_version_one_wins(app, world, make):
    other = make.user("security_admin", email="sec2@test.example")
    first = app.test_client(user=world.secadmin)
    second = app.test_client(user=other)
    assert first.post("/security/policy", data=policy_form(min_length=14)).status_code == 302
    response = second.post("/security/policy", data=policy_form(min_length=20), headers=EN)
    assert response.status_code == 409
    assert "Someone else changed this since you opened it." in unescape(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.get(SecurityPolicy, 1).min_length == 14
    # Saved again from the version now shown, it goes through.
    assert second.post("/security/policy", data=policy_form(min_length=20, version=2)).status_code == 302
    with app.app_context():
        assert db.session.get(SecurityPolicy, 1).min_length == 20


def test_the_policy_page_is_the_security_administrators_only(app, world):
    for user in (world.manager, world.sysadmin, world.auditor, world.a_admin):
        assert app.test_client(user=user).get("/security/policy").status_code == 403
        assert app.test_client(user=user).post("/security/policy", data=policy_form()).status_code == 403


def test_the_security_administrator_sees_accounts_but_no_business_data(app, world):
    body = app.test_client(user=world.secadmin).get("/security/users?q=staff@a").get_data(as_text=True)
    assert "staff@a.example" in body
    nav = app.test_client(user=world.secadmin).get("/security/users").get_data(as_text=True)
    for business in ("/equipment/", "/tickets/", "/contracts/", "/clients/"):
        assert f'href="{business}"' not in nav
    for path in ("/equipment/", "/tickets/", "/contracts/", "/users/"):
        assert app.test_client(user=world.secadmin).get(path).status_code == 403


@pytest.mark.parametrize("field", ["min_length", "classes_required", "history_count", "expiry_days", "grace_days"])
def test_bad_numbers_in_each_policy_field_are_refused_and_say_why(app, world, field):
    """What tests/test_fuzz.py sends to number fields, in each field of the policy form: never a server error, never
    stored, and a control character refused with the portal's message next to the field."""
    from portal import bounds

    from .test_fuzz import NUMBERS

    sec = app.test_client(user=world.secadmin)
    for bad in NUMBERS:
        version = sec.get("/security/policy").get_data(as_text=True)
        version = int(re.search(r'name="version" type="hidden" value="(\d+)"', version).group(1))
        response = sec.post("/security/policy", data=policy_form(version=version, **{field: bad}), headers=EN)
        if bad != "0":  # 0 is a value of some fields (no history, no expiry, no grace)
            assert response.status_code == 200, bad
        if bounds.has_control(bad):
            assert str(bounds.CONTROL_MESSAGE) in unescape(response.get_data(as_text=True))
    with app.app_context():
        row = db.session.get(SecurityPolicy, 1)
        assert row is None or (getattr(row, field) == 0 and field != "min_length")
