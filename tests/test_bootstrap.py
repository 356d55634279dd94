"""Bootstrap and configuration in production: no weak secret key, no debugger, Secure cookies, HSTS over HTTPS, no
demo account signing in, and ``flask create-admin`` for the first system administrator."""

import logging
import secrets

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.auth.models import User
from portal.cli import DEMO_ACCOUNTS, DEMO_PASSWORD
from portal.config import DEV_SECRET, from_env
from portal.extensions import db
from portal.roles import Role

from .conftest import make_app
from .factories import PASSWORD

STRONG = secrets.token_hex(32)


def production(**env):
    return create_app(from_env({"DATABASE_URL": "sqlite://", **env}))


@pytest.mark.parametrize(
    "key",
    [
        None,
        "",
        DEV_SECRET,
        "x",
        "secret",
        "s" * 31,
        "a" * 64,
        "changeme" * 4,
        "secret-secret-secret-secret-secret",
        "0123456789" * 4 + "changeme",
        "ab" * 20,
    ],
)
def test_production_refuses_a_weak_or_default_secret_key(key):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        production(**({"SECRET_KEY": key} if key is not None else {}))
    with pytest.raises(RuntimeError, match="SECRET_KEY"):  # PORTAL_ENV=production is the default, and says so
        production(PORTAL_ENV="production", **({"SECRET_KEY": key} if key is not None else {}))


def test_other_environments_refuse_only_the_built_in_key():
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        production(PORTAL_ENV="staging")
    assert production(PORTAL_ENV="test", SECRET_KEY="test-secret")  # the tests' own commands (flask sweep …)


def test_production_starts_with_a_random_key_and_development_with_none():
    assert production(SECRET_KEY=STRONG).config["PORTAL_ENV"] == "production"
    assert production(SECRET_KEY="correct horse battery staple 马 电池 订书钉")
    assert production(PORTAL_ENV="development")


def test_production_refuses_to_start_with_debug_on(monkeypatch):
    with pytest.raises(RuntimeError, match="Debug mode"):
        create_app({**from_env({"DATABASE_URL": "sqlite://", "SECRET_KEY": STRONG}), "DEBUG": True})
    monkeypatch.setenv("FLASK_DEBUG", "1")  # as `flask run --debug` sets it
    with pytest.raises(RuntimeError, match="Debug mode"):
        production(SECRET_KEY=STRONG)
    assert production(PORTAL_ENV="development").debug  # a developer's machine may


def test_cookies_are_secure_in_production_unless_explicitly_opted_out(caplog):
    assert production(SECRET_KEY=STRONG).config["SESSION_COOKIE_SECURE"] is True
    assert production(PORTAL_ENV="development").config["SESSION_COOKIE_SECURE"] is False
    assert production(PORTAL_ENV="development", PORTAL_HTTPS="1").config["SESSION_COOKIE_SECURE"] is True
    with caplog.at_level(logging.WARNING):
        app = production(SECRET_KEY=STRONG, PORTAL_INSECURE_COOKIES="1")
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert any("PORTAL_INSECURE_COOKIES" in r.getMessage() for r in caplog.records)


def test_the_session_and_language_cookies_carry_the_secure_flag(app, make):
    app.config["SESSION_COOKIE_SECURE"] = True  # as production sets it
    user = make.user("client_staff", client=make.client(), password=PASSWORD)
    browser = app.test_client()
    browser.post("/login?lang=en", data={"email": user.email, "password": PASSWORD})
    session = browser.get_cookie("portal_session")
    assert session.secure and session.http_only and session.same_site == "Lax"
    assert browser.get_cookie("portal_lang").secure


def test_hsts_only_over_https(app):
    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers
    https = make_app(PORTAL_HTTPS=True)
    with https.app_context():
        db.create_all()
    response = https.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


@pytest.fixture
def live(app):
    app.config["PORTAL_ENV"] = "production"
    return app


DEMO_REFUSED = "This is a demo account: demo accounts cannot sign in to a production portal."


def sign_in(app, email, password):
    return app.test_client().post(
        "/login", data={"email": email, "password": password}, headers={"Accept-Language": "en"}
    )


