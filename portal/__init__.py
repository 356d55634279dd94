"""The after-sales service portal (售后服务门户): application factory."""

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as config_module
from .extensions import csrf, db, login_manager, mail, migrate

BLUEPRINTS = (
    "portal.home",
    "portal.auth",
    "portal.account",
    "portal.clients",
    "portal.sites",
    "portal.users",
    "portal.settings",
    "portal.contracts",
    "portal.catalog",
    "portal.equipment",
    "portal.warranty",
    "portal.renewals",
    "portal.parts",
    "portal.tickets",
    "portal.complaints",
    "portal.documents",
    "portal.inspections",
    "portal.notify",
    "portal.scorecard",
    "portal.surveys",
    "portal.reports",
    "portal.reports.verify",
    "portal.security_admin",
    "portal.security_admin.accounts",
    "portal.audit",
)


def create_app(config=None):
    root = config_module.ROOT
    if not (root / "templates").is_dir():
        raise RuntimeError(
            f"{root} has no templates/: set PORTAL_HOME to the folder the portal's archive was unpacked "
            "in (the one with app.py, templates/, static/, translations/ and migrations/)."
        )
    app = Flask(
        __name__,
        template_folder=str(root / "templates"),
        static_folder=str(root / "static"),
        instance_path=str(root / "instance"),
        instance_relative_config=True,
    )
    app.config.update(config_module.from_env())
    app.config.from_prefixed_env()
    app.config.update(config or {})
    from . import logs

    logs.init_app(app)  # first: the configuration's own warnings are logged in the chosen format
    check_config(app)

    if app.config["PROXY_HOPS"]:
        n = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    register_extensions(app)
    register_blueprints(app)
    return app


WEAK_SECRETS = {
    "secret",
    "secretkey",
    "changeme",
    "changethis",
    "password",
    "default",
    "dev",
    "development",
    "test",
    "testing",
    "flask",
    "portal",
    "admin",
    "example",
    "key",
    "qwerty",
    "abc",
    "123456",
}


def weak_secret(key):
    """Why ``key`` is not fit to sign production sessions, or None: unset, the development default, shorter than 32
    characters, a few characters repeated, or made of a well-known word (``changeme`` × 4 is 32 characters)."""
    if not key or key == config_module.DEV_SECRET:
        return "SECRET_KEY is not set"
    if len(key) < 32:
        return "SECRET_KEY is shorter than 32 characters"
    if len(set(key)) < 8:
        return "SECRET_KEY repeats a few characters"
    letters = "".join(c for c in key.lower() if c.isalnum())
    for word in WEAK_SECRETS:
        if letters and len(word) >= 3 and letters.replace(word, "") == "":
            return f"SECRET_KEY is the word {word!r} repeated"
    if any(
        word in key.lower()
        for word in ("changeme", "change-me", "change_me", "secretkey", "secret-key", "not-secret", "dev-only")
    ):
        return "SECRET_KEY is a placeholder"
    return None


def check_config(app):
    """Refuse to start in production with a weak or default secret key or with the debugger on; decide the cookies'
    Secure flag. Development (PORTAL_ENV=development, as ``make run`` sets it) and tests (TESTING) are exempt."""
    config = app.config
    dev = config["PORTAL_ENV"] == "development" or config.get("TESTING")
    if not dev:
        # Production: a key fit to sign sessions. Other environments (PORTAL_ENV=test for the tests' commands, a
        # staging name): at least not the built-in development key.
        key = config["SECRET_KEY"]
        if config["PORTAL_ENV"] == "production":
            problem = weak_secret(key)
        else:
            problem = "SECRET_KEY is not set" if not key or key == config_module.DEV_SECRET else None
        if problem:
            raise RuntimeError(
                f"{problem}. Set a random one in the environment (e.g. python -c 'import secrets; "
                "print(secrets.token_hex(32))'), the same on every worker and host, or set PORTAL_ENV=development "
                "on a developer's machine."
            )
        if app.debug or config.get("DEBUG"):
            raise RuntimeError(
                "Debug mode is on (FLASK_DEBUG or --debug): its error pages show the code and data to anyone. "
                "Turn it off, or set PORTAL_ENV=development on a developer's machine."
            )
    if config.get("SESSION_COOKIE_SECURE") is None:
        production = config["PORTAL_ENV"] == "production" and not config.get("TESTING")
        config["SESSION_COOKIE_SECURE"] = bool(
            config["PORTAL_HTTPS"] or (production and not config.get("PORTAL_INSECURE_COOKIES"))
        )
    if not dev and not config["SESSION_COOKIE_SECURE"]:
        app.logger.warning(
            "Session cookies are sent over plain HTTP (PORTAL_INSECURE_COOKIES=1): anyone on the network path can "
            "take a signed-in session. Serve the portal over HTTPS and remove PORTAL_INSECURE_COOKIES."
        )
    check_storage(config)
    uri = config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):  # the embedded default lives in instance/: make sure it exists
        Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)


