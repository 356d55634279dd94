"""The second factor: enrolment with codes computed by pyotp, sign-in with a code, replay refused, recovery codes once,
wrong codes, the security administrator's reset, who must have one (role, policy) and the grace period."""

import base64
import re
import time
from datetime import timedelta
from html import unescape

import pyotp
import pytest
import sqlalchemy as sa

from portal.auth import twofactor
from portal.auth.models import User
from portal.auth.passwords import SecurityPolicy
from portal.auth.twofactor import RecoveryCode, TwoFactor
from portal.extensions import db
from portal.types import utcnow

from .factories import PASSWORD

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


def sign_in(client, email, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password}, headers=EN)


def later_code(secret, steps=1):
    """A code of a later time step than the one used at enrolment (accepted: within the ±1 window)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


@pytest.fixture
def teacher(make):
    return make.user(
        "client_staff", client=make.client(), email="teacher@school.example", password=PASSWORD, name="周敏"
    )


@pytest.fixture
def agent(make):
    return make.user("vendor_agent", email="agent@vendor.example", password=PASSWORD, name="张伟")


def enrol_directly(app, user):
    """The user enrolled (as through the page): the secret and the recovery codes."""
    secret = pyotp.random_base32()
    with app.app_context():
        codes = twofactor.enrol(db.session.get(User, user.id), secret, pyotp.TOTP(secret).now())
        db.session.commit()
    return secret, codes


def secret_on(page):
    return re.search(r'data-secret="([A-Z2-7]+)"', page).group(1)


# ---------------------------------------------------------------- enrolment


def test_enrolment_shows_a_qr_code_and_the_key_and_stores_it_after_a_right_code(app, teacher):
    me = app.test_client()
    sign_in(me, teacher.email)
    page = me.get("/account/two-factor", headers=EN).get_data(as_text=True)
    secret = secret_on(page)
    assert 'src="data:image/svg+xml' in page
    with app.app_context():
        assert db.session.get(TwoFactor, teacher.id) is None  # showing the page stores nothing
    # A wrong code: refused with its reason, the same secret kept for the next try.
    response = me.post("/account/two-factor", data={"code": "000000"}, headers=EN)
    assert response.status_code == 200
    body = unescape(response.get_data(as_text=True))
    assert "This code does not match." in body and secret_on(body) == secret
    response = me.post("/account/two-factor", data={"code": "000000"}, headers=ZH)
    assert "验证码不匹配" in response.get_data(as_text=True)
    response = me.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()}, headers=EN)
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-9]{4}-[a-z2-9]{4})</code></li>", response.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    with app.app_context():
        stored = db.session.get(TwoFactor, teacher.id)
        assert secret not in stored.secret and twofactor.decrypt_secret(stored.secret) == secret
        hashes = db.session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == teacher.id)).all()
        assert len(hashes) == 10 and not any(c.replace("-", "") in h for c in codes for h in hashes)
    page = me.get("/account/two-factor", headers=EN).get_data(as_text=True)
    assert "Recovery codes left: 10." in page and "data-secret" not in page


def test_each_showing_of_the_enrolment_page_makes_a_fresh_secret(app, teacher):
    me = app.test_client(user=teacher)
    first = secret_on(me.get("/account/two-factor").get_data(as_text=True))
    second = secret_on(me.get("/account/two-factor").get_data(as_text=True))
    assert first != second
    # Only the secret last shown can be confirmed.
    response = me.post("/account/two-factor", data={"code": pyotp.TOTP(first).now()})
    assert "recovery-codes" not in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(TwoFactor, teacher.id) is None


def test_a_secret_made_with_another_secret_key_is_unreadable(app):
    with app.app_context():
        token = twofactor.encrypt_secret("JBSWY3DPEHPK3PXP")
        assert twofactor.decrypt_secret(token) == "JBSWY3DPEHPK3PXP"
        assert twofactor.encrypt_secret("JBSWY3DPEHPK3PXP") != token  # a fresh nonce each time
        raw = bytearray(base64.urlsafe_b64decode(token))
        for position in (9, 30, len(raw) - 1):  # the nonce, the ciphertext, the tag: any byte changed is refused
            altered = raw.copy()
            altered[position] ^= 0x01
            assert twofactor.decrypt_secret(base64.urlsafe_b64encode(bytes(altered)).decode()) is None
        assert twofactor.decrypt_secret("not a token") is None
    app.config["SECRET_KEY"] = "another"
    with app.app_context():
        assert twofactor.decrypt_secret(token) is None


# ---------------------------------------------------------------- signing in


def test_sign_in_with_a_code_and_the_same_code_never_twice(app, teacher):
    secret, _ = enrol_directly(app, teacher)
    me = app.test_client()
    response = sign_in(me, teacher.email)
    assert response.headers["Location"] == "/login/two-factor"
    assert me.get("/").headers["Location"].startswith("/login")  # not signed in yet
    assert me.get("/login/two-factor").status_code == 200
    code = later_code(secret)
    response = me.post("/login/two-factor", data={"code": code})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert me.get("/").status_code == 200
    # The same code, again: refused, on another device too.
    other = app.test_client()
    sign_in(other, teacher.email)
    response = other.post("/login/two-factor", data={"code": code}, headers=EN)
    assert response.status_code == 200
    assert "This code is not right, or it was used already." in unescape(response.get_data(as_text=True))
    assert other.get("/").headers["Location"].startswith("/login")
    # The enrolment's own code (an earlier step) is refused as well.
    assert other.post("/login/two-factor", data={"code": pyotp.TOTP(secret).now()}).status_code == 200


def test_codes_outside_the_window_are_refused(app, teacher):
    secret, _ = enrol_directly(app, teacher)
    me = app.test_client()
    sign_in(me, teacher.email)
    for offset in (-90, 90):
        code = pyotp.TOTP(secret).at(time.time() + offset)
        assert me.post("/login/two-factor", data={"code": code}).status_code == 200
    assert me.post("/login/two-factor", data={"code": later_code(secret)}).status_code == 302


def test_the_next_page_is_kept_through_the_second_step(app, teacher):
    secret, _ = enrol_directly(app, teacher)
    me = app.test_client()
    me.post("/login", data={"email": teacher.email, "password": PASSWORD, "next": "/equipment/"})
    assert me.post("/login/two-factor", data={"code": later_code(secret)}).headers["Location"] == "/equipment/"


def test_a_recovery_code_works_once(app, teacher):
    _, codes = enrol_directly(app, teacher)
    me = app.test_client()
    sign_in(me, teacher.email)
    response = me.post("/login/two-factor", data={"code": codes[3].upper()}, headers=EN)  # in capitals: the same
    assert response.status_code == 302
    assert "9 are left" in me.get("/", headers=EN).get_data(as_text=True)
    other = app.test_client()
    sign_in(other, teacher.email)
    assert other.post("/login/two-factor", data={"code": codes[3]}).status_code == 200
    assert other.post("/login/two-factor", data={"code": codes[4]}).status_code == 302


def test_five_wrong_codes_go_back_to_the_password(app, teacher):
    secret, _ = enrol_directly(app, teacher)
    me = app.test_client()
    sign_in(me, teacher.email)
    for _ in range(twofactor.MAX_FAILURES - 1):
        assert me.post("/login/two-factor", data={"code": "123456"}).status_code == 200
    response = me.post("/login/two-factor", data={"code": "123456"}, headers=EN)
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    # The pending sign-in is gone: even the right code needs the password again.
    assert me.post("/login/two-factor", data={"code": later_code(secret)}).headers["Location"] == "/login"
    assert me.get("/").headers["Location"].startswith("/login")
    let_time_pass(app, 2)  # the wrong codes count in the sign-in throttle too: the next try waits a second
    sign_in(me, teacher.email)
    let_time_pass(app, 2)
    assert me.post("/login/two-factor", data={"code": later_code(secret)}).headers["Location"] == "/"


def test_the_failures_are_counted_in_the_database_not_the_cookie(app, teacher):
    enrol_directly(app, teacher)
    me = app.test_client()
    sign_in(me, teacher.email)
    me.post("/login/two-factor", data={"code": "123456"})
    with app.app_context():
        assert db.session.get(TwoFactor, teacher.id).failures == 1


def test_a_pending_sign_in_expires(app, teacher):
    secret, _ = enrol_directly(app, teacher)
    me = app.test_client()
    sign_in(me, teacher.email)
    with me.session_transaction() as session:
        session["second_factor_pending"]["at"] -= twofactor.PENDING_MINUTES * 60 + 1
        session.modified = True
    assert me.post("/login/two-factor", data={"code": later_code(secret)}).headers["Location"] == "/login"


def test_the_second_step_is_only_reachable_mid_sign_in(app, teacher):
    me = app.test_client()
    assert me.get("/login/two-factor").headers["Location"] == "/login"
    sign_in(me, teacher.email)  # no second factor: signed in directly
    assert me.get("/").status_code == 200
    assert me.get("/login/two-factor").headers["Location"] == "/login"


# ---------------------------------------------------------------- disabling, resetting


def test_a_client_user_turns_it_off_with_a_current_code(app, teacher):
    secret, _ = enrol_directly(app, teacher)
    me = app.test_client(user=teacher)
    response = me.post("/account/two-factor/disable", data={"off-code": "000000"}, headers=EN)
    assert response.status_code == 200 and "This code is not right." in unescape(response.get_data(as_text=True))
    assert me.post("/account/two-factor/disable", data={"off-code": later_code(secret)}).status_code == 302
    with app.app_context():
        assert db.session.get(TwoFactor, teacher.id) is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 0
    assert sign_in(app.test_client(), teacher.email).headers["Location"] == "/"


def test_someone_who_must_have_it_cannot_turn_it_off(app, agent):
    secret, _ = enrol_directly(app, agent)
    me = app.test_client(user=agent)
    assert "data-secret" not in me.get("/account/two-factor").get_data(as_text=True)
    assert me.post("/account/two-factor/disable", data={"off-code": later_code(secret)}).status_code == 403
    with app.app_context():
        assert db.session.get(TwoFactor, agent.id) is not None


def test_the_security_administrator_resets_it_and_the_user_enrols_again(app, world, agent):
    secret, _ = enrol_directly(app, agent)
    device = app.test_client()
    sign_in(device, agent.email)
    device.post("/login/two-factor", data={"code": later_code(secret)})
    assert device.get("/").status_code == 200
    body = app.test_client(user=world.secadmin).get("/security/users?q=agent@vendor", headers=EN).get_data(as_text=True)
    assert "agent@vendor.example" in body and f"/security/users/{agent.id}/reset-two-factor" in body
    response = app.test_client(user=world.secadmin).post(f"/security/users/{agent.id}/reset-two-factor")
    assert response.status_code == 302
    assert device.get("/").headers["Location"].startswith("/login")  # the sessions ended
    with app.app_context():
        assert db.session.get(TwoFactor, agent.id) is None
    me = app.test_client()
    assert sign_in(me, agent.email).headers["Location"] == "/"  # no second step: nothing to check
    assert me.get("/").headers["Location"] == "/account/two-factor"  # must enrol first
    page = me.get("/account/two-factor").get_data(as_text=True)
    assert me.post("/account/two-factor", data={"code": pyotp.TOTP(secret_on(page)).now()}).status_code == 200
    assert me.get("/").status_code == 200


def test_only_the_security_administrator_resets(app, world, agent):
    enrol_directly(app, agent)
    for user in (world.manager, world.sysadmin, world.auditor, world.a_admin):
        assert app.test_client(user=user).post(f"/security/users/{agent.id}/reset-two-factor").status_code == 403
    assert app.test_client(user=world.secadmin).post("/security/users/999999/reset-two-factor").status_code == 404
    with app.app_context():
        assert db.session.get(TwoFactor, agent.id) is not None


# ---------------------------------------------------------------- who must have one


@pytest.mark.parametrize("role", ["vendor_manager", "vendor_agent", "system_admin", "security_admin", "auditor"])
def test_vendor_staff_and_the_administrators_must_enrol(app, make, role):
    user = make.user(role, email=f"{role}@vendor.example", password=PASSWORD)
    me = app.test_client()
    sign_in(me, user.email)
    for path in ("/", "/account/", "/account/password"):
        assert me.get(path).headers["Location"] == "/account/two-factor", path
    assert me.get("/account/two-factor").status_code == 200
    assert me.post("/logout").status_code == 302


def test_client_users_need_it_only_when_the_policy_says_so(app, teacher):
    me = app.test_client()
    sign_in(me, teacher.email)
    assert me.get("/").status_code == 200
    with app.app_context():
        db.session.add(SecurityPolicy(id=1, second_factor_for_everyone=True, second_factor_since=utcnow()))
        db.session.commit()
    me = app.test_client()
    sign_in(me, teacher.email)
    assert me.get("/").headers["Location"] == "/account/two-factor"


def test_the_grace_period_shows_a_banner_then_requires_it(app, agent):
    with app.app_context():
        db.session.add(SecurityPolicy(id=1, grace_days=30))
        db.session.commit()
    me = app.test_client()
    sign_in(me, agent.email)
    body = me.get("/", headers=EN).get_data(as_text=True)
    assert "Your account must use two-step sign-in. Set it up before" in body
    assert "您的账户必须使用双因素认证" in me.get("/", headers=ZH).get_data(as_text=True)
    # Thirty-one days after the account was created, the grace period is over.
    with app.app_context():
        db.session.get(User, agent.id).created_at = utcnow() - timedelta(days=31)
        db.session.commit()
    me = app.test_client()
    sign_in(me, agent.email)
    assert me.get("/").headers["Location"] == "/account/two-factor"


def test_the_grace_period_of_everyone_counts_from_when_the_policy_started(app, make):
    old = make.user(
        "client_admin",
        client=make.client(),
        email="old@school.example",
        password=PASSWORD,
        created_at=utcnow() - timedelta(days=400),
        password_changed_at=utcnow(),
    )
    with app.app_context():
        db.session.add(
            SecurityPolicy(
                id=1, second_factor_for_everyone=True, grace_days=14, second_factor_since=utcnow() - timedelta(days=3)
            )
        )
        db.session.commit()
    me = app.test_client()
    sign_in(me, old.email)
    assert me.get("/").status_code == 200  # eleven days left: a banner, not a wall


def test_no_page_view_writes_during_the_second_step_or_enrolment(app, agent, count_queries):
    me = app.test_client()
    sign_in(me, agent.email)
    with count_queries() as counter:
        me.get("/")
        me.get("/account/two-factor")
        me.get("/login/two-factor")
    assert not [s for s in counter.statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


def let_time_pass(app, seconds):
    """The throttle's rows as if their last failure were ``seconds`` earlier."""
    from portal.auth.models import SignInThrottle

    with app.app_context():
        for row in db.session.scalars(sa.select(SignInThrottle)):
            row.last_at -= timedelta(seconds=seconds)
        db.session.commit()


