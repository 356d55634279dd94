"""The sign-in throttle (portal.auth.throttle): per source address and per account, in the database, race-free, a
growing delay rather than a lock; and the same response time for known and unknown accounts."""

import statistics
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.auth import services, throttle
from portal.auth.models import SignInThrottle
from portal.extensions import db
from portal.types import utcnow

from .conftest import at_once
from .factories import PASSWORD

WRONG = "The e-mail address or the password is not correct."
SLOWED = "Too many failed sign-ins. For your security, try again in"


def sign_in(client, email, password=PASSWORD, address="192.0.2.10"):
    return client.post(
        "/login",
        data={"email": email, "password": password},
        headers={"Accept-Language": "en"},
        environ_base={"REMOTE_ADDR": address},
    )


def attempt(app, email, password, address, now):
    """One sign-in through the service, as the view makes it: the reason it was refused, or "ok"."""
    with app.app_context():
        try:
            services.authenticate(email, password, address=address, now=now)
        except services.SignInRefused as refused:
            db.session.commit()
            return refused.reason if not refused.wait else ("throttled", refused.wait)
        db.session.commit()
        return "ok"


@pytest.fixture
def staff(make):
    return make.user("client_staff", client=make.client(), email="it@school.example", password=PASSWORD)


def test_the_sixth_failure_from_one_address_across_different_accounts_is_slowed(app, staff):
    browser = app.test_client()
    for n in range(5):
        assert WRONG in sign_in(browser, f"guess{n}@school.example", "bad").get_data(as_text=True)
    sixth = sign_in(browser, "guess5@school.example", "bad").get_data(as_text=True)
    assert SLOWED in sixth and WRONG not in sixth
    # Even a user with the right password waits at that address (it is the address that is slowed)...
    assert SLOWED in sign_in(browser, staff.email).get_data(as_text=True)
    # ...but not from another address: the accounts themselves had one failure each.
    assert sign_in(app.test_client(), staff.email, address="192.0.2.11").status_code == 302


def test_the_delay_grows_and_stops_at_its_cap(app):
    now = utcnow()
    waits = []
    with app.app_context():
        cap = app.config["LOGIN_ADDRESS_MAX_DELAY"].total_seconds()
    for n in range(20):
        result = attempt(app, f"guess{n}@school.example", "bad", "198.51.100.7", now)
        if n < 5:
            assert result == "unknown_account"
            continue
        assert result[0] == "throttled"  # refused at once: the wait is not spent in the worker
        waits.append(result[1])
        now += timedelta(seconds=result[1])  # the attacker waits exactly as long as told, then fails again
        assert attempt(app, f"again{n}@school.example", "bad", "198.51.100.7", now) == "unknown_account"
    assert waits[:6] == [1, 2, 4, 8, 16, 32]
    assert max(waits) == cap and waits[-1] == cap


def test_a_waiting_attempt_does_not_check_the_password(app, staff, monkeypatch):
    for _ in range(5):
        attempt(app, staff.email, "bad", "203.0.113.5", utcnow())
    checked = []
    real = services.check_password_hash
    monkeypatch.setattr(services, "check_password_hash", lambda *a: checked.append(a) or real(*a))
    started = time.perf_counter()
    assert attempt(app, staff.email, PASSWORD, "203.0.113.5", utcnow())[0] == "throttled"
    assert checked == [] and time.perf_counter() - started < 5  # no scrypt, no sleep


def test_ipv6_addresses_count_by_their_64(app):
    now = utcnow()
    for n in range(5):
        assert attempt(app, f"guess{n}@school.example", "bad", f"2001:db8:1:2::{n + 1:x}", now) == "unknown_account"
    # Another address of the same /64 waits; the neighbouring /64 does not.
    assert attempt(app, "more@school.example", "bad", "2001:db8:1:2:ffff::1", now)[0] == "throttled"
    assert attempt(app, "more@school.example", "bad", "2001:db8:1:3::1", now) == "unknown_account"
    assert throttle.address_key("2001:db8:1:2:abcd::9") == "2001:db8:1:2::/64"
    assert throttle.address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert throttle.address_key("192.0.2.1") == "192.0.2.1"


