"""Logs: one line per event on standard error, JSON in production (for a log collector), readable text in
development; every line says which request (or job), which user and which client it belongs to, so that one
request's whole story can be followed from the web worker to the job worker by its request id.

Configured once per process on the root logger (``init_app``, from ``create_app``), unless a server configured it
already with this module's handler (gunicorn's ``logconfig_dict = portal.logs.logconfig()``): the portal's own
loggers, Flask's, Huey's and gunicorn's then share one format. Secrets never reach a line: the link tokens of
invitations, surveys, calendar feeds and PDF checks, query strings of those links, and anything written as
``password=…``, ``token: …`` or ``Bearer …`` are replaced by ``***`` (``Scrub``).
"""

import contextvars
import logging
import re
import sys
import time
from dataclasses import dataclass

import sqlalchemy as sa
from flask import g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

FORMATS = ("json", "text")
FIELDS = ("request_id", "user_id", "client_id", "job_id", "job")
NONE = "-"
TEXT = (
    "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s user=%(user_id)s client=%(client_id)s"
    " job=%(job_id)s] %(message)s"
)
ACCESS = logging.getLogger("portal.access")

# ---------------------------------------------------------------- secrets out

# The public links whose address is the key (an invitation, a survey, a calendar feed, a PDF's check, evidence).
TOKEN_PATH = re.compile(r"(/(?:invite|survey|verify|inspections/calendar|scorecard/evidence)/)[^\s\"'<>\\]+")
SECRET_PAIR = re.compile(
    r"(?i)(\b(?:[\w-]*(?:password|passwd|token|secret|api[_-]?key|signature)[\w-]*|code|otp|totp)[\"']?\s*[:=]\s*"
    r"[\"']?)[^\"'&\s,;}\\]+"
)
CREDENTIALS = re.compile(r"(?i)(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]+")
SECRET_VIEW_ARGS = frozenset({"token", "sha256", "key"})


def scrub(text):
    """``text`` with the secrets it may hold replaced by ``***``."""
    text = TOKEN_PATH.sub(r"\1***", text)
    text = SECRET_PAIR.sub(r"\1***", text)
    return CREDENTIALS.sub(r"\1***", text)


class Scrub(logging.Filter):
    """Replaces a record's message by its scrubbed text (the arguments merged in first: a secret may be one)."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed call: logging reports it itself when formatting
            return True
        clean = scrub(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


def logged_path():
    """The request's path as a log line may show it: a link whose address is its key shows its rule instead
    (``/survey/<token>``), and no query string at all."""
    if request.url_rule is not None and SECRET_VIEW_ARGS & set(request.view_args or ()):
        return request.url_rule.rule
    return scrub(request.path)


# ---------------------------------------------------------------- who and which request


@dataclass(frozen=True)
class JobContext:
    id: str
    name: str
    request_id: str  # of the request that enqueued the task; "" for a periodic job


JOB = contextvars.ContextVar("portal_job", default=None)  # set while the worker runs a task (``portal.jobs``)


def _loaded(user, name):
    """An attribute of the signed-in user as already loaded: a log line never sends a query."""
    state = sa.inspect(user, raiseerr=False)
    return (state.dict if state is not None else vars(user)).get(name)


class Context(logging.Filter):
    """Adds the request id, user id and client id (in a request), the job's id and name and the request id that
    enqueued it (in a job), "-" for what does not apply."""

    def filter(self, record):
        fields = dict.fromkeys(FIELDS, NONE)
        job = JOB.get()
        if job is not None:
            fields.update(job_id=job.id, job=job.name, request_id=job.request_id or NONE)
        if has_request_context():
            from .audit.hooks import request_id

            fields["request_id"] = request_id()
            # Only once Flask-Login has loaded it, and only what is loaded: a log line never sends a query nor
            # refreshes an expired user (is_authenticated would: after the request, a streamed response's last line
            # is logged with the user detached). The anonymous user has no id.
            user = g.get("_login_user")
            if user is not None:
                fields["user_id"] = _loaded(user, "id") or NONE
                fields["client_id"] = _loaded(user, "client_id") or NONE
        for name, value in fields.items():
            if getattr(record, name, None) in (None, ""):
                setattr(record, name, value)
        return True


# ---------------------------------------------------------------- formats and handlers


class _Scrubbed:
    """The whole line scrubbed once more: a traceback, or a message another handler formatted first (its cached
    traceback text is reused), may hold what the filter did not see."""

    def format(self, record):
        return scrub(super().format(record))


class TextFormatter(_Scrubbed, logging.Formatter):
    converter = time.gmtime  # UTC, as everything the portal stores

    def __init__(self):
        super().__init__(TEXT)


class JsonLines(_Scrubbed, JsonFormatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the context fields, and whatever a
    call passed as ``extra`` (the access log's method, path, status…)."""

    def __init__(self):
        super().__init__(
            "{levelname}{name}{message}" + "".join(f"{{{field}}}" for field in FIELDS),
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            json_ensure_ascii=False,
        )