def test_someone_with_the_password_cannot_try_codes_without_end(app, agent):
    """Five wrong codes send back to the password; a right password does not clear the count of wrong codes, so
    the next codes wait a growing delay (and are not even checked), from any address."""
    secret, _ = enrol_directly(app, agent)
    attacker = app.test_client()
    for round_ in range(2):
        let_time_pass(app, 2)  # the password's own try after the address's failures: past its short wait
        assert sign_in(attacker, agent.email).headers["Location"].startswith("/login/two-factor")
        let_time_pass(app, 2)  # (a sign-in moves the address's last try to now)
        tries = 5 if round_ == 0 else 1
        for _ in range(tries):
            body = attacker.post("/login/two-factor", data={"code": "000000"}, headers=EN).get_data(as_text=True)
    assert "This code is not right" in body  # the sixth code was still checked (a second after the fifth)...
    body = attacker.post("/login/two-factor", data={"code": "000000"}, headers=EN).get_data(as_text=True)
    assert "Too many failed sign-ins. For your security, try again in" in body  # ...the seventh must wait
    # Even the right code waits now; the person who owns the account is not locked out for long (the account cap).
    response = attacker.post("/login/two-factor", data={"code": later_code(secret)}, headers=EN)
    assert response.status_code == 200 and "try again in" in response.get_data(as_text=True)
    with app.app_context():
        from portal.auth.models import SignInThrottle

        row = db.session.get(SignInThrottle, ("account", f"code:{agent.id}"))
        assert row.failures >= 6


def test_a_right_password_gives_its_reservation_back_before_the_code_step(app, agent):
    """The password was right: its try is not a failure, although the session waits for the code."""
    from portal.auth.models import SignInThrottle

    enrol_directly(app, agent)
    assert sign_in(app.test_client(), agent.email).headers["Location"].startswith("/login/two-factor")
    with app.app_context():
        assert db.session.get(SignInThrottle, ("account", agent.email)) is None
        assert db.session.get(SignInThrottle, ("address", "127.0.0.1")).failures == 0
        assert db.session.get(User, agent.id).last_login_at is not None


def test_a_right_code_clears_the_count_of_wrong_ones(app, agent):
    secret, _ = enrol_directly(app, agent)
    me = app.test_client()
    sign_in(me, agent.email)
    for _ in range(3):
        me.post("/login/two-factor", data={"code": "000000"})
    assert me.post("/login/two-factor", data={"code": later_code(secret)}).status_code == 302
    with app.app_context():
        from portal.auth.models import SignInThrottle

        assert db.session.get(SignInThrottle, ("account", f"code:{agent.id}")) is None
