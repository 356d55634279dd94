"""Sign-in required by default: every endpoint not listed here needs a signed-in, active user."""
from urllib.parse import urlsplit

from flask import flash, redirect, request, url_for
from flask_login import current_user

from ..bounds import optional_id
from ..extensions import db, login_manager
from ..htmx import is_htmx
from ..i18n import _l
from .models import User

# The calendar feed is opened by calendar programs: its secret address is the key (inspections.calendar_feed). A
# satisfaction survey is answered by people without an account: its token is the key to that one survey. Anyone
# holding a PDF the portal issued checks it without an account (verify.index, verify.by_hash).
# The second step of signing in (auth.two_factor) answers only in the middle of a sign-in (auth.second_step).
PUBLIC_ENDPOINTS = frozenset({"static", "auth.login", "auth.invitation", "home.healthz", "inspections.calendar_feed",
                              "surveys.answer", "verify.index", "verify.by_hash", "auth.two_factor"})


@login_manager.user_loader
def load_user(user_id):
    """The session (or remember-me cookie) holds ``id:token``; a replaced token ends that session."""
    id_, _, token = user_id.partition(":")
    if optional_id(id_) is None or not token:
        return None
    user = db.session.get(User, optional_id(id_))
    if user is None or not user.active or user.session_token != token:
        return None
    return user


def is_safe_next(target):
    """Only a path on this site: no scheme, no host, no protocol-relative ``//`` or ``/\\`` tricks."""
    if not target or any(c in target for c in "\r\n\t\\") or not target.startswith("/"):
        return False
    if target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


@login_manager.unauthorized_handler
def unauthorized():
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    if not is_safe_next(target) or target == "/":
        target = None
    login = url_for("auth.login", next=target)
    if is_htmx():
        # A redirect would be swapped into the page; tell htmx to navigate instead.
        return "", 401, {"HX-Redirect": login}
    flash(_l("Please sign in to see this page."), "info")
    return redirect(login)


def require_login():
    if request.endpoint is None or request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def init_app(app):
    login_manager.session_protection = "basic"
    app.before_request(require_login)
    from .checkpoints import init_app as checkpoints

    checkpoints(app)  # an expired password, a second factor to enrol: before anything else
