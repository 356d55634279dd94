"""The application as a whole: configuration, security headers, error pages, health check."""

import pytest

from portal import create_app
from portal.config import from_env

from .conftest import make_app
from .factories import Factory, World


def test_production_refuses_to_start_without_a_secret_key():
    config = from_env({"PORTAL_ENV": "production", "DATABASE_URL": "sqlite://"})
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(config)
    # The default environment is production too: forgetting PORTAL_ENV is not a way around it.
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(from_env({"DATABASE_URL": "sqlite://"}))
    strong = "c6f0b1e29a4d8f7e3b5a1c9d2e8f4a7b6c3d1e0f9a8b7c6d"
    assert (
        create_app(from_env({"SECRET_KEY": strong, "DATABASE_URL": "sqlite://"})).config["PORTAL_ENV"] == "production"
    )
    assert create_app(from_env({"PORTAL_ENV": "development", "DATABASE_URL": "sqlite://"}))


def test_configuration_from_the_environment():
    config = from_env(
        {
            "DATABASE_URL": "postgresql://u@h/db",
            "PORTAL_HTTPS": "true",
            "PORTAL_TIMEZONE": "Asia/Urumqi",
            "PORTAL_IDLE_MINUTES": "15",
            "PORTAL_SESSION_HOURS": "8",
        }
    )
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert (
        config["PORTAL_HTTPS"] and config["SESSION_COOKIE_SECURE"] is None
    )  # decided by create_app: see test_bootstrap
    assert config["SESSION_IDLE"].total_seconds() == 15 * 60 and config["SESSION_LIFETIME"].total_seconds() == 8 * 3600
    assert not any(key.startswith("REMEMBER_") for key in config)  # no "remember me": it would outlive idle sign-out
    assert config["BABEL_DEFAULT_TIMEZONE"] == "Asia/Urumqi"
    defaults = from_env({})
    assert (
        defaults["SESSION_IDLE"].total_seconds() == 30 * 60
        and defaults["SESSION_LIFETIME"].total_seconds() == 12 * 3600
    )


def test_security_headers_on_every_response(app, world):
    for browser, path in ((app.test_client(), "/login"), (app.test_client(user=world.a_staff), "/")):
        response = browser.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
        assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
    assert app.test_client(user=world.a_staff).get("/").headers["Cache-Control"] == "no-store"


def test_no_inline_script_anywhere(app, world):
    body = app.test_client(user=world.sysadmin).get("/users/").get_data(as_text=True)
    for tag in body.split("<script")[1:]:
        assert tag.lstrip().startswith("src="), "inline scripts break the Content-Security-Policy"
    assert " on" + "click=" not in body and "hx-on" not in body


def test_500_page_has_no_stack_trace_in_either_language(own_app):
    app, world = own_app, World(Factory(own_app))  # a route of the test's own: an application of its own
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    browser = app.test_client(user=world.a_staff)
    for lang, title in (("en", "Something went wrong"), ("zh", "出错了")):
        response = browser.get(f"/boom?lang={lang}")
        body = response.get_data(as_text=True)
        assert response.status_code == 500
        assert title in body and "secret internals" not in body and "Traceback" not in body


def test_healthz(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_healthz_is_alive_and_readyz_names_the_database_when_it_is_down():
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    assert app.test_client().get("/healthz").status_code == 200  # the process answers: no restart for an outage
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.json["checks"]["database"] == "unavailable"
    assert response.json["failed"] == ["database"]


def test_unknown_page_is_a_404_page(app):
    response = app.test_client().get("/no/such/page", headers={"Accept-Language": "en"})
    assert response.status_code == 404 and "Not found" in response.get_data(as_text=True)
