"""Configuration, read from the environment when the application is created.

Every variable is listed in the README. Any ``FLASK_*`` variable overrides the key of
the same name (``FLASK_SQLALCHEMY_ECHO=true``), via ``app.config.from_prefixed_env()``.
"""

import os
from datetime import timedelta
from pathlib import Path

# The folder that holds templates/, static/, translations/, migrations/ and app.py: the checkout itself, or, for the
# portal installed as a wheel (``make dist``, the Docker image), the unpacked archive that PORTAL_HOME names.
ROOT = Path(os.environ.get("PORTAL_HOME") or Path(__file__).resolve().parent.parent).resolve()
DEV_SECRET = "dev-only-not-secret"  # nosec B105  # development default only; production must set SECRET_KEY


def _bool(value, default=False):
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_url(url=None):
    """Normalise a database URL: plain ``postgres(ql)://`` URLs get the psycopg 3 driver."""
    url = url or f"sqlite:///{ROOT / 'instance' / 'portal.sqlite'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def from_env(env=None):
    env = os.environ if env is None else env
    https = _bool(env.get("PORTAL_HTTPS"))
    portal_env = env.get("PORTAL_ENV", "production")
    document_mb = int(env.get("PORTAL_DOCUMENT_MAX_MB", "50"))
    return {
        "PORTAL_ENV": portal_env,
        "SECRET_KEY": env.get("SECRET_KEY") or DEV_SECRET,
        "SQLALCHEMY_DATABASE_URI": database_url(env.get("DATABASE_URL")),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Cookies: HttpOnly and SameSite=Lax always, Secure in production unless PORTAL_INSECURE_COOKIES=1.
        # PORTAL_HTTPS=1 (served over HTTPS only) also sends Strict-Transport-Security (portal.security).
        "PORTAL_HTTPS": https,
        "PORTAL_INSECURE_COOKIES": _bool(env.get("PORTAL_INSECURE_COOKIES")),
        "SESSION_COOKIE_NAME": "portal_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # None: decided when the application is made, once PORTAL_ENV is final (portal.check_config): Secure in
        # production and over HTTPS; PORTAL_INSECURE_COOKIES=1 is the explicit opt-out for a plain-http intranet.
        "SESSION_COOKIE_SECURE": None,
        # Sign-in sessions (portal.auth.gate): ended after this long whatever the activity, and after this long
        # without any. The session cookie itself ends with the browser.
        "SESSION_LIFETIME": timedelta(hours=int(env.get("PORTAL_SESSION_HOURS") or 12)),
        "SESSION_IDLE": timedelta(minutes=int(env.get("PORTAL_IDLE_MINUTES") or 30)),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=int(env.get("PORTAL_SESSION_HOURS") or 12)),
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "WTF_CSRF_SSL_STRICT": https,
        # Language and time: Chinese first, times stored in UTC and shown in this zone.
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": env.get("PORTAL_TIMEZONE", "Asia/Shanghai"),
        "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "translations"),
        # Accounts.
        "PASSWORD_MAX_LENGTH": 256,  # nosec B105  # a length limit, not a password
        # The sign-in throttle (portal.auth.throttle): failures free of delay, then 1, 2, 4 … seconds between
        # attempts, up to these caps; failures further apart than the window start the count again.
        "LOGIN_FREE_FAILURES": 5,
        "LOGIN_ADDRESS_MAX_DELAY": timedelta(minutes=15),
        "LOGIN_ACCOUNT_MAX_DELAY": timedelta(minutes=1),
        "LOGIN_WINDOW": timedelta(hours=1),
        "INVITATION_HOURS": 72,
        "PORTAL_SURVEY_DAYS": int(env.get("PORTAL_SURVEY_DAYS", "30")),  # a survey link works this long
        "SURVEY_RATE_LIMIT": int(env.get("PORTAL_SURVEY_RATE_LIMIT", "30")),  # requests a minute per address
        "PAGE_SIZE": 25,
        # Warranty: a unit is "expiring" this many days before its end date.
        "WARRANTY_EXPIRING_DAYS": int(env.get("PORTAL_EXPIRING_DAYS", "90")),
        # Fault reports: days to bring a repaired original back once a spare unit is lent.
        "SPARE_RETURN_DAYS": int(env.get("PORTAL_SPARE_RETURN_DAYS", "30")),
        # Complaints: hours for the vendor to answer each round.
        "COMPLAINT_ANSWER_HOURS": int(env.get("PORTAL_COMPLAINT_ANSWER_HOURS", "24")),
        # Equipment imports: rows and bytes of one CSV/XLSX file.
        "IMPORT_MAX_ROWS": 20_000,
        "IMPORT_MAX_BYTES": 20 * 1024 * 1024,
        # Documents (manuals…): the largest file, and where uploaded files are kept (shared storage for several hosts).
        "DOCUMENT_MAX_BYTES": document_mb * 1024 * 1024,
        "STORAGE_DIR": env.get("PORTAL_STORAGE_DIR") or str(ROOT / "instance" / "files"),
        # Or S3-compatible object storage (PORTAL_STORAGE=s3: MinIO, Alibaba OSS, Tencent COS), see portal.storage.
        # Credentials not set here come from boto3's own (AWS_ACCESS_KEY_ID…). MinIO takes path-style addresses,
        # OSS and COS virtual-hosted ones.
        "STORAGE": (env.get("PORTAL_STORAGE") or "folder").strip().lower(),
        "S3_ENDPOINT_URL": env.get("PORTAL_S3_ENDPOINT_URL") or None,
        "S3_BUCKET": env.get("PORTAL_S3_BUCKET", ""),
        "S3_REGION": env.get("PORTAL_S3_REGION") or None,
        "S3_ACCESS_KEY_ID": env.get("PORTAL_S3_ACCESS_KEY_ID") or None,
        "S3_SECRET_ACCESS_KEY": env.get("PORTAL_S3_SECRET_ACCESS_KEY") or None,
        "S3_PREFIX": env.get("PORTAL_S3_PREFIX", ""),
        "S3_ADDRESSING_STYLE": (env.get("PORTAL_S3_ADDRESSING_STYLE") or "path").strip().lower(),
        # Downloads (portal.downloads): stream (through the worker), accel (nginx sends the file named in
        # X-Accel-Redirect, from an internal location at PORTAL_ACCEL_PREFIX) or presigned (S3 only: a redirect to a
        # link valid PORTAL_PRESIGN_SECONDS). Access checks and the audit record come first in every mode.
        "DOWNLOADS": (env.get("PORTAL_DOWNLOADS") or "stream").strip().lower(),
        "ACCEL_PREFIX": "/" + (env.get("PORTAL_ACCEL_PREFIX") or "/protected-files").strip("/"),
        "PRESIGN_SECONDS": int(env.get("PORTAL_PRESIGN_SECONDS") or 300),
        # A whole request: a little above the largest document, so that an oversize file gets a message on its form.
        "MAX_CONTENT_LENGTH": int(env.get("PORTAL_MAX_UPLOAD_MB") or document_mb + 5) * 1024 * 1024,
        # The job worker (``flask jobs worker``, see ``portal.jobs``): its queue lives in Redis when REDIS_URL is set
        # (several hosts, the production choice), else in a SQLite file under instance/ (one host, nothing to
        # install). PORTAL_JOBS_STORAGE forces one: redis, sqlite, or memory (tests; nothing runs unless asked).
        "REDIS_URL": env.get("REDIS_URL") or None,
        "JOBS_STORAGE": env.get("PORTAL_JOBS_STORAGE", ""),
        "JOBS_DB": env.get("PORTAL_JOBS_DB") or str(ROOT / "instance" / "jobs.sqlite"),
        "JOBS_NAME": env.get("PORTAL_JOBS_NAME", "portal"),  # the queue's name: two portals may share one Redis
        "JOBS_WORKERS": int(env.get("PORTAL_JOBS_WORKERS", "2")),  # threads of one worker process
        # The portal's address as people reach it: the links in e-mails and group messages, built without a request.
        "PORTAL_BASE_URL": (env.get("PORTAL_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        # E-mail (Flask-Mailman) over SMTP when MAIL_SERVER is set; without it each message is written to a file in
        # MAIL_FILE_PATH instead (development), see ``portal.init_mail``.
        "MAIL_SERVER": env.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(env.get("MAIL_PORT") or 25),
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS")),
        "MAIL_USE_SSL": _bool(env.get("MAIL_USE_SSL")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER") or "noreply@localhost",
        "MAIL_TIMEOUT": int(env.get("MAIL_TIMEOUT") or 20),  # seconds: a stuck server fails the try, which is retried
        "MAIL_FILE_PATH": env.get("MAIL_FILE_PATH") or str(ROOT / "instance" / "mail"),
        # The outbox: tries per delivery (waiting 1, 2, 4 … minutes between them, at most DELIVERY_BACKOFF_MAX), and
        # how long a worker may take to send one before it counts as stopped mid-send.
        "DELIVERY_MAX_ATTEMPTS": int(env.get("PORTAL_DELIVERY_MAX_ATTEMPTS") or 8),
        "DELIVERY_BACKOFF_MAX": timedelta(minutes=60),
        "DELIVERY_LEASE": timedelta(minutes=5),
        # Group robots (WeCom, DingTalk): seconds to wait for the platform's answer.
        "ROBOT_TIMEOUT": 10,
        # Behind a reverse proxy that sets X-Forwarded-For/-Proto/-Host, trust this many hops.
        "PROXY_HOPS": int(env.get("PORTAL_PROXY_HOPS", "0")),
        # The audit trail (审计日志): days kept online (never fewer than 180: Cybersecurity Law art. 21, see
        # ``portal.audit.retention``), and the folder the daily job writes its archives to before pruning.
        "AUDIT_RETENTION_DAYS": int(env.get("PORTAL_AUDIT_RETENTION_DAYS") or 180),
        "AUDIT_ARCHIVE_DIR": env.get("PORTAL_AUDIT_ARCHIVE_DIR") or str(ROOT / "instance" / "audit"),
        # Seeing it run (portal.logs, portal.metrics, portal.errors): logs as JSON lines or readable text (JSON in
        # production by default) at this level; who may read /metrics (addresses or networks, or the bearer token);
        # errors reported to a Sentry-compatible server when SENTRY_DSN is set.
        "LOG_FORMAT": env.get("PORTAL_LOG_FORMAT", ""),
        "LOG_LEVEL": env.get("PORTAL_LOG_LEVEL") or "INFO",
        "METRICS_ALLOW": env.get("PORTAL_METRICS_ALLOW", "127.0.0.1,::1"),
        "METRICS_TOKEN": env.get("PORTAL_METRICS_TOKEN") or None,
        "SENTRY_DSN": env.get("SENTRY_DSN") or None,
        # ``flask backup`` writes its archives here unless --output says otherwise (see ``portal.backup``).
        "BACKUP_DIR": env.get("PORTAL_BACKUP_DIR") or str(ROOT / "instance" / "backups"),
    }
