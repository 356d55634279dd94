"""What a signed-in user must do before anything else: change an expired (or administrator-reset) password, enrol a
second factor; and the step between the password and the session for those who have a second factor.

The flags are worked out once, when a session starts (``on_session_start``: the sign-in, an invitation accepted, a
password changed), and kept in the session; the checkpoint (a ``before_request`` after the sign-in gate) reads them
and the user row only, so that no page view writes.
"""

import time
from datetime import UTC, datetime

from flask import flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..audit import record
from ..htmx import is_htmx
from ..types import utcnow
from . import passwords, twofactor
from .gate import PROBES

CHANGE = "must_change_password"
ENROL_BY = "enrol_by"  # epoch seconds: when enrolment stops being optional
PENDING = "second_factor_pending"

# Always reachable, whatever is pending: signing out, the files, the pages that lift the checkpoint.
OPEN = frozenset({"static", "auth.logout", "auth.login", "auth.two_factor"}) | PROBES
PASSWORD_PAGES = frozenset({"account.password"})
ENROL_PAGES = frozenset({"account.two_factor", "account.two_factor_enrol"})


def on_session_start(user, now=None):
    """Work out what the new session must do first (called by ``auth.views.start_session``); reads only."""
    now = now or utcnow()
    rules = passwords.policy()
    if user.password_change_required or passwords.is_expired(user, now, rules):
        session[CHANGE] = True
        if not user.password_change_required:
            record("account.password_expired", user=user, target=user)
    if twofactor.required(user, rules) and twofactor.enrolment(user) is None:
        session[ENROL_BY] = twofactor.enrol_by(user, rules).timestamp()


def after_password(user, *, target=None):
    """The password was right: with a second factor, on to its step (the session is not signed in yet); without,
    the session starts."""
    from .views import start_session

    if twofactor.enrolment(user) is not None:
        session.clear()
        session[PENDING] = {"user": user.id, "token": user.session_token, "next": target, "at": time.time()}
        return redirect(url_for("auth.two_factor"))
    start_session(user)
    return welcome(user, target)


def welcome(user, target):
    flash(_("Welcome, %(name)s.", name=user.name), "success")
    return redirect(target or url_for("home.index"))


def lift_enrolment():
    session.pop(ENROL_BY, None)


def _go(endpoint):
    url = url_for(endpoint)
    if is_htmx():
        return "", 204, {"HX-Redirect": url}
    return redirect(url)


def check():
    """Before each request of a signed-in user: send them where they must go first."""
    if request.endpoint in OPEN or request.endpoint is None or not current_user.is_authenticated:
        return None
    if session.get(CHANGE) or current_user.password_change_required:
        if request.endpoint in PASSWORD_PAGES:
            return None
        flash(_("Your password must be changed before you continue."), "warning")
        return _go("account.password")
    deadline = session.get(ENROL_BY)
    if deadline is not None:
        if time.time() >= deadline:
            if request.endpoint in ENROL_PAGES:
                return None
            flash(_("Set up two-step sign-in before you continue."), "warning")
            return _go("account.two_factor")
        g.enrol_deadline = datetime.fromtimestamp(deadline, UTC)
    return None


def init_app(app):
    app.before_request(check)  # after the sign-in gate (registered first) and before the form-token claim
