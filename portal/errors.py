"""Error pages in the user's language, never with a stack trace; and, while the database does not answer, the
portal's own 503 page, made without it."""

import sqlalchemy as sa
from flask import current_app, render_template
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db, login_manager
from .htmx import is_htmx
from .i18n import _l

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back and try again.")),
    403: (_l("Not allowed"), _l("Your role does not give access to this page. Ask your administrator if you need it.")),
    404: (_l("Not found"), _l("There is no such page, or it is not yours to see.")),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    413: (_l("Too large"), _l("What you sent is larger than the portal accepts.")),
    500: (_l("Something went wrong"), _l("The portal met an error. It has been logged; please try again in a moment.")),
    503: (
        _l("Temporarily unavailable"),
        _l(
            "The portal cannot reach its database at the moment. Please try again in "
            "a minute; if it lasts, call the service hotline."
        ),
    ),
}
CSRF_MESSAGE = (
    _l("Form expired"),
    _l("The form was open too long or was sent from elsewhere. Reload the page and send it again."),
)
# The database is down, restarting, unreachable or out of connections: what SQLAlchemy raises for it (psycopg's and
# sqlite3's OperationalError and InterfaceError, a dropped connection, a full pool), not a mistake in a query.
OUTAGE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError, sa.exc.TimeoutError)
RETRY_AFTER_SECONDS = 30


def render_error(code, title, text):
    if request_ctx.url_adapter is None:  # a Host header nobody can read (BadHost): no page can build its links
        return f"{title}\n\n{text}\n", code, {"Content-Type": "text/plain; charset=utf-8"}
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    return render_template(template, code=code, title=title, text=text), code


def handle_http(error):
    if isinstance(error, CSRFError):
        return render_error(400, *CSRF_MESSAGE)
    title, text = MESSAGES.get(error.code, (error.name, error.description))
    return render_error(error.code, title, text)


def handle_unexpected(error):
    """An unhandled exception (Flask has logged it): undo the half-done work, show a plain page."""
    if isinstance(error.original_exception, OUTAGE):  # e.g. raised while finishing the response
        return handle_outage(error.original_exception)
    db.session.rollback()
    return render_error(500, *MESSAGES[500])


def handle_outage(error):
    """503 with Retry-After, for every request, signed in or not. The page must not need the database: the user
    (whom the layout would load again) is taken as signed out for this page only (the session cookie is kept, so
    the next request after the outage is signed in again), the vendor's name and hotline are the last known."""
    current_app.logger.error("The database does not answer: %s", getattr(error, "orig", None) or error)  # no SQL
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:
        pass  # the connection is gone; the session lets go of it at the end of the request
    login_manager._update_request_context_with_user()  # anonymous, without calling the user loader
    from .home.views import offline_vendor

    offline_vendor()
    body, code = render_error(503, *MESSAGES[503])
    return body, code, {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}


def init_app(app):
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(InternalServerError, handle_unexpected)
    for kind in OUTAGE:
        app.register_error_handler(kind, handle_outage)
