import math

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..extensions import db
from ..types import utcnow
from . import bp, checkpoints, services
from .forms import InvitationForm, LoginForm
from .gate import is_safe_next


def start_session(user, remember=False):
    """A new session at sign-in: nothing from before (CSRF token included) carries over."""
    session.clear()
    login_user(user, remember=remember, duration=current_app.config["REMEMBER_COOKIE_DURATION"])
    if user.locale:
        g.lang_choice = user.locale  # this browser follows the user's language, after sign-out too
    checkpoints.on_session_start(user)  # an expired password, a second factor to enrol: what comes first


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
            user = services.authenticate(form.email.data, form.password.data)
        except services.SignInRefused as refused:
            db.session.commit()  # the failure counts, whatever happens next
            if refused.locked:
                minutes = max(1, math.ceil((refused.until - utcnow()).total_seconds() / 60))
                form.form_errors.append(
                    _(
                        "Too many failed sign-ins for this account. For your security, try again in "
                        "%(minutes)d minutes, or ask your administrator.",
                        minutes=minutes,
                    )
                )
            else:
                form.form_errors.append(_("The e-mail address or the password is not correct."))
            form.password.data = ""
            return render_template("auth/login.html", form=form), 200
        db.session.commit()
        return checkpoints.after_password(user, remember=form.remember.data, target=target)
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        services.sign_out(current_user)
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out, on this and every other device."), "info")
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
        db.session.commit()
        start_session(user)
        flash(_("Your password is set. Welcome, %(name)s.", name=user.name), "success")
        return redirect(url_for("home.index"))
    return render_template("auth/invitation.html", form=form, user=found.user, invitation=found)