def test_an_attacker_on_many_addresses_keeps_the_victim_out_no_longer_than_the_account_cap(app, staff):
    now = utcnow()
    with app.app_context():
        cap = int(app.config["LOGIN_ACCOUNT_MAX_DELAY"].total_seconds())
    # 40 failures on the victim's e-mail, each from a fresh address, as fast as the account's delay lets them.
    for n in range(40):
        result = attempt(app, staff.email, "bad", f"10.0.{n // 250}.{n % 250}", now)
        if result != "bad_password":
            assert result[0] == "throttled" and result[1] <= cap
            now += timedelta(seconds=result[1])
            assert attempt(app, staff.email, "bad", f"10.1.{n // 250}.{n % 250}", now) == "bad_password"
    # The victim, from their own address, waits at most the account's cap, then signs in.
    result = attempt(app, staff.email, PASSWORD, "192.0.2.99", now)
    assert result[0] == "throttled" and result[1] <= cap
    assert attempt(app, staff.email, PASSWORD, "192.0.2.99", now + timedelta(seconds=cap)) == "ok"
    with app.app_context():  # the success cleared the account's count
        assert db.session.get(SignInThrottle, ("account", staff.email)) is None


def test_old_failures_stop_counting_and_are_pruned(app):
    now = utcnow()
    for n in range(5):
        attempt(app, f"guess{n}@school.example", "bad", "198.51.100.8", now)
    assert attempt(app, "later@school.example", "bad", "198.51.100.8", now)[0] == "throttled"
    later = now + app.config["LOGIN_WINDOW"] + timedelta(seconds=1)
    assert attempt(app, "later@school.example", "bad", "198.51.100.8", later) == "unknown_account"
    with app.app_context():
        rows = db.session.scalars(sa.select(SignInThrottle)).all()
        assert {(row.kind, row.key, row.failures) for row in rows} == {
            ("address", "198.51.100.8", 1),
            ("account", "later@school.example", 1),
        }


@pytest.mark.parametrize("spread", ["accounts", "addresses"])
def test_parallel_tries_get_exactly_the_free_ones_through(shared, spread):
    """The issue saw 18 parallel tries get 7 guesses through instead of 5: each attempt is reserved atomically."""
    from .factories import Factory

    victim = Factory(shared).user(
        "client_staff", client=Factory(shared).client(), email="victim@school.example", password=PASSWORD
    )
    now = utcnow()

    def guess(n):
        if spread == "accounts":  # one address, many accounts
            return lambda: attempt(shared, f"guess{n}@school.example", "bad", "198.51.100.9", now)
        return lambda: attempt(shared, victim.email, "bad", f"10.2.0.{n}", now)  # one account, many addresses

    results = at_once(*(guess(n) for n in range(18)))
    assert not [r for r in results if isinstance(r, BaseException)], results
    checked = [r for r in results if not isinstance(r, tuple)]
    assert len(checked) == shared.config["LOGIN_FREE_FAILURES"], results
    assert all(r[0] == "throttled" for r in results if isinstance(r, tuple))


