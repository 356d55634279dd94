"""The second step of signing in (/login/two-factor): the code from the authenticator app, or a recovery code.

Reachable only between a right password and the session (``checkpoints.after_password`` keeps the pending sign-in
in the session for a few minutes); anyone else is sent to the sign-in page."""

import time

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from wtforms import StringField

from ..audit import record
from ..extensions import db
from ..forms import Form, MaxLength, Required
from ..i18n import _l
from ..types import utcnow
from . import bp, checkpoints, throttle, twofactor
from .models import User

# The codes' own throttle key: not the e-mail's, which a right password clears. Without it, someone who has the
# password could try five codes, sign in again with the password, five more, and so on, as fast as they liked.
CODE_KEY = "code:{}"


class SecondFactorForm(Form):
    code = StringField(
        _l("Code"),
        validators=[
            Required(_l("Enter the 6-digit code from your authenticator app, or a recovery code.")),
            MaxLength(20),
        ],
        description=_l(
            "The 6-digit code your authenticator app shows now; if you lost your phone, one of your recovery codes."
        ),
        render_kw={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True, "spellcheck": "false"},
    )


def pending_user():
    """The user whose password was accepted a moment ago in this browser, or None (nothing pending, too old, or
    the account changed since: deactivated, signed out everywhere, second factor reset)."""
    pending = session.get(checkpoints.PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > twofactor.PENDING_MINUTES * 60:
        return None
    user = db.session.get(User, pending.get("user")) if isinstance(pending.get("user"), int) else None
    if user is None or not user.active or user.session_token != pending.get("token"):
        return None
    if twofactor.enrolment(user) is None:
        return None
    return user


def back_to_password(message):
    session.pop(checkpoints.PENDING, None)
    flash(message, "warning")
    return redirect(url_for("auth.login"))


@bp.route("/login/two-factor", methods=["GET", "POST"])
def two_factor():
    user = pending_user()
    if user is None:
        session.pop(checkpoints.PENDING, None)
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        # Every code tried counts against this source address and this account's codes (the sign-in throttle, with
        # its growing delay); only a right code clears the account's count.
        reservation = throttle.reserve(request.remote_addr, CODE_KEY.format(user.id), utcnow())
        if reservation.wait:
            record("auth.second_factor", result="refused", user=user, target=user, reason="throttled")
            db.session.commit()
            from .views import throttled_message

            form.code.errors.append(throttled_message(reservation.wait))
            form.code.data = ""
            return render_template("auth/two_factor.html", form=form), 200
        kind = twofactor.check(user, form.code.data)
        if kind is None:
            record("auth.second_factor", result="refused", user=user, target=user)
            enrolled = twofactor.enrolment(user)
            if enrolled.failures >= twofactor.MAX_FAILURES:
                enrolled.failures = 0
                db.session.commit()
                return back_to_password(_("Too many wrong codes. Sign in again with your password."))
            db.session.commit()
            form.code.errors.append(_("This code is not right, or it was used already. Try the next code."))
            form.code.data = ""
            return render_template("auth/two_factor.html", form=form), 200
        throttle.succeeded(reservation)
        pending = session[checkpoints.PENDING]
        record("auth.second_factor", user=user, target=user, kind=kind)
        if kind == "recovery":
            record("account.recovery_code_used", user=user, target=user, left=twofactor.recovery_codes_left(user))
        db.session.commit()
        from .views import start_session

        start_session(user, how="password_and_second_factor")
        if kind == "recovery":
            flash(
                _(
                    "You signed in with a recovery code; %(n)d are left. If you lost your phone, set up two-step "
                    "sign-in again.",
                    n=twofactor.recovery_codes_left(user),
                ),
                "warning",
            )
        return checkpoints.welcome(user, pending.get("next"))
    return render_template("auth/two_factor.html", form=form)
