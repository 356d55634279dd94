"""Sign-in required by default: every endpoint not listed here needs a signed-in, active user whose sign-in session
is still valid (open, within its absolute lifetime, and used within the idle timeout)."""

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user

from ..audit import record
from ..bounds import optional_id
from ..extensions import db, login_manager
from ..htmx import is_htmx
from ..i18n import _l, ngettext
from ..types import utcnow
from .models import SignInSession, User, token_digest

# The calendar feed is opened by calendar programs: its secret address is the key (inspections.calendar_feed). A
# satisfaction survey is answered by people without an account: its token is the key to that one survey. Anyone
# holding a PDF the portal issued checks it without an account (verify.index, verify.by_hash).
# The second step of signing in (auth.two_factor) answers only in the middle of a sign-in (auth.second_step).
# The probes of load balancers, supervisors and Prometheus: answered without sign-in, always as anonymous (a signed-in
# browser's cookie is not even read: a probe is nobody's activity, and never ends or extends a session).
PROBES = frozenset({"home.healthz", "home.readyz", "home.metrics"})
PUBLIC_ENDPOINTS = (
    frozenset(
        {
            "static",
            "auth.login",
            "auth.invitation",
            "inspections.calendar_feed",
            "surveys.answer",
            "verify.index",
            "verify.by_hash",
            "auth.two_factor",
        }
    )
    | PROBES
)


# A request a page makes by itself (htmx polling: the bell, the service queue) carries this header: it is not the
# person's activity, so it does not keep an idle session alive (see templates/notify/_bell.html).
BACKGROUND_HEADER = "X-Portal-Background"
SEEN_EVERY = 60  # seconds: the last-activity time in the cookie is refreshed at most once a minute


def now_seconds():
    return int(utcnow().timestamp())


@login_manager.user_loader
def load_user(user_id):
    """The signed-in user, if this browser's sign-in session is still valid, else None (signed out).

    Flask-Login's part of the signed session cookie holds ``id:token`` (a replaced token ends every session of the
    user); ``sid`` names the sign-in session's row, which must be open and younger than ``SESSION_LIFETIME``; ``seen``
    is the last activity (refreshed at most once a minute, in the cookie, so that no page view writes to the
    database), no older than ``SESSION_IDLE``.
    """
    id_, _, token = user_id.partition(":")
    if optional_id(id_) is None or not token:
        return None
    sid = session.get("sid")
    found = None
    if isinstance(sid, str) and sid:
        found = db.session.execute(
            sa.select(User, SignInSession)
            .join(SignInSession, SignInSession.user_id == User.id)
            .where(User.id == optional_id(id_), SignInSession.token_hash == token_digest(sid))
        ).first()
    if found is None:
        return expire(db.session.get(User, optional_id(id_)), "ended")
    user, row = found
    if not user.active or user.session_token != token or row.ended_at is not None:
        return expire(user, "ended", row)
    now, seen = utcnow(), session.get("seen")
    if row.started_at + current_app.config["SESSION_LIFETIME"] <= now:
        return expire(user, "absolute", row)
    if not isinstance(seen, int) or now.timestamp() - seen > current_app.config["SESSION_IDLE"].total_seconds():
        return expire(user, "idle" if isinstance(seen, int) else "ended", row)
    if now.timestamp() - seen >= SEEN_EVERY and not request.headers.get(BACKGROUND_HEADER):
        session["seen"] = int(now.timestamp())
    g.sign_in_session = row
    return user


EXPIRED = {
    "idle": lambda: ngettext(
        "You were signed out after %(num)d minute without activity. Please sign in again.",
        "You were signed out after %(num)d minutes without activity. Please sign in again.",
        minutes("SESSION_IDLE"),
    ),
    "absolute": lambda: ngettext(
        "You were signed out: a session lasts at most %(num)d hour. Please sign in again.",
        "You were signed out: a session lasts at most %(num)d hours. Please sign in again.",
        minutes("SESSION_LIFETIME") // 60,
    ),
    "ended": lambda: _l(
        "Your session was ended (signed out on another device, or your account changed). Please sign in again."
    ),
}


def minutes(key):
    return max(1, int(current_app.config[key].total_seconds() // 60))


def expire(user, reason, row=None):
    """Sign this browser out: forget the session (nothing written to the database: a page view never writes; the
    audit trail records the expiry in a transaction of its own). Why is said once the user is loaded (``say_why``):
    a translation here would ask the language of the user being loaded."""
    record("auth.session_expired", user=user, target=row, reason=reason)
    session.clear()
    g.session_expired = reason
    return None


def say_why(response):
    reason = g.pop("session_expired", None)
    if reason:
        flash(EXPIRED[reason](), "info")
    return response


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
    if not g.get("session_expired"):  # the expiry has already said why
        flash(_l("Please sign in to see this page."), "info")
    return redirect(login)


def probe_as_nobody():
    """A probe's current user is nobody, set before any hook (``?lang=``) could load the cookie's user."""
    if request.endpoint in PROBES:
        g._login_user = login_manager.anonymous_user()  # Flask-Login's current user for this request


def require_login():
    if request.endpoint is None or request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def init_app(app):
    login_manager.session_protection = "basic"
    app.before_request_funcs.setdefault(None, []).insert(0, probe_as_nobody)  # first of all the hooks
    app.before_request(require_login)
    app.after_request(say_why)

    from .checkpoints import init_app as checkpoints

    checkpoints(app)  # an expired password, a second factor to enrol: before anything else