def test_known_and_unknown_accounts_take_the_same_time(app, make):
    """A known e-mail with a wrong password, an unknown e-mail, an account without a password and a deactivated one
    all check one scrypt hash: within 20% (the issue measured 600 ms against 100). On a shared, loaded machine the
    speed drifts, so each round times the four kinds one right after the other (in a rotating order) and the test
    compares the median of each kind's ratio to the known account's in the same round."""
    school = make.client()
    known = make.user("client_staff", client=school, email="known@school.example", password=PASSWORD)
    invited = make.user("client_staff", client=school, email="invited@school.example")
    gone = make.user("client_staff", client=school, email="gone@school.example", password=PASSWORD, active=False)
    app.config["LOGIN_FREE_FAILURES"] = 10_000  # time the password check, not the throttle
    browser = app.test_client()
    emails = [
        ("known", known.email),
        ("unknown", "nobody@school.example"),
        ("invited", invited.email),
        ("deactivated", gone.email),
    ]
    for _, email in emails:  # warm: the dummy hash is made once, at its first use; templates compiled
        sign_in(browser, email, "not the password", address="10.3.255.1")
    ratios = {kind: [] for kind, _ in emails[1:]}
    for n in range(12):
        times = {}
        for kind, email in emails[n % 4 :] + emails[: n % 4]:
            started = time.perf_counter()
            body = sign_in(browser, email, "not the password", address=f"10.3.{n}.1").get_data(as_text=True)
            times[kind] = time.perf_counter() - started
            assert WRONG in body
        for kind in ratios:
            ratios[kind].append(times[kind] / times["known"])
    medians = {kind: statistics.median(values) for kind, values in ratios.items()}
    assert all(0.8 <= ratio <= 1.2 for ratio in medians.values()), medians


def test_every_refusal_is_recorded_with_its_reason(app, staff, monkeypatch):
    recorded = []
    monkeypatch.setattr(
        services, "record", lambda event, **kw: recorded.append((event, kw.get("result"), kw.get("reason")))
    )
    now = utcnow()
    attempt(app, "nobody@school.example", "bad", "192.0.2.20", now)
    attempt(app, staff.email, "bad", "192.0.2.20", now)
    for _ in range(3):
        attempt(app, staff.email, "bad", "192.0.2.20", now)
    attempt(app, staff.email, "bad", "192.0.2.20", now)
    assert recorded == [("auth.sign_in", "refused", "unknown_account")] + [
        ("auth.sign_in", "refused", "bad_password")
    ] * 4 + [("auth.sign_in", "refused", "throttled")]


def test_the_security_administrator_sees_and_lifts_the_delays(app, staff, make):
    """Unlocking (等保: failed sign-in handling): the throttle slows instead of locking; the security administrator
    sees the accounts and addresses slowed down and lifts the delay, which is recorded."""
    from portal.audit.models import AuditEvent

    secadmin = make.user("security_admin", email="sec@vendor.example")
    browser = app.test_client()
    for n in range(6):
        sign_in(browser, staff.email, "bad", address=f"198.51.100.{n}")  # the account, from several addresses
    for n in range(6):
        sign_in(browser, f"guess{n}@school.example", "bad", address="203.0.113.9")  # one address, several accounts
    admin = app.test_client(user=secadmin)
    page = admin.get("/security/users", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Slowed down: next try in" in page and "203.0.113.9" in page
    assert SLOWED in sign_in(app.test_client(), staff.email, address="192.0.2.50").get_data(as_text=True)

    assert admin.post(f"/security/users/{staff.id}/lift-delay").status_code == 302
    assert sign_in(app.test_client(), staff.email, address="192.0.2.51").status_code == 302
    assert admin.post("/security/addresses/lift-delay", data={"address": "203.0.113.9"}).status_code == 302
    assert WRONG in sign_in(app.test_client(), "guess9@school.example", "bad", address="203.0.113.9").get_data(
        as_text=True
    )  # checked again, not made to wait
    page = admin.get("/security/users", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "<code>203.0.113.9</code>" not in page and "没有来源地址" in page
    assert admin.post("/security/addresses/lift-delay", data={"address": ""}).status_code == 400
    with app.app_context():
        events = db.session.execute(
            sa.select(AuditEvent.event, AuditEvent.user_id, AuditEvent.result).where(
                AuditEvent.event.in_(["security.account_unlocked", "security.address_unlocked"])
            )
        ).all()
    assert sorted(events) == [
        ("security.account_unlocked", secadmin.id, "ok"),
        ("security.address_unlocked", secadmin.id, "ok"),
    ]
