from flask import flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..audit import record
from ..extensions import db
from ..i18n import ngettext
from . import bp, checkpoints, services
from .forms import InvitationForm, LoginForm
from .gate import is_safe_next, now_seconds


def start_session(user, how="password"):
    """A new session at sign-in: nothing from before (CSRF token included) carries over. Its row (this device, for
    the list of sessions) is committed here; the cookie holds its random id and the time of the last activity."""
    session.clear()
    row, token = services.open_session(user, address=request.remote_addr, user_agent=request.user_agent.string)
    db.session.commit()
    login_user(user)
    session["sid"], session["seen"] = token, now_seconds()
    g.sign_in_session = row
    record(
        "auth.sign_in", user=user, target=row, how=how
    )  # how: password, password_and_second_factor, invitation, password_change
    if user.locale:
        g.lang_choice = user.locale  # this browser follows the user's language, after sign-out too
    checkpoints.on_session_start(user)  # an expired password, a second factor to enrol: what comes first


def throttled_message(wait):
    return ngettext(
        "Too many failed sign-ins. For your security, try again in %(num)d second.",
        "Too many failed sign-ins. For your security, try again in %(num)d seconds.",
        wait,
    )


def refusal_message(refused):
    """What the person signing in reads: the same for every bad credential, the wait when throttled."""
    if refused.throttled:
        return throttled_message(refused.wait)
    if refused.demo:
        return _(
            "This is a demo account: demo accounts cannot sign in to a production portal. Ask your system "
            "administrator for an account of your own."
        )
    return _("The e-mail address or the password is not correct.")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    target = form.next.data or request.args.get("next")
    target = target if is_safe_next(target) else None
    if current_user.is_authenticated:
        return redirect(target or url_for("home.index"))
    if request.method == "GET":
        form.next.data = target
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data, address=request.remote_addr)
        except services.SignInRefused as refused:
            db.session.commit()
            form.form_errors.append(refusal_message(refused))
            form.password.data = ""
            return render_template("auth/login.html", form=form), 200
        db.session.commit()  # the throttle's reservation given back, the sign-in's time: kept whatever comes next
        return checkpoints.after_password(user, target=target)
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    """End this device's session (the list of sessions, /account/sessions, ends the others)."""
    if current_user.is_authenticated:
        services.end_session(g.get("sign_in_session"), reason="signed_out")
        record("auth.sign_out", user=current_user._get_current_object(), target=g.get("sign_in_session"))
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
def invitation(token):
    found = services.find_invitation(token)
    if found is None:
        return render_template("auth/invitation_invalid.html"), 404
    form = InvitationForm()
    form.password_user = found.user  # the password policy checks it against this account
    if form.validate_on_submit():
        user = services.accept_invitation(found, form.password.data)
        start_session(user, how="invitation")
        flash(_("Your password is set. Welcome, %(name)s.", name=user.name), "success")
        return redirect(url_for("home.index"))
    return render_template("auth/invitation.html", form=form, user=found.user, invitation=found)