def formatter(fmt="text"):
    """A formatter by name (dictConfig's ``()`` factory too)."""
    if fmt not in FORMATS:
        raise RuntimeError(f"PORTAL_LOG_FORMAT: {fmt!r} is neither json nor text.")
    return JsonLines() if fmt == "json" else TextFormatter()


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (a test runner's capture, a daemon's redirection)."""

    def __init__(self):
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def handler(fmt="text", stream=None):
    """The portal's handler: its format, the context fields and the scrubbing. ``stream``: a file (tests)."""
    found = logging.StreamHandler(stream) if stream is not None else StderrHandler()
    found.setFormatter(formatter(fmt))
    found.addFilter(Context())
    found.addFilter(Scrub())
    found.portal = True
    return found


def settings(config):
    """(format, level) the configuration asks for: PORTAL_LOG_FORMAT, else JSON in production and text elsewhere;
    PORTAL_LOG_LEVEL, INFO by default."""
    fmt = (config.get("LOG_FORMAT") or ("json" if config.get("PORTAL_ENV") == "production" else "text")).lower()
    level = (config.get("LOG_LEVEL") or "INFO").upper()
    if fmt not in FORMATS:
        raise RuntimeError(f"PORTAL_LOG_FORMAT: {fmt!r} is neither json nor text.")
    if not isinstance(logging.getLevelName(level), int):
        raise RuntimeError(f"PORTAL_LOG_LEVEL: {level!r} is not a level (DEBUG, INFO, WARNING, ERROR).")
    return fmt, level


def _server_configured(root):
    """A handler with the portal's context, put there by the server (gunicorn's logconfig_dict), not by us."""
    return any(
        not getattr(h, "portal", False) and any(isinstance(f, Context) for f in h.filters) for h in root.handlers
    )


def init_app(app):
    """Configure the root logger (once per process; a later application replaces the handler this module added)."""
    fmt, level = settings(app.config)
    root = logging.getLogger()
    if _server_configured(root):
        return
    for old in [h for h in root.handlers if getattr(h, "portal", False)]:
        root.removeHandler(old)
    root.addHandler(handler(fmt))
    root.setLevel(level)
    app.before_request(_started)
    app.after_request(_access)


def logconfig(fmt=None, level=None):
    """The ``logging.config.dictConfig`` of a server process (gunicorn.conf.py: ``logconfig_dict =
    portal.logs.logconfig()``): the root logger, ``gunicorn.error`` and ``gunicorn.access`` all through the portal's
    handler. Format and level from PORTAL_LOG_FORMAT / PORTAL_LOG_LEVEL / PORTAL_ENV unless given."""
    import os

    from .config import from_env

    env_fmt, env_level = settings(from_env(os.environ))
    fmt, level = fmt or env_fmt, (level or env_level).upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": Context}, "scrub": {"()": Scrub}},
        "formatters": {"portal": {"()": formatter, "fmt": fmt}},
        "handlers": {
            "portal": {"class": f"{__name__}.StderrHandler", "formatter": "portal", "filters": ["context", "scrub"]}
        },
        "root": {"level": level, "handlers": ["portal"]},
        "loggers": {
            name: {"level": level, "handlers": [], "propagate": True}
            for name in ("gunicorn", "gunicorn.error", "gunicorn.access")
        },
    }


# ---------------------------------------------------------------- the access log


def _started():
    g.started = time.perf_counter()


def elapsed():
    """Seconds since the request began (0 if the clock was not started: a request refused earlier)."""
    started = g.get("started")
    return 0.0 if started is None else time.perf_counter() - started


def _access(response):
    """One line per request: method, path (scrubbed), endpoint, status, duration, request id (a field of every
    line)."""
    duration_ms = round(elapsed() * 1000, 1)
    path = logged_path()
    ACCESS.info(
        "%s %s %s %.1fms",
        request.method,
        path,
        response.status_code,
        duration_ms,
        extra={
            "method": request.method,
            "path": path,
            "endpoint": request.endpoint or NONE,
            "status": response.status_code,
            "duration_ms": duration_ms,
        },
    )
    return response


def job_context(task):
    """The context of a task the worker is about to run (see ``portal.jobs.Jobs.execute``)."""
    return JobContext(
        id=str(task.id),
        name=getattr(task, "name", type(task).__name__),
        request_id=str(task.kwargs.get(REQUEST_ID_KWARG, "") or ""),
    )


REQUEST_ID_KWARG = "_portal_request_id"  # the task's keyword argument carrying the enqueuing request's id


def current_request_id():
    """The id to hand to a task enqueued now: the request's, or the job's own originating request's."""
    if has_request_context():
        from .audit.hooks import request_id

        return request_id()
    job = JOB.get()
    return job.request_id if job is not None else ""