def check_storage(config):
    """Refuse to start with storage or downloads configured in a way that would fail on the first upload."""
    if config.get("STORAGE", "folder") not in ("folder", "s3"):
        raise RuntimeError(f"PORTAL_STORAGE is {config['STORAGE']!r}: use folder (the default) or s3.")
    if config.get("STORAGE") == "s3" and not config.get("S3_BUCKET"):
        raise RuntimeError("PORTAL_STORAGE=s3 needs PORTAL_S3_BUCKET (and usually PORTAL_S3_ENDPOINT_URL).")
    if config.get("S3_ADDRESSING_STYLE", "path") not in ("path", "virtual", "auto"):
        raise RuntimeError("PORTAL_S3_ADDRESSING_STYLE is path (MinIO), virtual (Alibaba OSS, Tencent COS) or auto.")
    downloads = config.get("DOWNLOADS", "stream")
    if downloads not in ("stream", "accel", "presigned"):
        raise RuntimeError(f"PORTAL_DOWNLOADS is {downloads!r}: use stream (the default), accel or presigned.")
    if downloads == "presigned" and config.get("STORAGE") != "s3":
        raise RuntimeError(
            "PORTAL_DOWNLOADS=presigned needs PORTAL_STORAGE=s3: a folder has no presigned links "
            "(use accel to hand downloads to nginx)."
        )


def register_extensions(app):
    db.init_app(app)
    from . import database

    database.init_app(app)
    migrate.init_app(app, db, directory=str(config_module.ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    init_mail(app)
    # Models must be imported before migrations or create_all look at the metadata.
    from . import bounds, cli, errors, i18n, models, scoping, security, steps  # noqa: F401
    from .auth import gate

    i18n.init_app(app)  # before the sign-in gate, so that ?lang= also applies to the sign-in page
    bounds.init_app(app)  # the bounded <int:…> converter (before the blueprints); control characters refused first
    gate.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    scoping.init_app(app)  # may_open(endpoint): a link only for those its page admits
    steps.init_app(app)  # after the CSRF check and the sign-in gate: a refused request claims no form token
    from . import audit

    audit.init_app(app)  # after steps: its after_request runs first, so a form's settle() commits its record
    cli.init_app(app)
    from . import scale

    scale.init_app(app)  # ``flask seed-scale``: a database at a vendor's real size, for the benchmark
    from . import jobs

    jobs.init_app(app)  # the job queue (SQLite file, Redis, or memory in tests) and ``flask jobs``
    from . import error_reports, metrics

    metrics.init_app(app)  # requests counted for /metrics
    error_reports.init_app(app)  # to a Sentry-compatible server when SENTRY_DSN is set


def init_mail(app):
    """SMTP when ``MAIL_SERVER`` is set; otherwise each message is written to a file under ``MAIL_FILE_PATH``
    (instance/mail), so development and a fresh clone never need a mail server. ``MAIL_BACKEND`` overrides both."""
    if not app.config.get("MAIL_BACKEND"):
        app.config["MAIL_BACKEND"] = "smtp" if app.config.get("MAIL_SERVER") else "file"
    mail.init_app(app)


def register_blueprints(app):
    from importlib import import_module

    for name in BLUEPRINTS:
        app.register_blueprint(import_module(name).bp)
