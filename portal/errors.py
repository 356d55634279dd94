"""Error pages in the user's language, never with a stack trace."""
from flask import render_template
from flask.globals import request_ctx
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db
from .htmx import is_htmx

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back and try again.")),
    403: (_l("Not allowed"), _l("Your role does not give access to this page. Ask your administrator if you need it.")),
    404: (_l("Not found"), _l("There is no such page, or it is not yours to see.")),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    413: (_l("Too large"), _l("What you sent is larger than the portal accepts.")),
    500: (_l("Something went wrong"), _l("The portal met an error. It has been logged; please try again in a moment.")),
}
CSRF_MESSAGE = (_l("Form expired"), _l("The form was open too long or was sent from elsewhere. Reload the page and send it again."))


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
    db.session.rollback()
    return render_error(500, *MESSAGES[500])


def init_app(app):
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(InternalServerError, handle_unexpected)