def test_production_signs_in_no_demo_account(live, make, monkeypatch):
    from portal.auth import services

    recorded = []
    monkeypatch.setattr(services, "record", lambda event, **kw: recorded.append((event, kw["result"], kw["reason"])))
    school = make.client()
    flagged = make.user("client_staff", client=school, password=PASSWORD, demo=True)
    listed = make.user("client_admin", client=school, email=DEMO_ACCOUNTS[2][0], password=PASSWORD)
    published = make.user("client_staff", client=school, password=DEMO_PASSWORD)
    real = make.user("client_staff", client=school, password=PASSWORD)
    for user, password in ((flagged, PASSWORD), (listed, PASSWORD), (published, DEMO_PASSWORD)):
        response = sign_in(live, user.email, password)
        assert response.status_code == 200 and DEMO_REFUSED in response.get_data(as_text=True)
    assert recorded == [("auth.sign_in", "refused", "demo_in_production")] * 3
    # With a wrong password a demo account gets the usual answer: nothing is told before the password is right.
    assert "not correct" in sign_in(live, flagged.email, "wrong").get_data(as_text=True)
    assert sign_in(live, real.email, PASSWORD).status_code == 302
    live.config["PORTAL_ENV"] = "development"
    assert sign_in(live, flagged.email, PASSWORD).status_code == 302


def test_the_demo_seed_marks_its_accounts_and_is_refused_in_production(live):
    result = live.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0 and "production" in result.output
    with live.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


class TestCreateAdmin:
    def admins(self, app):
        with app.app_context():
            return db.session.scalars(sa.select(User).where(User.role == Role.SYSTEM_ADMIN.value)).all()

    def test_interactively(self, app):
        result = app.test_cli_runner().invoke(
            args=["create-admin"],
            input="\n".join(
                ["Root@Vendor.example ", "王管理", "Nine Copper Lanterns, 2026", "Nine Copper Lanterns, 2026"]
            )
            + "\n",
        )
        assert result.exit_code == 0, result.output
        assert "Nine Copper Lanterns, 2026" not in result.output  # hidden
        [admin] = self.admins(app)
        assert admin.email == "root@vendor.example" and admin.name == "王管理" and admin.client_id is None
        assert admin.check_password("Nine Copper Lanterns, 2026") and not admin.demo
        assert sign_in(app, "root@vendor.example", "Nine Copper Lanterns, 2026").status_code == 302

    def test_the_password_twice(self, app):
        result = app.test_cli_runner().invoke(
            args=["create-admin"],
            input="\n".join(
                [
                    "root@vendor.example",
                    "王管理",
                    "Nine Copper Lanterns, 2026",
                    "another long pass phrase",
                    "Nine Copper Lanterns, 2026",
                    "Nine Copper Lanterns, 2026",
                ]
            )
            + "\n",
        )
        assert result.exit_code == 0 and "Error: The two entered values do not match." in result.output

    def test_from_the_environment(self, app):
        env = {
            "PORTAL_ADMIN_EMAIL": "ops@vendor.example",
            "PORTAL_ADMIN_NAME": "Ops",
            "PORTAL_ADMIN_PASSWORD": "From The Secrets Store, 42",
        }
        result = app.test_cli_runner().invoke(args=["create-admin"], env=env, input="")
        assert result.exit_code == 0, result.output
        assert [a.email for a in self.admins(app)] == ["ops@vendor.example"]
        # A second one is refused before anything is asked, unless asked for explicitly.
        again = app.test_cli_runner().invoke(args=["create-admin"], env={**env, "PORTAL_ADMIN_EMAIL": "b@v.example"})
        assert again.exit_code != 0 and "already exists" in again.output and "--force-another" in again.output
        forced = app.test_cli_runner().invoke(
            args=["create-admin", "--force-another"], env={**env, "PORTAL_ADMIN_EMAIL": "b@v.example"}
        )
        assert forced.exit_code == 0, forced.output
        assert len(self.admins(app)) == 2

    @pytest.mark.parametrize(
        ("email", "password", "says"),
        [
            ("ops@vendor.example", "short", "at least 12 characters"),
            ("not-an-address", "Nine Copper Lanterns, 2026", "Not an e-mail address"),
            ("taken@vendor.example", "Nine Copper Lanterns, 2026", "already has an account"),
        ],
    )
    def test_refusals(self, app, make, email, password, says):
        make.user("vendor_agent", email="taken@vendor.example")
        result = app.test_cli_runner().invoke(
            args=["create-admin"],
            env={"PORTAL_ADMIN_EMAIL": email, "PORTAL_ADMIN_NAME": "Ops", "PORTAL_ADMIN_PASSWORD": password},
        )
        assert result.exit_code != 0 and says in result.output
        assert self.admins(app) == []

    @pytest.mark.parametrize("password", ["ops is my long password 42!", "Password123!", "1234567890abcdef"])
    def test_the_password_policy_applies(self, app, password):
        """The same rules as every password form: not the e-mail's name, not a common password."""
        result = app.test_cli_runner().invoke(
            args=["create-admin"],
            env={
                "PORTAL_ADMIN_EMAIL": "ops@vendor.example",
                "PORTAL_ADMIN_NAME": "Ops",
                "PORTAL_ADMIN_PASSWORD": password,
            },
        )
        assert result.exit_code != 0 and "The password is refused" in result.output, result.output
        assert self.admins(app) == []
