"""Optional error reports to a Sentry-compatible server (Sentry, GlitchTip…) when ``SENTRY_DSN`` is set.

What leaves the portal is the error and where it happened, never what identifies a person or opens a session: no
personal data (``send_default_pii`` left at its default, off; passing it is deprecated), no local variables of the stack frames (a form's password, the WSGI
environment), and ``before_send`` drops the cookies, the Authorization header, the form
data and the query string, and scrubs the address and messages as the logs are (``portal.logs.scrub``). The
request id goes with each report as a tag, to find the request's log lines.
"""

import importlib.metadata

from flask import has_request_context

from .logs import scrub

DROPPED_HEADERS = frozenset({"cookie", "authorization", "proxy-authorization", "x-csrftoken", "x-csrf-token"})


def version():
    try:
        return importlib.metadata.version("portal")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _scrub_request(data):
    data.pop("cookies", None)
    data.pop("data", None)
    data.pop("query_string", None)
    if isinstance(data.get("headers"), dict):
        data["headers"] = {k: v for k, v in data["headers"].items() if k.lower() not in DROPPED_HEADERS}
    if isinstance(data.get("url"), str):
        data["url"] = scrub(data["url"])


def _scrub_messages(event):
    for exception in (event.get("exception") or {}).get("values") or ():
        if isinstance(exception.get("value"), str):
            exception["value"] = scrub(exception["value"])
    if isinstance(event.get("message"), str):
        event["message"] = scrub(event["message"])
    entry = event.get("logentry")
    if isinstance(entry, dict):
        for key in ("message", "formatted"):
            if isinstance(entry.get(key), str):
                entry[key] = scrub(entry[key])
        entry.pop("params", None)
    for crumb in (event.get("breadcrumbs") or {}).get("values") or ():
        if isinstance(crumb.get("message"), str):
            crumb["message"] = scrub(crumb["message"])
        crumb.pop("data", None)


def before_send(event, hint):
    if isinstance(event.get("request"), dict):
        _scrub_request(event["request"])
    _scrub_messages(event)
    if has_request_context():
        from .audit.hooks import request_id

        event.setdefault("tags", {})["request_id"] = request_id()
    return event


def init_app(app):
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[FlaskIntegration()],
        environment=app.config["PORTAL_ENV"],
        release=f"portal@{version()}",
        before_send=before_send,
        max_request_body_size="never",
        include_local_variables=False,
    )  # a frame's locals: a password
